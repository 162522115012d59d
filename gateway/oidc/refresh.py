"""The refresh token grant (RFC 6749 §6; OIDC Core §12), as an Authlib subclass.

- Rotation: every refresh token works once; the new token response carries a new one
  (RFC 9700 §4.14.2). Reusing a rotated refresh token is taken as theft: the whole family
  (everything descended from the same authorization code) is revoked and the request gets
  ``invalid_grant``.
- Bound to its client: another client's refresh token is ``invalid_grant`` (RFC 6749 §10.4;
  conformance module oidcc-refresh-token).
- Idle and absolute lifetimes (``REFRESH_TOKEN_IDLE_SECONDS``, ``REFRESH_TOKEN_ABSOLUTE_SECONDS``).
- ``scope`` may narrow the new access token, never widen it; the refresh token keeps the scope
  originally granted.
- A new ID token with the same ``sub`` and ``aud``, ``auth_time`` of the original sign-in, and
  no ``nonce`` (OIDC Core §12.2).
- The resource (RFC 8707) of the token being refreshed is kept: ``resource`` may repeat it,
  never change it.
- The same client authentication methods as the code grant; public clients too, since their
  refresh tokens are always rotated (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidScopeError, grants, scope_to_list

from . import resources, storage, token_store
from .access_tokens import TokenIssuingMixin
from .grants import AuthorizationCodeGrant, OpenIDCode


class RefreshTokenGrant(TokenIssuingMixin, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        record = token_store.get_refresh_token(refresh_token)
        if record is None:
            return None
        if record.refresh_token_used_at is not None:
            # RFC 9700 §4.14.2: a rotated token came back, so two parties hold the family.
            token_store.revoke_token_family(record.family_id)
            storage.commit()  # before the error answer, whose request is rolled back
            return None
        if not token_store.check_refresh_token_usable(record):
            return None
        return record

    def _validate_token_scope(self, token):
        """RFC 6749 §6: no scope beyond what the refresh token carries."""
        requested = self.request.payload.scope
        if not requested:
            return
        granted = set(scope_to_list(token.grant_scope or token.scope) or [])
        if not granted.issuperset(scope_to_list(requested)):
            raise InvalidScopeError("'scope' may only narrow the scope originally granted.")

    def validate_token_request(self):
        super().validate_token_request()
        # The sign-in behind the family: ``auth_time``, ``acr``, ``sid`` and ``claims`` for the
        # new ID token, and the tombstone link that a replayed code revokes.
        self.request.authorization_code = token_store.get_token_authorization_code(
            self.request.refresh_token
        )

    def get_token_resource(self, requested):
        return resources.check_resource_granted(requested, self.request.refresh_token.resource)

    def get_grant_scope(self, scope):
        record = self.request.refresh_token
        return record.grant_scope or record.scope

    def issue_token(self, user, refresh_token):
        scope = self.request.payload.scope or refresh_token.grant_scope or refresh_token.scope
        return self.generate_token(user=user, scope=scope,
                                   include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN)

    def create_token_response(self):
        # Rotate before issuing, atomically: of two concurrent refreshes only one wins, and the
        # loser is a reuse.
        record = self.request.refresh_token
        if not token_store.rotate_refresh_token(record):
            token_store.revoke_token_family(record.family_id)
            storage.commit()
            raise InvalidGrantError("Invalid 'refresh_token' in request.")
        return super().create_token_response()

    def authenticate_user(self, refresh_token):
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token):
        """Already rotated in ``create_token_response``; its access token lives out its time."""


class OpenIDRefresh(OpenIDCode):
    """OIDC Core §12.2: an ID token in the refresh response (when ``openid`` is in scope)."""

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        # The nonce belonged to the original authentication request.
        claims.pop("nonce", None)
        return claims

    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.process_token)
