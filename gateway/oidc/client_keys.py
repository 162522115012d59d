"""A client's public keys: registered ``jwks``, or its ``jwks_uri`` fetched through the guarded
outbound client, cached, and fetched again when a JWT names a ``kid`` not yet seen (clients
rotate keys: conformance module oidcc-refresh-token-rp-key-rotation).

The fetched documents are cached in the hot store (namespace ``client_jwks``, keyed by the
URI's digest), so every node shares them; the "at most one re-fetch per
``JWKS_REFETCH_INTERVAL``" rule is a hot store entry too (``client_jwks_fetched``, set with
``add``), so an unknown ``kid`` cannot make all nodes hammer a client's server.
"""

from __future__ import annotations

import hashlib

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..stores.hot import get_hot_store
from .outbound import OutboundError, fetch

#: Seconds a fetched ``jwks_uri`` document is reused before it is fetched again.
JWKS_CACHE_SECONDS = 300
#: Least seconds between two fetches of one ``jwks_uri`` (an unknown ``kid`` cannot hammer it).
JWKS_REFETCH_INTERVAL = 5

CACHE_NAMESPACE = "client_jwks"
FETCHED_NAMESPACE = "client_jwks_fetched"


class ClientKeyError(Exception):
    """The client has no usable key for this JWT."""


def _cache_key(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()


def _import(document) -> KeySet:
    try:
        return KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ClientKeyError(f"cannot load jwks_uri: {exc}") from exc


def _fetch_key_set(uri: str) -> KeySet:
    store = get_hot_store()
    try:
        response = fetch(uri)
        if response.status != 200:
            raise ClientKeyError(f"jwks_uri answered {response.status}")
        document = response.json()
    except (OutboundError, ValueError, TypeError) as exc:
        raise ClientKeyError(f"cannot load jwks_uri: {exc}") from exc
    finally:
        store.put(FETCHED_NAMESPACE, _cache_key(uri), 1, JWKS_REFETCH_INTERVAL)
    key_set = _import(document)
    store.put(CACHE_NAMESPACE, _cache_key(uri), {"jwks": document}, JWKS_CACHE_SECONDS)
    return key_set


def get_client_key_set(client, *, refresh: bool = False) -> KeySet:
    """The client's keys; ``refresh``: fetch ``jwks_uri`` again unless it was fetched less than
    ``JWKS_REFETCH_INTERVAL`` seconds ago (by any node)."""
    metadata = client.client_metadata
    if metadata.get("jwks"):
        try:
            return KeySet.import_key_set(metadata["jwks"])
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ClientKeyError("registered jwks is not usable") from exc
    uri = metadata.get("jwks_uri")
    if not uri:
        raise ClientKeyError("the client has registered no keys")
    store = get_hot_store()
    cached = store.get(CACHE_NAMESPACE, _cache_key(uri))
    if cached is not None and not refresh:
        return _import(cached["jwks"])
    if cached is not None and not store.add(FETCHED_NAMESPACE, _cache_key(uri), 1,
                                            JWKS_REFETCH_INTERVAL):
        return _import(cached["jwks"])
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
