"""Pages and endpoints of QR cross-device sign-in; the rules live in ``qr_login``.

Desktop: ``/login/qr/status`` (polled JSON) and ``/login/qr/complete``, both bound to the browser
that shows the code. Phone: ``/m/qr/<code>``, the page the QR code opens.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..errors import render_error_page
from ..observability import metrics
from ..stores.limits import limiter
from . import qr_login
from .browser import current_user_session, session_citizen
from .forms import LogoutForm
from .views import _finish_sign_in, _pending

bp = Blueprint("qr_login", __name__)


def _refusal(error: qr_login.QrLoginError, pending=None):
    return render_template("accounts/qr_result.html", message=error.message, failed=True,
                           pending=pending), error.status


@bp.get("/login/qr/status")
def status():
    pending = _pending()
    response = jsonify(qr_login.get_desktop_status(pending))
    response.status_code = 200 if pending is not None else 403
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/login/qr/complete")
def complete():
    pending = _pending()
    if pending is None or not LogoutForm().validate_on_submit():
        return render_error_page(400, "interaction_expired", None)
    try:
        user_session = qr_login.complete_on_desktop(pending)
    except qr_login.QrLoginError as error:
        metrics.count_sign_in("qr", "failure")
        return _refusal(error, pending)
    metrics.count_sign_in("qr", "success")
    return _finish_sign_in(user_session, pending)


def _phone_session(code):
    """The phone's SSO session; without one, sign in first and come back to this code."""
    user_session = current_user_session()
    if user_session is None:
        qr_login.remember_phone_page(code)
    return user_session


@bp.get("/m/qr/<path:code>")
def phone(code):
    user_session = _phone_session(code)
    if user_session is None:
        return redirect(url_for("accounts.login"), code=303)
    try:
        record = qr_login.open_on_phone(code, user_session)
    except qr_login.QrLoginError as error:
        return _refusal(error)
    return render_template("accounts/qr_phone.html", form=LogoutForm(), code=code,
                           citizen=session_citizen(user_session),
                           context=qr_login.describe_request(record))


def _too_many_decisions(request_limit):
    """Flask-Limiter's breach response for :data:`decisions_limit`: the phone's refusal page."""
    return make_response(_refusal(qr_login.QrRateLimited()))


#: Decisions per person: tested before the view runs (over the limit: 429 and nothing decided),
#: counted after it only when a decision was made (200). A phone without a session is only sent
#: to sign in, so it is not limited here.
decisions_limit = limiter.shared_limit(
    qr_login.decisions_per_window, scope="qr-decisions", key_func=qr_login.decider,
    methods=["POST"], exempt_when=lambda: qr_login.decider() is None,
    deduct_when=lambda response: response.status_code == 200, on_breach=_too_many_decisions,
)


@bp.post("/m/qr/<path:code>")
@decisions_limit
def phone_decide(code):
    user_session = _phone_session(code)
    if user_session is None:
        return redirect(url_for("accounts.login"), code=303)
    decision = request.form.get("decision")
    if not LogoutForm().validate_on_submit() or decision not in ("approve", "deny"):
        return render_error_page(400, "csrf", None)
    try:
        qr_login.decide_on_phone(code, user_session, approve=decision == "approve")
    except qr_login.QrLoginError as error:
        return _refusal(error)
    message = (_("Done. The computer is now signing you in; you can put your phone away.")
               if decision == "approve" else _("Refused. Nobody was signed in with this code."))
    return render_template("accounts/qr_result.html", message=message, failed=False)
