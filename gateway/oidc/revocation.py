"""The revocation endpoint (RFC 7009), as Authlib's ``RevocationEndpoint``.

- The client authenticates as at the token endpoint (public clients with their ``client_id``).
- Revoking a refresh token revokes its family: every refresh and access token descended from the
  same grant (§2.1 "SHOULD also invalidate all access tokens based on the same authorization
  grant"). Revoking an access token revokes it (and the refresh token stored beside it).
- An unknown token gets 200 (§2.2). A token issued to another client also gets 200 and is left
  alone: §2.1 says such a request "is refused", but an error would tell the caller that the
  string is a live token of someone else (a token oracle), so the gateway answers as for an
  unknown one; nothing is revoked either way.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import UnsupportedTokenTypeError as _UnsupportedTokenTypeError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint

from . import storage, token_store
from .grants import AuthorizationCodeGrant

#: Client authentication methods at the revocation (and introspection) endpoint.
AUTH_METHODS = list(AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS)


class UnsupportedTokenTypeError(_UnsupportedTokenTypeError):
    """RFC 7009 §2.2.1: an error response as in RFC 6749 §5.2, so 400 (Authlib's is 401)."""

    status_code = 400


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_params(self, request, client):
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token' in request.")
        hint = request.form.get("token_type_hint")
        if hint and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise UnsupportedTokenTypeError()

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        found = token_store.find_token(request.form["token"], request.form.get("token_type_hint"))
        if found is None or not found[0].check_client(client):
            return None
        return found

    def revoke_token(self, token, request):
        record, kind = token
        token_store.revoke_token(record, kind)
        storage.commit()
