"""Application factory shared by the sample portals."""

from __future__ import annotations

from collections.abc import Mapping

from authlib.integrations.flask_client import OAuth
from flask import Flask

from . import backchannel
from .i18n import merge_strings, translate
from .settings import PortalSettings
from .views import bp

#: Seconds to wait for the gateway (discovery, token, JWKS, UserInfo) before giving up.
GATEWAY_TIMEOUT = 10


def create_portal_app(
    settings: PortalSettings,
    *,
    import_name: str = __name__,
    strings: Mapping[str, Mapping[str, str]] | None = None,
) -> Flask:
    """Build a portal: one Flask app, one registered OpenID provider named ``gateway``.

    ``import_name`` is the portal's package, so its own ``templates/`` (which override the kit's,
    e.g. ``portal/layout.html``) and ``static/`` are found next to it.
    """
    app = Flask(import_name)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME=settings.session_cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        # Lax, not Strict: the gateway's redirect back to /callback is a cross-site top-level
        # navigation and must carry the cookie that holds state, nonce and the PKCE verifier.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PORTAL_SETTINGS=settings,
        PORTAL_STRINGS=merge_strings(strings),
    )

    oauth = OAuth(app)
    oauth.register(
        "gateway",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.server_metadata_url,
        client_kwargs={
            "scope": settings.scope,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": settings.token_endpoint_auth_method,
            "default_timeout": GATEWAY_TIMEOUT,
        },
    )

    app.jinja_env.globals["_"] = translate
    app.register_blueprint(bp)
    backchannel.init_app(app)
    return app
