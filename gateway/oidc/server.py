"""The authorization server: Authlib's Flask server wired to our storage, grants and endpoints."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import AuthorizationServer as _FlaskAuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector as _FlaskResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    MissingAuthorizationError,
    OAuth2Request,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator as _BearerTokenValidator
from authlib.oauth2.rfc9207 import IssuerParameter as _IssuerParameter
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint as _EndSessionEndpoint
from flask import current_app, g
from flask import request as flask_request
from joserfc import jwt

from ..clock import now
from ..observability import metrics
from . import keys, logout, registry, storage, token_store
from .claims import create_user_info
from .client_auth import PrivateKeyJWT
from .client_credentials import ClientCredentialsGrant
from .client_metadata import CLAIMS_CLASSES
from .grants import AuthorizationCodeGrant, OpenIDCode, S256CodeChallenge
from .introspection import IntrospectionEndpoint
from .ports import get_ports
from .refresh import OpenIDRefresh, RefreshTokenGrant
from .registration import ClientConfigurationEndpoint, ClientRegistrationEndpoint
from .request_objects import RequestObjectExtension
from .resources import InvalidTargetError
from .revocation import RevocationEndpoint


def _issuer() -> str:
    return current_app.config["ISSUER"]


#: Names that may be echoed in an error (descriptions must be printable ASCII, RFC 6749 §5.2).
_TOKEN_PARAMETERS = frozenset({
    "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret",
    "client_assertion", "client_assertion_type", "refresh_token", "scope",
})


def validate_token_request_syntax() -> None:
    """RFC 6749 §3.2, §4.1.3, §5.2: a form-encoded POST body holding ``grant_type``, each
    parameter once, nothing in the query (credentials and codes in URLs end up in logs)."""
    if flask_request.mimetype != "application/x-www-form-urlencoded":
        raise InvalidRequestError("Send the parameters as a form-encoded body.")
    if flask_request.args:
        raise InvalidRequestError("Send the parameters in the body, not in the query.")
    for name, values in flask_request.form.lists():
        if name == "resource" and len(values) > 1:
            # RFC 8707 §2: the gateway issues a token for one resource at a time.
            raise InvalidTargetError("Only one 'resource' per request: a token has one audience.")
        if len(values) > 1:
            shown = name if name in _TOKEN_PARAMETERS else "a parameter"
            raise InvalidRequestError(f"Multiple '{shown}' in request.")
    if not flask_request.form.get("grant_type"):
        raise InvalidRequestError("Missing 'grant_type' in request.")
    basic = (flask_request.headers.get("Authorization") or "").lower().startswith("basic ")
    if basic and "client_secret" in flask_request.form:
        # §2.3: a client MUST NOT use more than one authentication method in a request.
        raise InvalidRequestError("Use one client authentication method, not two.")


class AuthorizationServer(_FlaskAuthorizationServer):
    def query_client(self, client_id):
        return storage.get_client(client_id)

    def create_token_response(self, request=None):
        request = self.create_oauth2_request(request)
        # Syntax first: a missing ``grant_type`` is ``invalid_request``, not an unsupported one.
        try:
            validate_token_request_syntax()
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        return super().create_token_response(request)

    def authenticate_client(self, request, methods, endpoint="token"):
        try:
            return super().authenticate_client(request, methods, endpoint)
        except ValueError as exc:
            # Malformed HTTP Basic credentials (not UTF-8, or "Basic " alone): Authlib's parser
            # lets these escape as ValueError.
            raise InvalidClientError(
                "Malformed HTTP Basic credentials.", status_code=401
            ) from exc

    def save_token(self, token, request):
        code = request.authorization_code
        token_store.save_token(
            token,
            client_id=request.client.client_id,
            citizen_id=request.user.id if request.user else None,
            scope=token.get("scope"),
            sid=code.sid if code is not None else None,
            authorization_code_id=code.id if code is not None else None,
            # The refresh grant: the new token joins the family of the one it replaces.
            parent=request.refresh_token,
            access_token_format=request.client.access_token_format,
            resource=getattr(request, "resource_indicator", None),
        )
        metrics.count_token_issued(request.payload.grant_type)
        # Single logout: this client now takes part in the SSO session (logout.py).
        logout.record_participant(code.sid if code is not None else None,
                                  request.client.client_id,
                                  request.user.id if request.user else None)
        # The token request's unit of work: the grant a code became, the rotated refresh
        # token, the new tokens and the participation, in one commit.
        storage.commit()

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
        return token_store.get_access_token(token_string)


class BearerChallenge(OAuth2Error):
    """RFC 6750 §3.1: a request without a usable bearer token gets 401 and a ``Bearer``
    challenge with no error code (the client simply did not authenticate)."""

    error = "invalid_request"
    status_code = 401

    def get_headers(self):
        headers = super().get_headers()
        headers.append(("WWW-Authenticate", f'Bearer realm="{_issuer()}"'))
        return headers


class ResourceProtector(_FlaskResourceProtector):
    def parse_request_authorization(self, request):
        """RFC 6750 §2.1, and §2.2 (form-encoded body parameter) for UserInfo by POST."""
        try:
            return super().parse_request_authorization(request)
        except MissingAuthorizationError as exc:
            if flask_request.method == "POST" and flask_request.mimetype == (
                "application/x-www-form-urlencoded"
            ):
                token_string = flask_request.form.get("access_token")
                if token_string:
                    return self.get_token_validator("bearer"), token_string
            raise BearerChallenge("Send the access token as a Bearer token.") from exc
        except UnsupportedTokenTypeError as exc:
            raise BearerChallenge("Send the access token as a Bearer token.") from exc


class UserInfoEndpoint(_UserInfoEndpoint):
    """OIDC Core §5.3, by GET and POST; a signed JWT (§5.3.2) for clients registered with
    ``userinfo_signed_response_alg``."""

    def __call__(self, request):
        # As Authlib's, but the signed response names its key (``kid``): the JWKS also
        # publishes retired keys, so a verifier needs it to pick the right one.
        token = self.resource_protector.acquire_token("openid")
        client = token.get_client()
        user_info = self.generate_user_info(
            get_ports().accounts.find_account(token.citizen_id, token.get_representation_id()),
            token.scope,
        )
        alg = client.client_metadata.get("userinfo_signed_response_alg")
        if not alg:
            return 200, user_info, default_json_headers
        key = keys.get_signing_key(alg)
        claims = {**user_info, "iss": self.get_issuer(), "aud": client.client_id}
        data = jwt.encode({"alg": alg, "kid": key.kid}, claims, key, [alg])
        return 200, data, [("Content-Type", "application/jwt")]

    def generate_user_info(self, user, scope):
        # Authlib passes no token here; the resource protector has just put it on ``g``.
        token = g.authlib_server_oauth2_token
        claims = token.get_claims_request() or {}
        client = token.get_client()
        user_info = create_user_info(user, scope, client, claims.get("userinfo"))
        get_ports().audit.record_disclosure(user.id, client.client_id, user_info.keys(),
                                            "userinfo")
        return user_info

    def get_issuer(self) -> str:
        return _issuer()


class EndSessionEndpoint(_EndSessionEndpoint):
    """OpenID Connect RP-Initiated Logout 1.0."""

    def get_server_jwks(self):
        return keys.get_public_jwks()

    def _validate_id_token_hint(self, id_token_hint: str) -> dict:
        """§2: the OP MUST validate that it issued the hint. Authlib's check skips ``iss`` and
        reads the wall clock; ours checks ``iss`` and uses the gateway clock, which tests can
        freeze (docs/contributing.md)."""
        try:
            return keys.decode_id_token_hint(id_token_hint, _issuer(), now)
        except ValueError as exc:
            raise InvalidRequestError("'id_token_hint' is not an ID token issued here.") from exc

    def end_session(self, end_session_request):
        # Front-Channel Logout §3: the view renders these in iframes before redirecting.
        end_session_request.frontchannel_logout_uris = get_ports().sessions.end_current()


def _create_server() -> AuthorizationServer:
    server = AuthorizationServer()
    server.register_grant(AuthorizationCodeGrant, [OpenIDCode(), S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant, [OpenIDRefresh()])
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_extension(IssuerParameter())
    server.register_extension(RequestObjectExtension())
    protector = ResourceProtector()
    protector.register_token_validator(BearerTokenValidator())
    server.register_endpoint(UserInfoEndpoint(resource_protector=protector))
    server.register_endpoint(EndSessionEndpoint)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    server.register_endpoint(ClientRegistrationEndpoint(claims_classes=CLAIMS_CLASSES))
    server.register_endpoint(ClientConfigurationEndpoint(claims_classes=CLAIMS_CLASSES))
    return server


#: The provider's authorization server, bound to an app by ``init_app`` (Flask extension style).
authorization = _create_server()


def init_app(app) -> None:
    app.config.setdefault(
        "OAUTH2_TOKEN_EXPIRES_IN",
        {"authorization_code": app.config["ACCESS_TOKEN_LIFETIME"]},
    )
    authorization.init_app(app)
    registry.init_app(app)
