"""The authorization server: Authlib's Flask server wired to our storage, grants and endpoints."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer as _FlaskAuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector as _FlaskResourceProtector
from authlib.oauth2.rfc6749 import MissingAuthorizationError, OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenValidator as _BearerTokenValidator
from authlib.oauth2.rfc9207 import IssuerParameter as _IssuerParameter
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint as _EndSessionEndpoint
from flask import current_app, g
from flask import request as flask_request

from . import keys, storage
from .claims import create_user_info
from .grants import AuthorizationCodeGrant, OpenIDCode, S256CodeChallenge
from .request_objects import RequestObjectExtension


def _issuer() -> str:
    return current_app.config["ISSUER"]


class AuthorizationServer(_FlaskAuthorizationServer):
    def query_client(self, client_id):
        return storage.get_client(client_id)

    def save_token(self, token, request):
        code = request.authorization_code
        storage.save_token(
            token,
            client_id=request.client.client_id,
            citizen_id=request.user.id if request.user else None,
            scope=token.get("scope"),
            sid=code.sid if code is not None else None,
            authorization_code_id=code.id if code is not None else None,
        )

    def create_oauth2_request(self, request):
        # Resumed requests (after sign-in or consent) arrive already built from stored params.
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)

    def handle_error_response(self, request, error):
        response = super().handle_error_response(request, error)
        # RFC 9207 §2: ``iss`` in error responses to the redirect URI too.
        if response.status_code == 302 and response.location:
            response.location = add_params_to_uri(response.location, {"iss": _issuer()})
        return response


class IssuerParameter(_IssuerParameter):
    """RFC 9207: ``iss`` in every authorization response."""

    def get_issuer(self) -> str:
        return _issuer()

    def add_issuer_parameter(self, authorization_server, response):
        # Error redirects already carry it (``handle_error_response``): never add it twice.
        if response.location and "iss" in dict(parse_qsl(urlsplit(response.location).query)):
            return
        super().add_issuer_parameter(authorization_server, response)


class BearerTokenValidator(_BearerTokenValidator):
    def authenticate_token(self, token_string):
        return storage.get_access_token(token_string)


class ResourceProtector(_FlaskResourceProtector):
    def parse_request_authorization(self, request):
        """RFC 6750 §2.1, and §2.2 (form-encoded body parameter) for UserInfo by POST."""
        try:
            return super().parse_request_authorization(request)
        except MissingAuthorizationError:
            if flask_request.method == "POST" and flask_request.mimetype == (
                "application/x-www-form-urlencoded"
            ):
                token_string = flask_request.form.get("access_token")
                if token_string:
                    return self.get_token_validator("bearer"), token_string
            raise


class UserInfoEndpoint(_UserInfoEndpoint):
    """OIDC Core §5.3, by GET and POST."""

    def generate_user_info(self, user, scope):
        # Authlib passes no token here; the resource protector has just put it on ``g``.
        token = g.authlib_server_oauth2_token
        claims = token.get_claims_request() or {}
        return create_user_info(user, scope, token.get_client(), claims.get("userinfo"))

    def get_issuer(self) -> str:
        return _issuer()

    def resolve_private_key(self):
        return keys.get_signing_key("RS256")


class EndSessionEndpoint(_EndSessionEndpoint):
    """OpenID Connect RP-Initiated Logout 1.0."""

    def get_server_jwks(self):
        return keys.get_public_jwks()

    def end_session(self, end_session_request):
        from ..accounts.browser import end_current_session

        end_current_session()


def _create_server() -> AuthorizationServer:
    server = AuthorizationServer()
    server.register_grant(AuthorizationCodeGrant, [OpenIDCode(), S256CodeChallenge(required=True)])
    server.register_extension(IssuerParameter())
    server.register_extension(RequestObjectExtension())
    protector = ResourceProtector()
    protector.register_token_validator(BearerTokenValidator())
    server.register_endpoint(UserInfoEndpoint(resource_protector=protector))
    server.register_endpoint(EndSessionEndpoint)
    return server


#: The provider's authorization server, bound to an app by ``init_app`` (Flask extension style).
authorization = _create_server()


def init_app(app) -> None:
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN",
        {"authorization_code": app.config["ACCESS_TOKEN_LIFETIME"]},
    )
    authorization.init_app(app)
