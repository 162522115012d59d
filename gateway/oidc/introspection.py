"""The introspection endpoint (RFC 7662), as Authlib's ``IntrospectionEndpoint``.

- Only for resource servers: clients registered with ``create-client --resource-server``.
  Bad or missing client credentials get 401 (§2.3, RFC 6749 §5.2); an authenticated client that
  is not a resource server gets 403 (§4: not every client may learn about every token).
- Unknown, expired, revoked or rotated tokens: ``{"active": false}`` and nothing else (§2.2).
- Active tokens: ``scope``, ``client_id``, ``token_type``, ``exp``, ``iat``, ``sub`` (as the
  token's client knows it), ``aud`` (the resource indicator, RFC 8707, else the token's
  ``client_id``), ``iss``, and ``auth_time``/``acr`` when a person signed in.
- A resource server learns only about tokens for one of its own resource indicators or for no
  resource; a token for another API's resource is ``{"active": false}`` to it (§4: the
  authorization server decides what each protected resource may see).
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from flask import current_app

from . import resources, token_store
from .claims import get_subject
from .ports import get_ports
from .revocation import AUTH_METHODS


class NotAResourceServerError(OAuth2Error):
    """RFC 7662 §2.3/§4: authenticated, but not allowed to introspect."""

    error = "unauthorized_client"
    description = "This client is not registered as a resource server."
    status_code = 403


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = [m for m in AUTH_METHODS if m != "none"]

    def authenticate_endpoint_client(self, request):
        client = super().authenticate_endpoint_client(request)
        if not client.is_resource_server:
            raise NotAResourceServerError()
        return client

    def check_params(self, request, client):
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token' in request.")

    def authenticate_token(self, request, client):
        # §2.1: an unknown hint is no error; the search covers every type anyway.
        self.check_params(request, client)
        token = token_store.find_token(request.form["token"], request.form.get("token_type_hint"))
        if token is not None and not resources.is_audience_of(client, token[0].resource):
            return None
        return token

    def check_permission(self, token, client, request):
        return client.is_resource_server

    def create_introspection_payload(self, token):
        if token is None:
            return {"active": False}
        record, kind = token
        if kind == "refresh_token":
            active = token_store.check_refresh_token_usable(record)
            expires_at = record.get_refresh_expires_at()
        else:
            active = not record.is_revoked() and not record.is_expired()
            expires_at = record.get_expires_at()
        if not active:
            return {"active": False}
        return self.introspect_token(record, kind, expires_at)

    def introspect_token(self, record, kind="access_token", expires_at=None):
        client = record.get_client()
        payload = {
            "active": True,
            "scope": record.scope,
            "client_id": record.client_id,
            "token_type": "Bearer" if kind == "access_token" else "refresh_token",
            "exp": expires_at,
            "iat": record.issued_at,
            "iss": current_app.config["ISSUER"],
            "aud": record.resource or record.client_id,
        }
        account = get_ports().accounts.find_account(record.citizen_id)
        if account is not None and client is not None:
            payload["sub"] = get_subject(account, client)
            code = token_store.get_token_authorization_code(record)
            if code is not None:
                payload["auth_time"] = code.auth_time
                if code.acr:
                    payload["acr"] = code.acr
        else:
            payload["sub"] = record.client_id
        return payload
