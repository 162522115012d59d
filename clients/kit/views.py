"""The relying party's pages: home, sign-in, the redirect back, and sign-out.

Authlib's Flask client does the protocol: discovery, ``state``, ``nonce``, PKCE (RFC 7636,
S256), the code exchange, ID-token validation (OIDC Core §3.1.3.7) and RP-initiated logout
(OpenID Connect RP-Initiated Logout 1.0). These views add only what Authlib leaves to the
application: the issuer check of RFC 9207, the ``sub`` check of OIDC Core §5.3.4, the ``acr``
check when a level was asked for (``assurance.py``), friendly error pages, and a CSRF token on the
sign-out form.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuthError
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc.errors import ClaimError, JoseError

from .assurance import check_acr_choice, get_id_token_claims_options
from .i18n import LANGUAGES, describe_acr, get_locale
from .settings import PortalSettings

log = logging.getLogger(__name__)

bp = Blueprint(
    "portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/kit-static",
)

#: Claims kept in the (signed, cookie-stored) session: what the pages show, and ``sid`` to match
#: a back-channel logout (``backchannel.py``).
KEPT_CLAIMS = ("sub", "sid", "name", "acr", "auth_time", "personal_id", "represents")


class CallbackError(Exception):
    """The authorization response cannot be turned into a signed-in visitor."""

    def __init__(self, message_key: str, status: int, error: str | None = None):
        super().__init__(error or message_key)
        self.message_key = message_key
        self.status = status
        self.error = error


def get_settings() -> PortalSettings:
    return current_app.config["PORTAL_SETTINGS"]


def get_gateway() -> FlaskOAuth2App:
    return current_app.extensions["authlib.integrations.flask_client"].gateway


def get_csrf_token() -> str:
    """A per-session token for the portal's own POST forms; never reused as OAuth ``state``."""
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


def validate_csrf_token() -> None:
    expected = session.get("csrf_token")
    sent = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        abort(400)


@bp.app_context_processor
def inject_template_helpers():
    return {
        "csrf_token": get_csrf_token,
        "lang": get_locale(),
        "languages": LANGUAGES,
    }


@bp.get("/")
def home():
    claims = session.get("claims")
    signed_out = "signed_out" in get_flashed_messages()
    return render_template(
        "portal/home.html",
        claims=claims,
        assurance=describe_acr(claims.get("acr")) if claims else None,
        signed_out=signed_out,
    )


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_local_path(request.args.get("next")))


@bp.get("/login")
def login():
    """Start a sign-in. ``acr`` (optional, from ``ACR_LEVELS``) asks the gateway for at least
    that level; ``next`` (a path of this portal) is where the person lands afterwards."""
    acr = request.args.get("acr")
    if not check_acr_choice(acr):
        abort(400)
    gateway = get_gateway()
    redirect_uri = get_settings().redirect_uri
    params = {"ui_locales": get_locale()}
    if acr:
        params["acr_values"] = acr
    try:
        authorization = gateway.create_authorization_url(redirect_uri, **params)
    except requests.RequestException as exc:
        log.warning("gateway discovery failed: %s", type(exc).__name__)
        return _error_page("error_unreachable", 502)
    # Authlib keeps nonce, PKCE verifier and redirect_uri with the state; the level asked for and
    # the page to return to go there too, so the callback checks what *this* request asked.
    gateway.save_authorize_data(redirect_uri=redirect_uri, acr_values=acr,
                                next=_local_path(request.args.get("next")), **authorization)
    return redirect(authorization["url"])


@bp.get("/callback")
def callback():
    try:
        claims, id_token, next_path = _complete_sign_in()
    except CallbackError as exc:
        log.info("sign-in not completed: %s", exc)
        return _error_page(exc.message_key, exc.status, exc.error)
    lang = session.get("lang")
    # A new session at sign-in: nothing from before (state leftovers, old CSRF token) survives.
    session.clear()
    if lang:
        session["lang"] = lang
    session["claims"] = claims
    session["id_token"] = id_token
    session["signed_in_at"] = time.time()
    return redirect(_local_path(next_path))


def _complete_sign_in() -> tuple[dict, str, str | None]:
    gateway = get_gateway()
    error = request.args.get("error")
    if error:
        # The provider's answer (RFC 6749 §4.1.2.1), e.g. the person refused consent.
        gateway.framework.clear_state_data(session, request.args.get("state"))
        if error == "unmet_authentication_requirements":
            # OIDC Core §3.1.2.6: the person cannot reach the level this page asked for.
            raise CallbackError("error_unmet_acr", 403, error)
        key = "error_access_denied" if error == "access_denied" else "error_provider"
        raise CallbackError(key, 400, error)
    state_data = gateway.framework.get_state_data(session, request.args.get("state"))
    if not state_data:
        # Unknown or already used state: a replayed, forged or stale response (RFC 6749 §10.12).
        raise CallbackError("error_expired", 400, "mismatching_state")
    required_acr = state_data.get("acr_values")
    try:
        metadata = gateway.load_server_metadata()
        validate_issuer_parameter(metadata)
        token = gateway.authorize_access_token(
            claims_options=get_id_token_claims_options(metadata.get("issuer"), required_acr)
        )
        if "userinfo" not in token:
            raise CallbackError("error_invalid_response", 502, "missing_id_token")
        userinfo = gateway.userinfo(token=token)
    except CallbackError:
        raise
    except OAuthError as exc:
        if exc.error == "mismatching_state":
            raise CallbackError("error_expired", 400, exc.error) from exc
        raise CallbackError("error_provider", 400, exc.error) from exc
    except ClaimError as exc:
        if exc.claim == "acr":
            # Signed and valid, but below the level asked for: not enough for this page.
            raise CallbackError("error_acr_too_low", 403, "acr_too_low") from exc
        raise CallbackError("error_invalid_response", 502, type(exc).__name__) from exc
    except (JoseError, AuthlibBaseError) as exc:
        raise CallbackError("error_invalid_response", 502, type(exc).__name__) from exc
    except requests.RequestException as exc:
        raise CallbackError("error_unreachable", 502, type(exc).__name__) from exc

    id_token_claims = token["userinfo"]
    if userinfo.get("sub") != id_token_claims["sub"]:
        # OIDC Core §5.3.4: a UserInfo response about someone else must not be used.
        raise CallbackError("error_invalid_response", 502, "userinfo_sub_mismatch")
    merged = {**id_token_claims, **userinfo}
    # How and when the person signed in is the ID token's to say (checked above), not UserInfo's.
    merged.update({key: id_token_claims[key] for key in ("sid", "acr", "auth_time")
                   if key in id_token_claims})
    claims = {key: merged[key] for key in KEPT_CLAIMS if key in merged}
    return claims, token["id_token"], state_data.get("next")


def validate_issuer_parameter(metadata: dict) -> None:
    """RFC 9207 §2.4: when the provider sends ``iss`` (or promises to), it must be our issuer.

    Guards against mix-up attacks; Authlib's client does not check it itself.
    """
    iss = request.args.get("iss")
    if iss is None:
        if metadata.get("authorization_response_iss_parameter_supported"):
            raise CallbackError("error_invalid_response", 400, "missing_iss")
        return
    if iss != metadata.get("issuer"):
        raise CallbackError("error_invalid_response", 400, "iss_mismatch")


@bp.post("/logout")
def logout():
    validate_csrf_token()
    id_token = session.get("id_token")
    lang = session.get("lang")
    # Sign out here first: the portal's own session ends even if the gateway cannot be reached.
    session.clear()
    if lang:
        session["lang"] = lang
    if not id_token:
        return redirect(url_for(".home"))
    gateway = get_gateway()
    try:
        metadata = gateway.load_server_metadata()
    except requests.RequestException as exc:
        log.warning("gateway discovery failed at sign-out: %s", type(exc).__name__)
        metadata = {}
    if not metadata.get("end_session_endpoint"):
        flash("signed_out")
        return redirect(url_for(".home"))
    return gateway.logout_redirect(
        post_logout_redirect_uri=get_settings().post_logout_redirect_uri,
        id_token_hint=id_token,
        state=secrets.token_urlsafe(16),
        ui_locales=get_locale(),
    )


@bp.get("/logged-out")
def logged_out():
    """The ``post_logout_redirect_uri``: the gateway sends the browser back here."""
    try:
        get_gateway().validate_logout_response()
    except OAuthError:
        # Not a sign-out this browser started; say nothing about it.
        return redirect(url_for(".home"))
    flash("signed_out")
    return redirect(url_for(".home"))


@bp.app_errorhandler(400)
def bad_request(error):
    return render_template("portal/error.html", message_key="bad_request",
                           title_key="bad_request_title", error=None), 400


@bp.app_errorhandler(404)
def not_found(error):
    """The portal's own page, in the visitor's language (not Flask's English one)."""
    return render_template("portal/error.html", message_key="not_found",
                           title_key="not_found_title", error=None, retry=False), 404


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask every site for /favicon.ico: the kit's icon, rather than a 404."""
    return bp.send_static_file("favicon.ico")


def _error_page(message_key: str, status: int, error: str | None = None):
    return render_template(
        "portal/error.html", message_key=message_key, title_key="error_title", error=error
    ), status


def _local_path(target: str | None) -> str:
    """Only same-site paths: an open redirect here would lend the portal's name to phishing."""
    if not target:
        return url_for(".home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or "\\" in target:
        return url_for(".home")
    return target
