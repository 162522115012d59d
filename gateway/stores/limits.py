"""Rate limits: the gateway's Flask-Limiter extension, counting in the hot store.

:data:`limiter` is one ``flask_limiter.Limiter`` for the process, bound to each app by
``create_app`` (:func:`init_app`): the fixed-window strategy (a window starts at the first hit of
a key and lasts the limit's period; hits after it start a new one), no default or application
limits (only what declares a limit is limited, and no other request touches the store), no
``X-RateLimit-*`` headers, errors not swallowed and no in-memory fallback.

Its storage, ``gateway-hot-store://``, is :class:`HotStoreLimitsStorage`: a ``limits`` storage
whose counters are hot store entries (namespace ``limits``) of the application handling the
request, looked up on every operation (the store is chosen per app in ``create_app``). So a limit
is shared by every node whenever the hot store is (the database by default, Redis when
``REDIS_URL`` is set) and runs on the gateway's clock on SQL; when Redis cannot be reached the
operation raises :class:`~gateway.stores.hot.HotStoreUnavailable` (503 with ``Retry-After``),
never a skipped limit.

Limits are declared two ways: ``limiter.limit(...)`` / ``limiter.shared_limit(...)`` on a view
whose requests are refused as a whole (QR decisions: ``accounts/qr_views.py``), and, for a check
in the middle of a view (count only failed passwords, clear on success; QR codes shown), the
extension's strategy ``limiter.limiter`` with :func:`limit` items. ``gateway.config`` refuses
Flask-Limiter's ``RATELIMIT_*`` settings, so none of this is changed from outside.

The key of a decorated limit is the client address the app sees (``request.remote_addr``) unless
the limit names its own. Identifiers that are secrets or personal data (personal ID numbers,
browser ids) go into keys only as :func:`key_digest` — a keyed HMAC, because a plain hash of a
12-digit number is quickly reversed.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request
from flask_limiter import Limiter
from limits import RateLimitItemPerSecond
from limits.storage import Storage

from ..clock import now
from .hot import HotStore, HotStoreUnavailable, get_hot_store

NAMESPACE = "limits"
STORAGE_URI = "gateway-hot-store://"


class HotStoreLimitsStorage(Storage):
    """A ``limits`` storage on the current application's
    :class:`~gateway.stores.hot.HotStore` (``storage_from_string("gateway-hot-store://")``)."""

    STORAGE_SCHEME = ["gateway-hot-store"]

    def __init__(self, uri: str | None = None, **options):
        super().__init__(uri, **options)

    @property
    def store(self) -> HotStore:
        return get_hot_store()

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


def client_address() -> str | None:
    """The client address the app sees (behind a proxy: what ``ProxyFix`` makes of it)."""
    return request.remote_addr


limiter = Limiter(
    client_address,
    default_limits=[],
    application_limits=[],
    strategy="fixed-window",
    storage_uri=STORAGE_URI,
    headers_enabled=False,
    swallow_errors=False,
    in_memory_fallback_enabled=False,
)


def init_app(app) -> None:
    """Bind :data:`limiter` to ``app`` (after ``backends.init_app``: its counters are that
    store's)."""
    limiter.init_app(app)


def limit(amount: int, seconds: int) -> RateLimitItemPerSecond:
    """``amount`` hits per ``seconds``-second window."""
    return RateLimitItemPerSecond(int(amount), int(seconds))


def per_window(amount: int, seconds: int) -> str:
    """The same as a Flask-Limiter limit string: ``"<amount> per <seconds> second"``."""
    return str(limit(amount, seconds))


def key_digest(value: str) -> str:
    """A keyed digest (HMAC-SHA-256 with ``SECRET_KEY``) to name a secret in a key."""
    secret = current_app.config["SECRET_KEY"]
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
