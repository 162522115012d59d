""""Tài khoản của tôi" (my account): what the person can see and change about their own
electronic identity: profile and level, contact details, the second factor, the agencies they
share data with (consent withdrawal revokes the agency's tokens), their SSO sessions, their
sign-in history and the data-sharing log (``activity.py``).

Every page needs a live SSO session; without one the person signs in and comes back here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..clock import now
from ..errors import render_error_page
from ..extensions import db
from ..identity.services import update_contact_details
from ..identity.units import get_unit
from ..oidc import session_store, storage
from ..oidc.claims import SCOPE_CLAIMS, describe_scopes
from ..security import allow_frames
from . import activity, totp
from .authentication import TooManyAttempts, authenticate
from .browser import current_user_session, end_session, session_citizen
from .consent import get_consents, revoke_consent
from .forms import ContactForm, LogoutForm, PasswordConfirmForm, TotpEnrolForm

bp = Blueprint("self_service", __name__, url_prefix="/account")

_RETURN_KEY = "account_return"
#: Seconds a remembered "come back to my account" path stays valid while the person signs in.
_RETURN_LIFETIME = 900


# -- signed-in only ------------------------------------------------------------------------------


def _to_login():
    """Sign in first, then come back to this page (see ``pop_return_path``); after a form
    posted from an expired session, to the overview (a POST is not repeated)."""
    path = request.path if request.method == "GET" else url_for("self_service.overview")
    session[_RETURN_KEY] = {"path": path, "at": now()}
    return redirect(url_for("accounts.login"), code=303)


def pop_return_path() -> str | None:
    """The account page to go back to after a sign-in without an authorization request."""
    remembered = session.pop(_RETURN_KEY, None)
    if not isinstance(remembered, dict) or now() - remembered.get("at", 0) > _RETURN_LIFETIME:
        return None
    path = remembered.get("path")
    # Only our own pages: a path under /account, never ``//host`` (protocol-relative).
    if isinstance(path, str) and re.fullmatch(r"/account(/[A-Za-z0-9_\-/]*)?", path) \
            and "//" not in path:
        return path
    return None


def _signed_in():
    user_session = current_user_session()
    return session_citizen(user_session)


def _page_number() -> int:
    value = request.args.get("page", "1")
    # ASCII digits only: ``isdigit`` alone accepts "²", which ``int`` refuses.
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) < 6 else 0


# -- display helpers -----------------------------------------------------------------------------


@bp.app_template_filter("account_time")
def _format_time(timestamp: int | None) -> str:
    if not timestamp:
        return ""
    return format_datetime(datetime.fromtimestamp(timestamp, UTC), "short")


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("CocCoc", "Cốc Cốc"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux"))


def summarise_user_agent(user_agent: str | None) -> str:
    """"Chrome · Android" from a User-Agent header; the raw string is too long to read."""
    text = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in text), None)
    system = next((name for marker, name in _SYSTEMS if marker in text), None)
    parts = [p for p in (browser, system) if p]
    return " · ".join(parts) if parts else (text[:40] or _("Unknown device"))


#: Words for the claims a person sees in the data-sharing log (others show their name).
CLAIM_LABELS = {
    "sub": _l("account identifier"), "name": _l("full name"), "family_name": _l("family name"),
    "given_name": _l("given name"), "middle_name": _l("middle name"), "gender": _l("sex"),
    "birthdate": _l("date of birth"), "email": _l("email address"),
    "email_verified": _l("whether the email address is verified"),
    "phone_number": _l("phone number"),
    "phone_number_verified": _l("whether the phone number is verified"),
    "address": _l("address"), "personal_id": _l("personal ID number"),
    "SoDinhDanh": _l("personal ID number"), "HoVaTen": _l("full name"),
    "NgayThangNamSinh": _l("date of birth"), "GioiTinh": _l("sex"),
    "LoaiTaiKhoan": _l("account type"),
}
#: Technical claims not worth a line of their own in the log.
_UNLISTED_CLAIMS = {"zoneinfo", "locale", "updated_at"}


def describe_claims(names) -> list[str]:
    """Distinct words for ``names`` in the person's language, in the order of
    ``CLAIM_LABELS`` (the account identifier first), unknown names last."""
    order = list(CLAIM_LABELS)
    words = []
    for name in sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n)):
        if name in _UNLISTED_CLAIMS:
            continue
        word = str(CLAIM_LABELS.get(name, name))
        if word not in words:
            words.append(word)
    return words


# -- overview ------------------------------------------------------------------------------------


@bp.route("", methods=["GET", "POST"])
def overview():
    """Profile, level, contact details (editable) and links to every section."""
    citizen = _signed_in()
    if citizen is None:
        return _to_login()
    form = ContactForm(obj=None if request.method == "POST" else citizen)
    status, saved = 200, False
    if request.method == "POST":
        if form.validate_on_submit():
            update_contact_details(citizen, email=form.email.data,
                                   phone_number=form.phone_number.data)
            db.session.commit()
            saved = True
        else:
            status = 400
    unit = get_unit("commune", citizen.ward_code) if citizen.ward_code else None
    return render_template(
        "accounts/account_overview.html", citizen=citizen, form=form, saved=saved,
        commune=unit.name if unit else citizen.locality,
        second_factor=totp.has_second_factor(citizen.id),
        agencies=len(get_consents(citizen)),
    ), status


# -- second factor -------------------------------------------------------------------------------


@bp.route("/security", methods=["GET", "POST"])
def security():
    """Enrol an authenticator app (shown as a QR code) and get recovery codes once; remove it
    after typing the password again (a new app only after that)."""
    citizen = _signed_in()
    if citizen is None:
        return _to_login()
    form = TotpEnrolForm()
    remove_form = PasswordConfirmForm()
    enrolled = totp.has_second_factor(citizen.id)
    action = request.form.get("action")
    status = 200
    if request.method == "POST" and action in ("start", "confirm") and enrolled:
        # Replacing the app would drop the old one and every recovery code on the strength of
        # an open session alone: removing it (password typed again) comes first.
        session.pop("totp_pending_secret", None)
        status = 409
    elif request.method == "POST" and action == "start" and LogoutForm().validate_on_submit():
        session["totp_pending_secret"] = totp.create_secret()
    elif action == "confirm" and form.validate_on_submit():
        secret = session.get("totp_pending_secret")
        codes = totp.enrol(citizen.id, secret, form.code.data) if secret else None
        if codes is not None:
            session.pop("totp_pending_secret", None)
            return render_template("accounts/recovery_codes.html", codes=codes)
        form.code.errors.append(_("The code is wrong. Check the time on your phone and retry."))
    elif action == "remove" and enrolled:
        if remove_form.validate_on_submit():
            try:
                confirmed = authenticate(citizen.personal_id, remove_form.password.data)
            except TooManyAttempts:
                confirmed, status = None, 429
                remove_form.password.errors.append(
                    _("Too many failed attempts. Wait a few minutes and try again."))
            if confirmed is not None:
                totp.remove(citizen.id)
                enrolled = False
            elif status == 200:
                status = 401
                remove_form.password.errors.append(_("The password is wrong."))
        else:
            status = 400
    elif request.method == "POST" and action not in ("start", "confirm"):
        status = 400
    secret = session.get("totp_pending_secret")
    qr = None
    if secret:
        qr = totp.create_qr_data_uri(totp.get_provisioning_uri(secret, citizen.personal_id))
    if form.errors and status == 200:
        status = 400
    return render_template(
        "accounts/security.html", citizen=citizen, enrolled=enrolled, secret=secret, qr=qr,
        form=form, start_form=LogoutForm(), remove_form=remove_form,
        codes_left=totp.count_recovery_codes_left(citizen.id) if enrolled else None,
        status_conflict=status == 409,
    ), status


# -- connected agencies --------------------------------------------------------------------------


@bp.get("/agencies")
def agencies():
    """Every agency the person consented to: what it may receive, since when, last received."""
    citizen = _signed_in()
    if citizen is None:
        return _to_login()
    last_used = activity.get_last_disclosure_times(citizen.id)
    rows = []
    for consent in get_consents(citizen):
        client = storage.get_client(consent.client_id)
        rows.append({
            "client_id": consent.client_id,
            "name": client.client_name if client and client.client_name else consent.client_id,
            "scopes": describe_scopes(consent.scope),
            "granted_at": consent.granted_at,
            "last_used": last_used.get(consent.client_id),
        })
    return render_template("accounts/account_agencies.html", agencies=rows,
                           scope_claims=SCOPE_CLAIMS, form=LogoutForm(),
                           revoked=request.args.get("revoked") == "1")


@bp.post("/agencies/<client_id>/revoke")
def revoke(client_id: str):
    """Withdraw consent: the agency's tokens for this person stop working at once, and its next
    authorization request asks for consent again."""
    citizen = _signed_in()
    if citizen is None:
        return _to_login()
    if not LogoutForm().validate_on_submit():
        return render_error_page(400, "csrf", None)
    if len(client_id) > 48 or not revoke_consent(citizen, client_id):
        return render_error_page(404)
    return redirect(url_for("self_service.agencies", revoked=1), code=303)


# -- sessions ------------------------------------------------------------------------------------


@bp.get("/sessions")
def sessions():
    """The person's live SSO sessions, this browser's marked."""
    user_session = current_user_session()
    if user_session is None:
        return _to_login()
    rows = [{
        "sid": s.sid, "created_at": s.created_at, "last_seen_at": s.last_seen_at,
        "ip_address": s.ip_address, "device": summarise_user_agent(s.user_agent),
        "current": s.sid == user_session.sid,
    } for s in session_store.get_live_user_sessions(user_session.citizen_id)]
    return render_template("accounts/account_sessions.html", sessions=rows, form=LogoutForm())


@bp.post("/sessions/<sid>/end")
def end_one_session(sid: str):
    """Sign out of one session (another device's, or this one)."""
    user_session = current_user_session()
    if user_session is None:
        return _to_login()
    if not LogoutForm().validate_on_submit():
        return render_error_page(400, "csrf", None)
    target = next((s for s in session_store.get_live_user_sessions(user_session.citizen_id)
                   if s.sid == sid), None)
    if target is None:
        return render_error_page(404)
    frontchannel_logout_uris = end_session(target)
    if target.sid == user_session.sid:
        return _signed_out(frontchannel_logout_uris)
    return redirect(url_for("self_service.sessions"), code=303)


@bp.post("/sessions/end-all")
def end_all_sessions():
    """Sign out everywhere, this browser included."""
    user_session = current_user_session()
    if user_session is None:
        return _to_login()
    if not LogoutForm().validate_on_submit():
        return render_error_page(400, "csrf", None)
    frontchannel_logout_uris = []
    for target in session_store.get_live_user_sessions(user_session.citizen_id):
        frontchannel_logout_uris += end_session(target)
    return _signed_out(frontchannel_logout_uris)


def _signed_out(frontchannel_logout_uris: list[str]):
    """The signed-out page, loading each front-channel logout URI in a hidden frame (Front-Channel
    Logout 1.0 §2), as the sign-out button does."""
    allow_frames(frontchannel_logout_uris)
    return render_template("accounts/logged_out.html",
                           frontchannel_logout_uris=frontchannel_logout_uris)


# -- activity ------------------------------------------------------------------------------------


@bp.get("/history")
def history():
    """Sign-ins to the account, newest first."""
    return _activity_page(activity.get_sign_in_events, "accounts/account_history.html",
                          describe_device=summarise_user_agent)


@bp.get("/sharing")
def sharing():
    """Which agency received which of the person's data, and when, newest first."""
    return _activity_page(activity.get_disclosures, "accounts/account_sharing.html",
                          describe_claims=describe_claims)


def _activity_page(get_page, template: str, **context):
    """One page (``?page=N``) of the signed-in person's activity log, with agency names."""
    citizen = _signed_in()
    if citizen is None:
        return _to_login()
    number = _page_number()
    if number == 0:
        return render_error_page(400)
    page = get_page(citizen.id, number)
    names = _client_names({entry.client_id for entry in page.items})
    return render_template(template, page=page, client_names=names, **context)


def _client_names(client_ids) -> dict[str, str]:
    names = {}
    for client_id in client_ids:
        if client_id:
            client = storage.get_client(client_id)
            names[client_id] = client.client_name if client and client.client_name else client_id
    return names
