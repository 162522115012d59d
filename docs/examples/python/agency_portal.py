"""A minimal agency portal that signs citizens in at the Vĩnh Long gateway with Authlib's Flask
client: discovery, authorization code flow with PKCE (S256) and nonce, ID token verified against
the gateway's ``jwks_uri`` (signature, ``iss``, ``aud``, ``exp``, ``nonce``), then UserInfo.

    pip install Authlib Flask requests joserfc
    export GATEWAY_ISSUER=https://id.vinhlong.gov.vn
    export CLIENT_ID=... CLIENT_SECRET=...            # from your registration, or instead of
    export CLIENT_PRIVATE_KEY_FILE=private-jwk.json   # the secret, for private_key_jwt
    export REDIRECT_URI=https://dichvu.soyte.vinhlong.gov.vn/callback
    export PORTAL_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
    flask --app agency_portal run
"""

from __future__ import annotations

import json
import os

from authlib.integrations.flask_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from flask import Flask, abort, request, session
from joserfc.jwk import import_key


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("PORTAL_SECRET_KEY"),
        GATEWAY_ISSUER=os.environ.get("GATEWAY_ISSUER"),
        CLIENT_ID=os.environ.get("CLIENT_ID"),
        CLIENT_SECRET=os.environ.get("CLIENT_SECRET"),
        # A private JWK file instead of a secret, for ``private_key_jwt``.
        CLIENT_PRIVATE_KEY_FILE=os.environ.get("CLIENT_PRIVATE_KEY_FILE"),
        REDIRECT_URI=os.environ.get("REDIRECT_URI"),
        # The session cookie carries state, nonce and the PKCE verifier across the redirect.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(config or {})

    issuer = app.config["GATEWAY_ISSUER"]
    client_kwargs = {"scope": "openid profile", "code_challenge_method": "S256"}
    credentials = {"client_secret": app.config["CLIENT_SECRET"]}
    if app.config["CLIENT_PRIVATE_KEY_FILE"]:
        # private_key_jwt (RFC 7523): a signed assertion instead of a shared secret. The
        # assertion's ``aud`` is the token endpoint (the gateway also accepts its issuer).
        with open(app.config["CLIENT_PRIVATE_KEY_FILE"], encoding="utf-8") as handle:
            private_key = import_key(json.load(handle))
        alg = "ES256" if private_key.key_type == "EC" else "RS256"
        credentials = {"client_secret": private_key,
                       "client_auth_methods": [PrivateKeyJWT(issuer + "/token", alg=alg)]}
        client_kwargs["token_endpoint_auth_method"] = "private_key_jwt"

    oauth = OAuth(app)
    oauth.register(
        "gateway",
        client_id=app.config["CLIENT_ID"],
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
        **credentials,
    )

    @app.get("/login")
    def login():
        # Authlib adds state, nonce and the PKCE challenge, and keeps them in the session.
        return oauth.gateway.authorize_redirect(app.config["REDIRECT_URI"])

    @app.get("/callback")
    def callback():
        # RFC 9207: the response comes from our gateway (mix-up defence). Authlib does not
        # check ``iss`` itself, so do it before the code is redeemed.
        if request.args.get("iss") != oauth.gateway.load_server_metadata()["issuer"]:
            abort(400)
        # Checks state, redeems the code with the PKCE verifier, and verifies the ID token
        # (signature by jwks_uri, iss, aud, exp, nonce) before returning it.
        token = oauth.gateway.authorize_access_token()
        claims = token["userinfo"]  # the verified ID token claims
        userinfo = oauth.gateway.userinfo(token=token)
        session["sub"] = claims["sub"]
        session["id_token"] = token["id_token"]  # id_token_hint for logout
        return {"sub": claims["sub"], "iss": claims["iss"], "aud": claims["aud"],
                "name": userinfo.get("name")}

    return app
