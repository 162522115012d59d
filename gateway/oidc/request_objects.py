"""Request objects (RFC 9101, OIDC Core §6): authorization parameters in a JWT signed by the
client, by value (``request``) or by reference (``request_uri``), as Authlib's extension.

Signed only (``none`` is neither accepted nor advertised); ``request_uri`` must be registered
by the client (``request_uris``) and is fetched through the guarded outbound client.
"""

from __future__ import annotations

from authlib.oidc.core.authorization_request import OpenIDJWTAuthenticationRequest
from flask import current_app, url_for

from .client_keys import ClientKeyError, key_resolver
from .outbound import OutboundError, check_url, fetch

SIGNING_ALGS = ["RS256", "PS256", "ES256"]


class RequestObjectExtension(OpenIDJWTAuthenticationRequest):
    def resolve_client_public_key(self, client):
        return key_resolver(client)

    def get_request_object_signing_algorithms(self, client):
        return list(SIGNING_ALGS)

    def get_client_require_signed_request_object(self, client) -> bool:
        return bool(client.client_metadata.get("require_signed_request_object"))

    def get_server_metadata(self) -> dict:
        return {
            "issuer": current_app.config["ISSUER"],
            "authorization_endpoint": current_app.config["ISSUER"] + url_for("oidc.authorize"),
            "request_object_signing_alg_values_supported": list(SIGNING_ALGS),
            "require_request_uri_registration": True,
        }

    def get_client_request_uris(self, client) -> list[str]:
        return list(client.client_metadata.get("request_uris") or [])

    def validate_request_uri(self, request_uri: str, client) -> bool:
        try:
            check_url(request_uri)
        except OutboundError:
            return False
        return True

    def get_request_object(self, request_uri: str):
        try:
            response = fetch(request_uri)
        except OutboundError:
            return None
        if response.status != 200:
            return None
        return response.body.decode("ascii", errors="replace").strip()

    def _decode_request_object(self, request, client, raw_request_object):
        try:
            return super()._decode_request_object(request, client, raw_request_object)
        except ClientKeyError as exc:
            from authlib.oauth2.rfc9101.errors import InvalidRequestObjectError

            raise InvalidRequestObjectError(
                description=str(exc), state=request.payload.state
            ) from exc
