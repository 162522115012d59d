"""Issuing access and refresh tokens, as Authlib token generators.

- Opaque bearer tokens (RFC 6750) by default; JWT access tokens (RFC 9068) for clients whose
  metadata says ``access_token_format: "jwt"``: ``typ`` ``at+jwt``, signed with the gateway's
  RS256 key (``kid`` in the header, verifiable through ``jwks_uri``).
- A refresh token only for offline access (OIDC Core §11): the granted scope holds
  ``offline_access`` (kept only when the person consented with ``prompt=consent``, see
  ``grants``) and the client is registered for the ``refresh_token`` grant.
- The audience: the resource of the request (RFC 8707, ``resources``), else the client.
"""

from __future__ import annotations

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import current_app
from joserfc import jwt

from ..clock import now
from . import keys, resources
from .claims import get_subject

#: The algorithm of JWT access tokens: RFC 9068 §2.1 requires RS256 support of resource servers.
JWT_ACCESS_TOKEN_ALG = "RS256"
OFFLINE_ACCESS = "offline_access"


def _opaque_access_token(client, grant_type, user, scope) -> str:
    return generate_token(42)


def _refresh_token(client, grant_type, user, scope) -> str:
    return generate_token(48)


def _expires_in(client, grant_type) -> int:
    return current_app.config["ACCESS_TOKEN_LIFETIME"]


class JWTAccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 access tokens. Authlib's ``access_token_generator`` reads the wall clock and
    uses the internal user id as ``sub``; ours uses the gateway clock, the ``sub`` the client
    knows (pairwise, OIDC Core §8), and names the signing key (``kid``)."""

    def __init__(self, authentication=None, resource=None):
        super().__init__(issuer=current_app.config["ISSUER"], alg=JWT_ACCESS_TOKEN_ALG,
                         refresh_token_generator=_refresh_token, expires_generator=_expires_in)
        #: The sign-in behind the token (an ``AuthorizationCode``), None without a person.
        self.authentication = authentication
        #: The resource indicator of the request (RFC 8707), None for the default audience.
        self.resource = resource

    def get_audiences(self, client, user, scope) -> str:
        return self.resource or client.get_client_id()

    def get_jwks(self):
        return keys.get_signing_key(self.alg)

    def get_auth_time(self, user) -> int | None:
        return self.authentication.auth_time if user and self.authentication else None

    def get_acr(self, user) -> str | None:
        return self.authentication.acr if user and self.authentication else None

    def access_token_generator(self, client, grant_type, user, scope) -> str:
        issued = now()
        claims = {
            "iss": self.issuer,
            "exp": issued + self._get_expires_in(client, grant_type),
            # RFC 9068 §3: the resource indicator, or without one the default audience: the
            # client.
            "aud": self.get_audiences(client, user, scope),
            # §2.2: the person's subject, or the client itself when no person is involved.
            "sub": get_subject(user, client) if user else client.get_client_id(),
            "client_id": client.get_client_id(),
            "iat": issued,
            "jti": self.get_jti(client, grant_type, user, scope),
            "scope": scope or "",
        }
        if auth_time := self.get_auth_time(user):
            claims["auth_time"] = auth_time
        if acr := self.get_acr(user):
            claims["acr"] = acr
        key = self.get_jwks()
        return jwt.encode({"alg": self.alg, "typ": "at+jwt", "kid": key.kid}, claims, key,
                          [self.alg])


def create_token(*, client, grant_type: str, user, scope: str | None, offline: bool,
                 authentication=None, resource: str | None = None) -> dict:
    """A token response for ``client``: ``scope`` narrowed to what it is registered for, a
    refresh token when ``offline``, audience ``resource`` (RFC 8707) when given."""
    if client.access_token_format == "jwt":
        generator = JWTAccessTokenGenerator(authentication, resource)
    else:
        generator = BearerTokenGenerator(_opaque_access_token, _refresh_token, _expires_in)
    return generator.generate(grant_type, client, user=user, scope=scope,
                              include_refresh_token=offline)


class TokenIssuingMixin:
    """For grants: issue tokens through ``create_token``, with the sign-in that authorized them
    (``request.authorization_code``), refresh tokens for offline access only, and the resource
    indicator of the request (``request.resource_indicator``, RFC 8707)."""

    def validate_token_request(self):
        super().validate_token_request()
        # Before the code is consumed or the refresh token rotated: an error leaves them usable.
        self.request.resource_indicator = self.get_token_resource(
            resources.get_requested_resource(self.request.payload.datalist, self.request.client)
        )

    def get_token_resource(self, requested: str | None) -> str | None:
        """The audience of the new access token; grants bound to a resource override this."""
        return requested

    def get_grant_scope(self, scope: str | None) -> str:
        """The scope the grant as a whole carries (that of a refresh token, RFC 6749 §6)."""
        return scope or ""

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        client = self.request.client
        granted = scope_to_list(client.get_allowed_scope(self.get_grant_scope(scope))) or []
        offline = (
            include_refresh_token
            and client.check_grant_type("refresh_token")
            and OFFLINE_ACCESS in granted
        )
        return create_token(client=client, grant_type=grant_type or self.GRANT_TYPE, user=user,
                            scope=scope, offline=offline,
                            authentication=self.request.authorization_code,
                            resource=getattr(self.request, "resource_indicator", None))
