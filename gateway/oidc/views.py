"""Protocol endpoints. Thin: each hands the request to Authlib or to ``authorization``."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import validate_csrf
from werkzeug.datastructures import MultiDict
from wtforms.validators import ValidationError

from ..errors import render_error_page
from ..extensions import csrf
from ..i18n import pick_locale
from ..security import allow_frames, cross_origin_reason
from . import interaction_store, keys
from .authorization import handle_authorization_request
from .discovery import create_provider_metadata
from .ports import get_ports
from .server import authorization

bp = Blueprint("oidc", __name__)


def _json(data: dict, max_age: int = 300):
    response = jsonify(data)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery():
    return _json(create_provider_metadata())


@bp.get("/jwks")
def jwks():
    return _json(keys.get_public_jwks())


def _authorization_params() -> MultiDict | None:
    """GET query or POST form body (OIDC Core §3.1.2.1); None when the POST body is not a form."""
    if request.method == "GET":
        return request.args
    if request.mimetype != "application/x-www-form-urlencoded":
        return None
    return request.form


def _check_sizes(params: MultiDict) -> bool:
    limit = current_app.config["MAX_PARAMETER_LENGTH"]
    return all(len(k) <= 64 and len(v) <= limit for k, v in params.items(multi=True))


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    params = _authorization_params()
    # Pages shown for this request (errors included) follow its ``ui_locales``.
    g.ui_locales = (params or request.args).get("ui_locales")
    if params is None:
        return render_error_page(400, "invalid_request", "Use a form-encoded body.")
    if not _check_sizes(params):
        return render_error_page(400, "invalid_request", "A parameter is too long.")
    if request.method == "POST":
        # A cross-site POST carries no SameSite=Lax cookie: the SSO session would look absent
        # and the browser's session cookie would be replaced. Continue as the same request by
        # GET (303, RFC 9700 §4.12), which is a top-level navigation that carries them.
        query = urlencode(list(params.items(multi=True)))
        return redirect(url_for("oidc.authorize") + (f"?{query}" if query else ""), code=303)
    return handle_authorization_request(authorization, MultiDict(params))


@bp.get("/authorize/resume/<uid>")
def resume(uid: str):
    pending = interaction_store.get_pending_authorization(
        uid, get_ports().sessions.get_browser_id())
    if pending is None:
        return render_error_page(400, "interaction_expired", None)
    return handle_authorization_request(authorization, MultiDict(pending.params), pending)


@bp.post("/token")
@csrf.exempt
def token():
    return authorization.create_token_response()


@bp.post("/revoke")
@csrf.exempt
def revoke():
    """RFC 7009 §2."""
    return authorization.create_endpoint_response("revocation")


@bp.post("/introspect")
@csrf.exempt
def introspect():
    """RFC 7662 §2 (resource servers only)."""
    return authorization.create_endpoint_response("introspection")


@bp.post("/register")
@csrf.exempt
def register():
    """RFC 7591 §3 (initial access token required)."""
    return authorization.create_endpoint_response("client_registration")


@bp.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
@csrf.exempt
def client_configuration(client_id: str):
    """RFC 7592 §2 (registration access token required)."""
    return authorization.create_endpoint_response("client_configuration")


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    return authorization.create_endpoint_response("userinfo")


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def end_session():
    """RP-initiated logout: redirect only to a registered ``post_logout_redirect_uri`` proven by
    an ``id_token_hint``; otherwise sign out after confirmation and show a page."""
    from authlib.oauth2 import OAuth2Error

    if request.method == "POST" and request.form.get("confirm") != "yes":
        # As at /authorize: an RP's cross-site POST carries no SameSite=Lax cookie, so the
        # session to end would look absent. Continue as the same request by GET (303).
        query = urlencode(list(request.form.items(multi=True)))
        return redirect(url_for("oidc.end_session") + (f"?{query}" if query else ""), code=303)
    try:
        end_session_request = authorization.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return render_error_page(400, error.error, error.get_error_description())
    locale = pick_locale(request.values.get("ui_locales"))
    if locale:
        g.ui_locales = locale
    if end_session_request.needs_confirmation:
        if request.form.get("confirm") != "yes":
            if get_ports().sessions.get_current() is None:
                # Nobody is signed in here: nothing to confirm. Say so, with the way on.
                return render_template("accounts/not_signed_in.html")
            return render_template(
                "accounts/logout_confirm.html", client=end_session_request.client
            )
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            return render_error_page(400, "csrf", None)
        if cross_origin_reason() is not None:  # as on every form (``security.py``)
            return render_error_page(400, "csrf", None)
    response = authorization.create_endpoint_response("end_session", end_session_request)
    frontchannel_logout_uris = getattr(end_session_request, "frontchannel_logout_uris", [])
    if response is not None and not frontchannel_logout_uris:
        return response
    # Front-Channel Logout §3: the clients' logout URIs load in iframes on this page, which
    # then continues to the validated post_logout_redirect_uri (if any).
    allow_frames(frontchannel_logout_uris)
    return render_template(
        "accounts/logged_out.html", frontchannel_logout_uris=frontchannel_logout_uris,
        continue_to=response.location if response is not None else None,
    )
