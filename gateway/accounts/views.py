"""Sign-in, consent and sign-out pages: the interaction side of the authorization request."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..clock import now
from ..errors import render_error_page
from ..extensions import db
from ..identity.models import Citizen
from ..observability import metrics
from ..oidc import interaction_store, session_store, storage
from ..oidc.authorization import get_consent_scope
from ..oidc.claims import SCOPE_CLAIMS, describe_scopes
from ..security import allow_client_logo, allow_frames
from . import activity, qr_login, self_service, totp
from .assurance import get_session_acr
from .authentication import TooManyAttempts, authenticate, check_second_factor
from .browser import (
    current_user_session,
    end_current_session,
    mark_second_factor_here,
    pending_interaction,
    session_citizen,
    start_user_session,
)
from .consent import grant_consent
from .forms import ConsentForm, LoginForm, LogoutForm, SecondFactorForm

bp = Blueprint("accounts", __name__)

#: The password sign-in reaches the lowest assurance level.
PASSWORD_ACR = "LoA1"
#: Seconds between a correct password and the second factor.
SECOND_FACTOR_WINDOW = 300


def _too_many_attempts() -> str:
    return _("Too many failed attempts. Wait a few minutes and try again.")


_pending = pending_interaction


class _Answered(Exception):
    """A prompt page cannot be shown: ``response`` says why (expired, or sign in first)."""

    def __init__(self, response):
        self.response = response


def signed_in_interaction():
    """``(pending, user_session)`` for a prompt page that comes after sign-in (acting for a
    business, consent); raises ``_Answered`` with the page to show instead: the request expired,
    or nobody is signed in on this browser (to the sign-in page, then back)."""
    pending = _pending()
    if pending is None:
        raise _Answered(render_error_page(400, "interaction_expired", None))
    user_session = current_user_session()
    if user_session is None:
        raise _Answered(redirect(url_for("accounts.login", interaction=pending.uid), code=303))
    return pending, user_session


@bp.errorhandler(_Answered)
def _answered(error: _Answered):
    return error.response


@bp.get("/")
def home():
    user_session = current_user_session()
    return render_template(
        "accounts/home.html",
        citizen=session_citizen(user_session),
        user_session=user_session,
        form=LogoutForm(),
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    pending = _pending()
    if request.args.get("interaction") and pending is None:
        return render_error_page(400, "interaction_expired", None)
    client = storage.get_client(pending.client_id) if pending else None
    allow_client_logo(client)
    form = LoginForm()
    status = 200
    if request.method == "GET" and pending is not None:
        hint = (MultiDict(pending.params).get("login_hint") or "").strip()
        if hint.isdigit() and len(hint) == 12:
            form.personal_id.data = hint
    if form.validate_on_submit():
        try:
            citizen = authenticate(form.personal_id.data, form.password.data)
        except TooManyAttempts:
            metrics.count_sign_in("password", "throttled")
            citizen, status = None, 429
            form.password.errors.append(_too_many_attempts())
        else:
            metrics.count_sign_in("password", "success" if citizen is not None else "failure")
            if citizen is None:
                status = 401
                form.password.errors.append(_("The personal ID number or password is wrong."))
                activity.record_failed_password(form.personal_id.data, pending)
        if citizen is not None:
            if totp.has_second_factor(citizen.id):
                # Password checked; the session starts only after the second factor.
                session["password_ok"] = {"citizen_id": citizen.id, "at": now(),
                                          "interaction": pending.uid if pending else None}
                return redirect(url_for("accounts.second_factor",
                                        interaction=pending.uid if pending else None), code=303)
            return _finish_sign_in(start_user_session(citizen, acr=PASSWORD_ACR, amr=["pwd"]),
                                   pending)
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form, client=client, pending=pending,
                           qr=qr_login.create_offer(pending)), status


def _finish_sign_in(user_session, pending):
    """Back to the authorization request that asked for the sign-in, or home."""
    activity.record_sign_in(user_session, pending)
    if pending is None:
        return redirect(qr_login.pop_return_path() or self_service.pop_return_path()
                        or url_for("accounts.home"), code=303)
    pending.login_sid = user_session.sid
    interaction_store.save_pending_authorization(pending)
    return redirect(url_for("oidc.resume", uid=pending.uid), code=303)


def _password_verified_citizen(pending):
    """The citizen whose password was checked moments ago for this same interaction."""
    marker = session.get("password_ok")
    if not marker or now() - marker["at"] > SECOND_FACTOR_WINDOW:
        return None
    if marker["interaction"] != (pending.uid if pending else None):
        return None
    return db.session.get(Citizen, marker["citizen_id"])


@bp.route("/login/second-factor", methods=["GET", "POST"])
def second_factor():
    """The second factor: right after the password, or to step up a live session."""
    pending = _pending()
    if request.args.get("interaction") and pending is None:
        return render_error_page(400, "interaction_expired", None)
    citizen = _password_verified_citizen(pending)
    user_session = None if citizen else current_user_session()
    citizen = citizen or (session_citizen(user_session))
    if citizen is None or not totp.has_second_factor(citizen.id):
        return redirect(url_for("accounts.login", interaction=pending.uid if pending else None),
                        code=303)
    form = SecondFactorForm()
    status = 200
    if form.validate_on_submit():
        try:
            accepted = check_second_factor(citizen, form.code.data)
        except TooManyAttempts:
            metrics.count_sign_in(metrics.second_factor_method(form.code.data), "throttled")
            accepted, status = False, 429
            form.code.errors.append(_too_many_attempts())
        else:
            metrics.count_sign_in(metrics.second_factor_method(form.code.data),
                                  "success" if accepted else "failure")
        if accepted:
            session.pop("password_ok", None)
            amr = ["pwd", "otp"]
            if user_session is None:
                user_session = start_user_session(
                    citizen, acr=get_session_acr(citizen, amr), amr=amr
                )
            else:
                session_store.raise_user_session(
                    user_session, acr=get_session_acr(citizen, amr), amr=amr)
            mark_second_factor_here(user_session)
            return _finish_sign_in(user_session, pending)
        if status == 200:
            status = 401
            form.code.errors.append(_("The code is wrong or has already been used."))
            activity.record_failed_second_factor(citizen, pending)
    elif request.method == "POST":
        status = 400
    client = storage.get_client(pending.client_id) if pending else None
    return render_template("accounts/second_factor.html", form=form, client=client,
                           pending=pending, citizen=citizen), status


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    pending, user_session = signed_in_interaction()
    client = storage.get_client(pending.client_id)
    if client is None:
        return render_error_page(400, "invalid_client", None)
    allow_client_logo(client)
    try:
        scope = get_consent_scope(client, MultiDict(pending.params))
    except OAuth2Error:
        return render_error_page(400, "invalid_request", None)
    form = ConsentForm()
    # The decision counts for the person the page was shown to: if someone else signed in on
    # this browser meanwhile (another tab), the page is shown again, to them (409).
    shown_to = dict(session.get("consent_shown_to") or {})
    status = 200
    if form.validate_on_submit():
        if shown_to.get(pending.uid) != user_session.sid:
            status = 409
        else:
            decision = request.form.get("decision")
            if decision == "allow":
                grant_consent(session_citizen(user_session), client.client_id, scope)
                pending.consent_given = True
            elif decision == "deny":
                pending.denied = True
            else:
                return render_error_page(400, "invalid_request", None)
            interaction_store.save_pending_authorization(pending)
            shown_to.pop(pending.uid, None)
            session["consent_shown_to"] = shown_to
            return redirect(url_for("oidc.resume", uid=pending.uid), code=303)
    elif request.method == "POST":
        status = 400
    shown_to[pending.uid] = user_session.sid
    session["consent_shown_to"] = dict(list(shown_to.items())[-5:])  # a few open tabs at most
    return render_template(
        "accounts/consent.html",
        form=form,
        client=client,
        citizen=session_citizen(user_session),
        scopes=describe_scopes(scope),
        scope_claims=SCOPE_CLAIMS,
        pending=pending,
    ), status


@bp.post("/signout")
def signout():
    form = LogoutForm()
    if not form.validate_on_submit():
        return render_error_page(400, "csrf", None)
    frontchannel_logout_uris = end_current_session()
    allow_frames(frontchannel_logout_uris)
    return render_template("accounts/logged_out.html",
                           frontchannel_logout_uris=frontchannel_logout_uris)
