"""The client registry: the one place clients are registered, read, changed and removed.

Whoever registers — an agency at ``/register`` (RFC 7591) and ``/register/<client_id>``
(RFC 7592), an administrator with ``create-client``, ``seed-demo``, the coming admin pages —
the metadata passes the same rules (``client_metadata.create_client_metadata``) and is stored
here. The registry takes and returns plain values (``ClientInfo``), never a row a caller could
change and save; it does not commit: the caller's unit of work does (a CLI command, an
endpoint), so a registration and what goes with it (an initial access token's use) are written
together or not at all. Client secrets and registration access tokens are returned once and
stored only as digests.

``ClientRegistry`` is the interface; ``SqlClientRegistry`` its implementation on the database.
tests/oidc/test_client_registry.py is the contract every implementation passes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Protocol

from authlib.oauth2.rfc7591 import InvalidClientMetadataError
from flask import current_app
from sqlalchemy import select, update

from ..clock import now
from ..extensions import db
from .client_metadata import DEFAULT_SCOPE, SECRET_AUTH_METHODS, create_client_metadata
from .discovery import create_provider_metadata
from .models import OAuth2Client, Token, digest

#: Set once, never changed by an update: the agency (from its initial access token) and what
#: only an administrator decides.
FIXED_METADATA = ("agency_name", "agency_level", "administrative_unit_code",
                  "resource_server", "resource_indicators", "allowed_resources")


@dataclass(frozen=True)
class ClientInfo:
    """A registered client as the registry hands it out (a copy: changing it changes nothing)."""

    client_id: str
    client_id_issued_at: int
    metadata: dict = field(default_factory=dict)
    has_secret: bool = False

    @property
    def client_name(self) -> str | None:
        return self.metadata.get("client_name")


@dataclass(frozen=True)
class Registration:
    """A new client, with its secrets as they are shown once."""

    client: ClientInfo
    client_secret: str | None = None
    registration_access_token: str | None = None


class ClientRegistry(Protocol):
    def validate(self, data: dict, *, administrator: bool = False,
                 client_id: str | None = None) -> dict: ...

    def register(self, data: dict, *, administrator: bool = False, client_id: str | None = None,
                 initial_access_token=None, agency: dict | None = None) -> Registration: ...

    def get(self, client_id: str | None) -> ClientInfo | None: ...

    def list(self) -> list[ClientInfo]: ...

    def update(self, client_id: str, data: dict, *, administrator: bool = False) -> ClientInfo: ...

    def reset_secret(self, client_id: str) -> str | None: ...

    def delete(self, client_id: str) -> bool: ...


def _info(row: OAuth2Client) -> ClientInfo:
    return ClientInfo(client_id=row.client_id, client_id_issued_at=row.client_id_issued_at,
                      metadata=dict(row.client_metadata), has_secret=bool(row.client_secret))


class SqlClientRegistry:
    """Clients in the ``oauth2_clients`` table."""

    @staticmethod
    def _row(client_id: str | None) -> OAuth2Client | None:
        if not client_id or not isinstance(client_id, str) or len(client_id) > 48:
            return None
        return db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == client_id))

    def validate(self, data, *, administrator=False, client_id=None):
        """The metadata to store for ``data``, or ``InvalidClientMetadataError``."""
        return create_client_metadata(data, create_provider_metadata(),
                                      administrator=administrator, client_id=client_id)

    def register(self, data, *, administrator=False, client_id=None, initial_access_token=None,
                 agency=None):
        """Validate and store a new client. An agency's registration (``initial_access_token``
        given) gets a registration access token (RFC 7592 §3) and its agency's name, level and
        unit from that token (``agency``), never from the request."""
        if client_id is not None and (not isinstance(client_id, str)
                                      or not 0 < len(client_id) <= 48):
            raise InvalidClientMetadataError("client_id: 1 to 48 characters")
        client_id = client_id or secrets.token_urlsafe(18)
        if self._row(client_id) is not None:
            raise InvalidClientMetadataError("client_id: already registered")
        metadata = self.validate(data, administrator=administrator, client_id=client_id)
        if agency:
            metadata.setdefault("client_name", agency["agency_name"])
            metadata.update(agency)
        method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
        secret = secrets.token_urlsafe(32) if method in SECRET_AUTH_METHODS else None
        row = OAuth2Client(client_id=client_id, client_id_issued_at=now(),
                           client_secret_expires_at=0)
        row.set_client_secret(secret)
        registration_access_token = None
        if initial_access_token is not None:
            registration_access_token = secrets.token_urlsafe(32)
            row.registration_access_token_digest = digest(registration_access_token)
            row.initial_access_token_id = initial_access_token.id
        row.set_client_metadata(metadata)
        db.session.add(row)
        db.session.flush()  # a concurrent registration of the same client_id fails here
        return Registration(_info(row), secret, registration_access_token)

    def get(self, client_id):
        row = self._row(client_id)
        return _info(row) if row is not None else None

    def list(self):
        return [_info(row) for row in db.session.scalars(
            select(OAuth2Client).order_by(OAuth2Client.client_id_issued_at, OAuth2Client.id))]

    def update(self, client_id, data, *, administrator=False):
        """RFC 7592 §2.2: the new metadata replaces the old; the authentication method stays (a
        change would need a new secret or keys: register a new client instead), and so does
        what ``FIXED_METADATA`` names (an administrator may change their own fields)."""
        row = self._row(client_id)
        if row is None:
            raise LookupError(client_id)
        metadata = self.validate(data, administrator=administrator, client_id=client_id)
        if metadata.get("token_endpoint_auth_method") != row.token_endpoint_auth_method:
            raise InvalidClientMetadataError(
                "token_endpoint_auth_method: cannot be changed by an update")
        current = row.client_metadata
        for name in FIXED_METADATA:
            if name in current and not (administrator and name in metadata):
                metadata[name] = current[name]
        metadata.setdefault("client_name", current.get("client_name"))
        row.set_client_metadata(metadata)
        return _info(row)

    def reset_secret(self, client_id):
        """A new secret for a confidential client (shown once); None for a public one."""
        row = self._row(client_id)
        if row is None:
            raise LookupError(client_id)
        if row.token_endpoint_auth_method not in SECRET_AUTH_METHODS:
            return None
        secret = secrets.token_urlsafe(32)
        row.set_client_secret(secret)
        return secret

    def delete(self, client_id):
        """RFC 7592 §2.3: the client goes, and its tokens stop working."""
        row = self._row(client_id)
        if row is None:
            return False
        db.session.execute(
            update(Token).where(Token.client_id == client_id, Token.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        db.session.delete(row)
        return True


def create_client(*, client_name: str, redirect_uris, post_logout_redirect_uris=(),
                  token_endpoint_auth_method: str = "client_secret_basic",
                  grant_types=("authorization_code",), scope: str = DEFAULT_SCOPE,
                  id_token_signed_response_alg: str = "RS256", client_id: str | None = None,
                  resource_server: bool = False, access_token_format: str = "opaque",
                  resource_indicators=(), allowed_resources=(), **metadata) -> Registration:
    """An administrator's registration (``create-client``, ``seed-demo``, tests): the named
    options as RFC 7591 metadata (any other field may be given by its metadata name, e.g.
    ``backchannel_logout_uri``), validated by the same rules as ``/register``. Not committed."""
    data = {
        "client_name": client_name,
        "redirect_uris": list(redirect_uris),
        "post_logout_redirect_uris": list(post_logout_redirect_uris),
        "token_endpoint_auth_method": token_endpoint_auth_method,
        "grant_types": list(grant_types),
        "scope": scope,
        "id_token_signed_response_alg": id_token_signed_response_alg,
        "access_token_format": access_token_format,
        "resource_server": bool(resource_server),
        "resource_indicators": list(resource_indicators),
        "allowed_resources": list(allowed_resources),
        **metadata,
    }
    return get_client_registry().register(data, administrator=True, client_id=client_id)


_EXTENSION = "gateway.client_registry"


def init_app(app, registry: ClientRegistry | None = None) -> None:
    app.extensions[_EXTENSION] = registry or SqlClientRegistry()


def get_client_registry() -> ClientRegistry:
    return current_app.extensions[_EXTENSION]
