""""Tài khoản của tôi" (my account): the person's own settings, starting with the second factor."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from . import totp
from .browser import current_user_session
from .forms import LogoutForm, TotpEnrolForm

bp = Blueprint("self_service", __name__, url_prefix="/account")


def _signed_in():
    user_session = current_user_session()
    return user_session.citizen if user_session else None


@bp.route("/security", methods=["GET", "POST"])
def security():
    """Enrol an authenticator app (shown as a QR code) and get recovery codes once."""
    citizen = _signed_in()
    if citizen is None:
        return redirect(url_for("accounts.login"), code=303)
    form = TotpEnrolForm()
    enrolled = totp.has_second_factor(citizen.id)
    action = request.form.get("action")
    if request.method == "POST" and action == "start" and LogoutForm().validate_on_submit():
        session["totp_pending_secret"] = totp.create_secret()
    elif action == "confirm" and form.validate_on_submit():
        secret = session.get("totp_pending_secret")
        codes = totp.enrol(citizen.id, secret, form.code.data) if secret else None
        if codes is not None:
            session.pop("totp_pending_secret", None)
            return render_template("accounts/recovery_codes.html", codes=codes)
        form.code.errors.append(_("The code is wrong. Check the time on your phone and retry."))
    secret = session.get("totp_pending_secret")
    qr = None
    if secret:
        qr = totp.create_qr_data_uri(totp.get_provisioning_uri(secret, citizen.personal_id))
    return render_template(
        "accounts/security.html", citizen=citizen, enrolled=enrolled, secret=secret, qr=qr,
        form=form, start_form=LogoutForm(),
    ), (400 if form.errors else 200)
