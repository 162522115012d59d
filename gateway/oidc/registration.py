"""Dynamic client registration (RFC 7591) and client management (RFC 7592) as Authlib endpoints.

Agencies register their apps themselves with an initial access token an administrator issued
to them (RFC 7591 §3; ``issue-registration-token``). The metadata rules are
``client_metadata.py``'s and the clients are stored by the client registry (``registry.py``),
as for clients an administrator registers: nothing is stored unless every rule passes. The
client secret and the registration access token are shown once; only their digests are kept.
The agency's name, level and administrative-unit code come from the initial access token, never
from the request.
"""

from __future__ import annotations

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _RegistrationEndpoint
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint as _ConfigurationEndpoint
from flask import current_app, url_for
from flask import request as flask_request

from ..extensions import db
from . import storage
from .discovery import create_provider_metadata
from .models import OAuth2Client
from .registry import get_client_registry


def _bearer_token(request) -> str | None:
    auth = request.headers.get("Authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class _MetadataMixin:
    def get_server_metadata(self):
        return create_provider_metadata()

    def extract_client_metadata(self, request):
        # Authlib's version lets a non-object body or a ValueError from a claims class through
        # as a 500; the registry's rules answer 400 with the field named.
        return get_client_registry().validate(flask_request.get_json(silent=True))

    @staticmethod
    def create_registration_info(client_id: str, token: str) -> dict:
        return {
            "registration_client_uri": current_app.config["ISSUER"]
            + url_for("oidc.client_configuration", client_id=client_id),
            "registration_access_token": token,
        }


class ClientRegistrationEndpoint(_MetadataMixin, _RegistrationEndpoint):
    """RFC 7591 §3, protected by an initial access token (Bearer)."""

    def authenticate_token(self, request):
        record = storage.get_initial_access_token(_bearer_token(request))
        if record is None:
            raise InvalidTokenError("A valid initial access token is required.")
        return record

    @staticmethod
    def get_agency_metadata(record) -> dict:
        return {"agency_name": record.agency_name, "agency_level": record.agency_level,
                "administrative_unit_code": record.administrative_unit_code}

    def create_registration_response(self, request):
        """RFC 7591 §3.2.1: the stored metadata, the client's credentials (shown once) and how
        to manage it (RFC 7592 §3). The use of the initial access token is counted in the same
        transaction as the registration."""
        record = self.authenticate_token(request)
        registration = get_client_registry().register(
            flask_request.get_json(silent=True), initial_access_token=record,
            agency=self.get_agency_metadata(record),
        )
        if not storage.use_initial_access_token(record):
            db.session.rollback()
            raise InvalidTokenError("The initial access token has been used up.")
        db.session.commit()
        client = registration.client
        body = {**client.metadata, "client_id": client.client_id,
                "client_id_issued_at": client.client_id_issued_at, "client_secret_expires_at": 0,
                **self.create_registration_info(client.client_id,
                                                registration.registration_access_token)}
        if registration.client_secret is not None:
            body["client_secret"] = registration.client_secret
        return 201, body, default_json_headers


class _RegistrationAccessToken:
    def __init__(self, client: OAuth2Client, token: str):
        self.client, self.token = client, token

    def check_client(self, client) -> bool:
        return client is not None and client.client_id == self.client.client_id


class ClientConfigurationEndpoint(_MetadataMixin, _ConfigurationEndpoint):
    """RFC 7592 §2: read, update and delete with the registration access token."""

    def authenticate_token(self, request):
        token = _bearer_token(request)
        client = storage.get_client_by_registration_access_token(token)
        # A token is valid for its own client's URL only (RFC 7592 §2: otherwise RFC 6750 §3).
        if client is None or client.client_id != flask_request.view_args.get("client_id"):
            raise InvalidTokenError("A valid registration access token is required.")
        return _RegistrationAccessToken(client, token)

    def authenticate_client(self, request):
        return storage.get_client(flask_request.view_args.get("client_id"))

    def revoke_access_token(self, request, token):
        """Unreachable: a valid token always belongs to an existing client."""

    def check_permission(self, client, request):
        return True

    def introspect_client(self, client):
        # Never the stored secret digest (Authlib's ``client_info`` would include it).
        info = get_client_registry().get(client.client_id)
        return {"client_id": info.client_id,
                "client_id_issued_at": info.client_id_issued_at,
                "client_secret_expires_at": client.client_secret_expires_at,
                **info.metadata}

    def generate_client_registration_info(self, client, request):
        return self.create_registration_info(client.client_id, request.credential.token)

    def delete_client(self, client, request):
        get_client_registry().delete(client.client_id)
        db.session.commit()

    def extract_client_metadata(self, request):
        """Validated once, by the registry, in ``update_client``."""
        return None

    def update_client(self, client, client_metadata, request):
        """RFC 7592 §2.2: the request replaces the metadata (``registry.update``)."""
        get_client_registry().update(client.client_id, flask_request.get_json(silent=True))
        db.session.commit()
        return client

    def create_update_client_response(self, client, request):
        if not isinstance(flask_request.get_json(silent=True), dict):
            raise InvalidRequestError("The request body must be a JSON object.")
        return super().create_update_client_response(client, request)
