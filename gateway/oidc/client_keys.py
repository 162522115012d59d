"""A client's public keys: registered ``jwks``, or its ``jwks_uri`` fetched through the guarded
outbound client, cached, and fetched again when a JWT names a ``kid`` not yet seen (clients
rotate keys: conformance module oidcc-refresh-token-rp-key-rotation)."""

from __future__ import annotations

import time

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .outbound import OutboundError, fetch

#: Seconds a fetched ``jwks_uri`` document is reused before it is fetched again.
JWKS_CACHE_SECONDS = 300
#: Least seconds between two fetches of one ``jwks_uri`` (an unknown ``kid`` cannot hammer it).
JWKS_REFETCH_INTERVAL = 5

_cache: dict[str, tuple[float, KeySet]] = {}


class ClientKeyError(Exception):
    """The client has no usable key for this JWT."""


def _fetch_key_set(uri: str) -> KeySet:
    try:
        response = fetch(uri)
        if response.status != 200:
            raise ClientKeyError(f"jwks_uri answered {response.status}")
        key_set = KeySet.import_key_set(response.json())
    except (OutboundError, JoseError, ValueError, TypeError, KeyError) as exc:
        raise ClientKeyError(f"cannot load jwks_uri: {exc}") from exc
    _cache[uri] = (time.monotonic(), key_set)
    return key_set


def get_client_key_set(client, *, refresh: bool = False) -> KeySet:
    metadata = client.client_metadata
    if metadata.get("jwks"):
        try:
            return KeySet.import_key_set(metadata["jwks"])
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ClientKeyError("registered jwks is not usable") from exc
    uri = metadata.get("jwks_uri")
    if not uri:
        raise ClientKeyError("the client has registered no keys")
    cached = _cache.get(uri)
    age = time.monotonic() - cached[0] if cached else None
    if cached and not refresh and age < JWKS_CACHE_SECONDS:
        return cached[1]
    if cached and refresh and age < JWKS_REFETCH_INTERVAL:
        return cached[1]
    return _fetch_key_set(uri)


def get_client_key(client, kid: str | None):
    """The client's key named ``kid`` (or its only key), re-fetching ``jwks_uri`` once."""
    for refresh in (False, True):
        key_set = get_client_key_set(client, refresh=refresh)
        if kid is None and len(key_set.keys) == 1:
            return key_set.keys[0]
        for key in key_set.keys:
            if kid is not None and key.kid == kid:
                return key
        if not client.client_metadata.get("jwks_uri"):
            break
    raise ClientKeyError(f"no key with kid {kid!r}")


def key_resolver(client):
    """A joserfc key function: picks the client's key by the JWT header's ``kid``."""

    def resolve(token):
        return get_client_key(client, token.headers().get("kid"))

    return resolve
