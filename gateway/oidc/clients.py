"""Registering relying parties (agency apps) and checking their metadata.

Redirect URIs are matched exactly (RFC 9700 §2.1): https, or loopback http for development;
never a fragment (RFC 6749 §3.1.2).
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from urllib.parse import urlsplit

from flask import current_app

from ..extensions import db
from .models import OAuth2Client
from .storage import get_client

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
GRANT_TYPES = ("authorization_code",)
#: Grant types a client may be registered for (RFC 7591 §2).
SUPPORTED_GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
#: ``access_token_format`` values (gateway client metadata): opaque, or RFC 9068 JWT.
ACCESS_TOKEN_FORMATS = ("opaque", "jwt")
DEFAULT_SCOPE = "openid profile email phone address"
ID_TOKEN_ALGS = ("RS256", "PS256", "ES256")


class InvalidClientMetadata(ValueError):
    """Registration refused; the message names the field."""


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def validate_uri(uri: str, field: str, *, allow_loopback_http: bool = True) -> str:
    """An absolute https URI without fragment (or http on a loopback host when allowed)."""
    if not isinstance(uri, str) or not uri or len(uri) > 2000:
        raise InvalidClientMetadata(f"{field}: each value must be a URI of at most 2000 chars")
    if not uri.isascii() or any(c.isspace() or not c.isprintable() or c in '"<>\\^`{|}'
                                for c in uri):
        raise InvalidClientMetadata(f"{field}: not a valid URI (unencoded characters)")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise InvalidClientMetadata(f"{field}: not a valid URI") from exc
    if parts.fragment or "#" in uri:
        raise InvalidClientMetadata(f"{field}: a URI must not have a fragment")
    if parts.username or parts.password:
        raise InvalidClientMetadata(f"{field}: a URI must not carry credentials")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if allow_loopback_http and parts.scheme == "http" and _is_loopback(parts.hostname):
        return uri
    if allow_loopback_http:
        raise InvalidClientMetadata(f"{field}: use https (http only for loopback addresses)")
    raise InvalidClientMetadata(f"{field}: use https")


def create_client(*, client_name: str, redirect_uris: list[str],
                  post_logout_redirect_uris: list[str] = (),
                  token_endpoint_auth_method: str = "client_secret_basic",
                  grant_types: list[str] = GRANT_TYPES, scope: str = DEFAULT_SCOPE,
                  id_token_signed_response_alg: str = "RS256",
                  client_id: str | None = None, resource_server: bool = False,
                  access_token_format: str = "opaque",
                  resource_indicators: list[str] = (),
                  allowed_resources: list[str] = ()) -> tuple[OAuth2Client, str | None]:
    """Validate and register a client. Returns ``(client, secret)``; the secret is shown once.
    ``resource_indicators`` (RFC 8707) only for a resource server; ``allowed_resources``: the
    APIs whose tokens this client may ask for (``resource``)."""
    if not client_name or len(client_name) > 200:
        raise InvalidClientMetadata("client_name: required, at most 200 characters")
    if not redirect_uris:
        raise InvalidClientMetadata("redirect_uris: at least one is required")
    redirect_uris = [validate_uri(u, "redirect_uris") for u in redirect_uris]
    post_logout_redirect_uris = [
        validate_uri(u, "post_logout_redirect_uris") for u in post_logout_redirect_uris
    ]
    if token_endpoint_auth_method not in AUTH_METHODS:
        raise InvalidClientMetadata(f"token_endpoint_auth_method: one of {', '.join(AUTH_METHODS)}")
    unknown = set(grant_types) - set(SUPPORTED_GRANT_TYPES)
    if unknown:
        raise InvalidClientMetadata(f"grant_types: unsupported {', '.join(sorted(unknown))}")
    if "client_credentials" in grant_types and token_endpoint_auth_method == "none":
        # RFC 6749 §4.4: confidential clients only.
        raise InvalidClientMetadata("grant_types: client_credentials needs a confidential client")
    if access_token_format not in ACCESS_TOKEN_FORMATS:
        raise InvalidClientMetadata(
            f"access_token_format: one of {', '.join(ACCESS_TOKEN_FORMATS)}"
        )
    if id_token_signed_response_alg not in ID_TOKEN_ALGS:
        raise InvalidClientMetadata(
            f"id_token_signed_response_alg: one of {', '.join(ID_TOKEN_ALGS)}"
        )
    if resource_indicators and not resource_server:
        raise InvalidClientMetadata("resource: only for a resource server (--resource-server)")
    from .resources import validate_resource_indicators  # (imports this module)

    resource_indicators = validate_resource_indicators(
        list(resource_indicators),
        allow_loopback_http=current_app.config.get("ENV") == "development",
    )
    allowed_resources = [
        validate_uri(uri, "allowed_resources",
                     allow_loopback_http=current_app.config.get("ENV") == "development")
        for uri in dict.fromkeys(allowed_resources)
    ]
    client_id = client_id or secrets.token_urlsafe(18)
    if get_client(client_id) is not None:
        raise InvalidClientMetadata("client_id: already registered")
    client = OAuth2Client(client_id=client_id, client_id_issued_at=int(time.time()))
    secret = None
    if token_endpoint_auth_method != "none":
        secret = secrets.token_urlsafe(32)
    client.set_client_secret(secret)
    client.set_client_metadata({
        "client_name": client_name,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout_redirect_uris,
        "token_endpoint_auth_method": token_endpoint_auth_method,
        "grant_types": list(grant_types),
        "response_types": ["code"],
        "scope": scope,
        "id_token_signed_response_alg": id_token_signed_response_alg,
        # Gateway metadata (docs/agency-integration.md): may call /introspect; token format.
        "resource_server": bool(resource_server),
        "access_token_format": access_token_format,
        # RFC 8707: the resources this resource server answers for (access token ``aud``).
        "resource_indicators": resource_indicators,
        # RFC 8707: the APIs this client may ask access tokens for (``resource``).
        "allowed_resources": allowed_resources,
    })
    db.session.add(client)
    db.session.commit()
    return client, secret


def reset_client_secret(client: OAuth2Client) -> str:
    secret = secrets.token_urlsafe(32)
    client.set_client_secret(secret)
    db.session.commit()
    return secret
