"""Rate limits (the ``limits`` library) counted in the hot store.

:class:`HotStoreLimitsStorage` is a ``limits`` storage whose counters are hot store entries
(namespace ``limits``), so a limit is shared by every node whenever the hot store is (the
database by default, Redis when configured) and runs on the gateway's clock on SQL. The
strategy is the fixed window: a window starts at the first hit of a key and lasts the limit's
period; hits after it start a new one.

Identifiers that are secrets or personal data (personal ID numbers, browser ids) go into keys
only as :func:`key_digest` — a keyed HMAC, because a plain hash of a 12-digit number is
quickly reversed.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from limits import RateLimitItemPerSecond
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from ..clock import now
from .hot import HotStore, HotStoreUnavailable, get_hot_store

NAMESPACE = "limits"


class HotStoreLimitsStorage(Storage):
    """A ``limits`` storage on a :class:`~gateway.stores.hot.HotStore`."""

    STORAGE_SCHEME = ["gateway-hot-store"]

    def __init__(self, store: HotStore, **options):
        super().__init__(None, **options)
        self.store = store

    @property
    def base_exceptions(self):
        return HotStoreUnavailable

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self.store.incr(NAMESPACE, key, max(1, int(expiry)), amount)

    def get(self, key: str) -> int:
        return int(self.store.get(NAMESPACE, key) or 0)

    def get_expiry(self, key: str) -> float:
        return float(now() + (self.store.ttl(NAMESPACE, key) or 0))

    def check(self) -> bool:
        try:
            self.store.get(NAMESPACE, "check")
        except HotStoreUnavailable:
            return False
        return True

    def reset(self) -> int | None:
        return None  # not offered: entries expire on their own

    def clear(self, key: str) -> None:
        self.store.delete(NAMESPACE, key)


def get_rate_limiter() -> FixedWindowRateLimiter:
    """The fixed-window limiter on the application's hot store."""
    return FixedWindowRateLimiter(HotStoreLimitsStorage(get_hot_store()))


def limit(amount: int, seconds: int) -> RateLimitItemPerSecond:
    """``amount`` hits per ``seconds``-second window."""
    return RateLimitItemPerSecond(int(amount), int(seconds))


def key_digest(value: str) -> str:
    """A keyed digest (HMAC-SHA-256 with ``SECRET_KEY``) to name a secret in a key."""
    secret = current_app.config["SECRET_KEY"]
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
