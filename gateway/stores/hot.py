"""The hot store: short-lived state with a TTL behind one interface, on SQL or Redis.

Every entry lives in a namespace (``ns``) under a key, with a lifetime in whole seconds; after
it the entry is gone for every operation. Values are plain: ``str``, ``bytes``, ``int``,
``list`` or ``dict`` (stored as JSON; ``bytes`` as base64), never ORM rows. Sorted indexes
(``index_*``) keep members by an integer score, without expiry.

Implementations (chosen by ``gateway.stores.backends.init_app``):
:class:`~gateway.stores.sql.SqlHotStore` (table ``hot_entries`` in the gateway's database, the
default) and :class:`~gateway.stores.redis.RedisHotStore` (when ``REDIS_URL`` is set). Every
operation is its own transaction and is durable when it returns, on both (``purge_expired``
aside): the store never joins, commits or rolls back the caller's database session, so a replay
cache entry or a throttle counter holds even when the caller's unit of work is rolled back
afterwards.

When the store cannot be reached (Redis down) an operation raises :class:`HotStoreUnavailable`
and never answers as if the entry were absent: the request fails with 503 and
``Retry-After`` (``gateway.errors``) instead of accepting a replay or skipping a limit.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Protocol, runtime_checkable

from flask import current_app

EXTENSION = "gateway.hot_store"
_BYTES = "__bytes__"


class HotStoreUnavailable(Exception):
    """The hot store cannot be reached; nothing was read or written (503, ``Retry-After``)."""


@runtime_checkable
class HotStore(Protocol):
    """Short-lived state. ``ttl`` is whole seconds, 1 or more; ``ns`` and ``key`` are strings
    (namespace up to 64 characters, key up to 255, neither secret: digest secrets first)."""

    def put(self, ns: str, key: str, value: Any, ttl: int) -> None:
        """Set ``value``, replacing any entry, for ``ttl`` seconds."""

    def get(self, ns: str, key: str) -> Any | None:
        """The live value, or None."""

    def add(self, ns: str, key: str, value: Any, ttl: int) -> bool:
        """Set only if no live entry exists (replay caches); True if this call set it."""

    def pop(self, ns: str, key: str) -> Any | None:
        """Atomically get and delete (single use): of concurrent callers one gets the value."""

    def replace(self, ns: str, key: str, expected: Any, value: Any) -> bool:
        """Compare-and-set: set ``value`` only if the live entry's value equals ``expected``
        (as stored: equal JSON), keeping the entry's expiry. True if this call set it; of
        concurrent callers expecting the same value one wins (state machines: QR sign-in)."""

    def delete(self, ns: str, key: str) -> None:
        """Remove the entry, if any."""

    def incr(self, ns: str, key: str, ttl: int, amount: int = 1) -> int:
        """Add ``amount`` to a counter and return the new value; a new counter (or one whose
        entry expired) starts from 0 and lives ``ttl`` seconds from now; later increments
        keep that expiry (a fixed window)."""

    def ttl(self, ns: str, key: str) -> int | None:
        """Seconds the live entry has left (1 to its ``ttl``), or None without one."""

    def purge_expired(self) -> int:
        """Delete expired entries; how many (0 where the backend expires entries itself). On
        SQL in the caller's session, not committed (``prune-records`` commits it)."""

    # Sorted indexes: members (strings up to 255 characters) with an integer score each, per
    # namespace, with no expiry: what is added is removed by its owner. For finding entries by
    # time (sessions due to expire) or by owner (a person's sessions).

    def index_set(self, ns: str, member: str, score: int) -> None:
        """Add ``member`` with ``score``, or move it to ``score``."""

    def index_range(self, ns: str, max_score: int | None, limit: int) -> list[tuple[str, int]]:
        """Up to ``limit`` ``(member, score)`` with ``score <= max_score`` (all with None),
        lowest score first."""

    def index_count(self, ns: str, max_score: int | None = None) -> int:
        """How many members have ``score <= max_score`` (all with None)."""

    def index_remove(self, ns: str, member: str) -> bool:
        """Remove ``member``; True if this call removed it: of concurrent callers one does."""


def encode(value: Any) -> str:
    """JSON text for a plain value, canonical (sorted keys: equal values, equal text, which
    ``replace`` compares); ``bytes`` become ``{"__bytes__": base64}``."""
    if isinstance(value, bytes):
        return json.dumps({_BYTES: base64.b64encode(value).decode("ascii")})
    if isinstance(value, dict) and _BYTES in value:
        raise ValueError(f"a hot store dict must not have the key {_BYTES!r}")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def decode(text: str | bytes | None) -> Any | None:
    if text is None:
        return None
    value = json.loads(text)
    if isinstance(value, dict) and set(value) == {_BYTES}:
        return base64.b64decode(value[_BYTES])
    return value


def check_ttl(ttl: int) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        raise ValueError("a hot store ttl is whole seconds, 1 or more")
    return ttl


def get_hot_store() -> HotStore:
    """The application's hot store."""
    return current_app.extensions[EXTENSION]
