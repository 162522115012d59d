"""The client credentials grant (RFC 6749 §4.4) for agency-to-agency APIs, as an Authlib
subclass.

- Confidential clients only (§4.4: the client MUST authenticate), registered for the grant.
- No person: ``sub`` is the ``client_id`` (RFC 9068 §2.2), no ID token, no refresh token
  (§4.4.3).
- Scopes are the client's registered API scopes: never ``openid``, ``offline_access`` or a scope
  that releases a person's claims (OIDC Core §5.4), since there is no person to consent.
  Without ``scope``, all of them (§3.3: a pre-defined default).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidScopeError, grants, list_to_scope, scope_to_list

from .access_tokens import OFFLINE_ACCESS, TokenIssuingMixin
from .claims import SCOPES_SUPPORTED

#: Scopes that concern a person, so never granted without one.
PERSON_SCOPES = frozenset({*SCOPES_SUPPORTED, OFFLINE_ACCESS})


def get_api_scopes(client) -> list[str]:
    return [s for s in scope_to_list(client.scope) or [] if s not in PERSON_SCOPES]


class ClientCredentialsGrant(TokenIssuingMixin, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_requested_scope(self):
        requested = scope_to_list(self.request.payload.scope) or []
        allowed = get_api_scopes(self.request.client)
        refused = [s for s in requested if s not in allowed]
        if refused:
            # Not echoed: a description must be printable ASCII (RFC 6749 §5.2).
            raise InvalidScopeError("'scope' holds scopes this client may not get without a "
                                    "person, or is not registered for.")

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=False):
        scope = list_to_scope(scope_to_list(scope) or get_api_scopes(self.request.client))
        return super().generate_token(user=None, scope=scope, grant_type=grant_type,
                                      include_refresh_token=False)
