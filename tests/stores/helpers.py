"""Redis for the hot store tests: a reachable one with a key prefix of its own, or an address
where nothing listens (the outage tests)."""

from __future__ import annotations

import secrets
import socket
from contextlib import contextmanager

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


def closed_port_url() -> str:
    """A Redis URL on a loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def redis_down(app) -> None:
    """Point the app's hot store at a Redis that is not there (as ``create_app`` would)."""
    from gateway.stores import backends

    app.config["REDIS_URL"] = closed_port_url()
    app.config["REDIS_TIMEOUT"] = 1
    backends.init_app(app)


@contextmanager
def redis_store():
    """Give a ``RedisHotStore`` under a random key prefix, its keys deleted afterwards; skip,
    saying why, when Redis is not reachable on 127.0.0.1:6379."""
    redis = pytest.importorskip("redis", reason="redis-py is not installed")
    from gateway.stores.redis import RedisHotStore

    prefix = f"gateway-test:{secrets.token_hex(6)}:"
    store = RedisHotStore.from_config({"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": prefix,
                                       "REDIS_TIMEOUT": 2})
    try:
        store.client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379 ({exc.__class__.__name__})")
    try:
        yield store
    finally:
        keys = list(store.client.scan_iter(match=prefix + "*"))
        if keys:
            store.client.delete(*keys)
        store.client.close()


def count_entries(store, ns: str) -> int:
    """Live entries of namespace ``ns`` in a hot store, SQL or Redis (tests only: the store's
    interface has no listing)."""
    from gateway.stores.redis import RedisHotStore

    if isinstance(store, RedisHotStore):
        return sum(1 for _ in store.client.scan_iter(match=f"{store.prefix}{ns}:*"))
    from sqlalchemy import func, select

    from gateway.clock import now
    from gateway.extensions import db
    from gateway.stores.sql import HotEntry

    return db.session.scalar(select(func.count()).select_from(HotEntry).where(
        HotEntry.namespace == ns, HotEntry.expires_at > now()))
