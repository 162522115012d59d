"""The hot store on Redis (redis-py): native expiry, every key under ``REDIS_KEY_PREFIX``.

``add`` is ``SET NX EX``, ``pop`` is ``GETDEL`` (Redis 6.2+), ``incr`` is ``INCR`` with the
expiry set by the same Lua script when the counter is new, ``replace`` a Lua compare-and-set
(``SET .. KEEPTTL``). Expiry is Redis's own real time, not
the gateway's clock. A connection or timeout error raises ``HotStoreUnavailable`` (503): an
unreachable Redis never reads as "no entry".
"""

from __future__ import annotations

import math
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .hot import HotStoreUnavailable, check_ttl, decode, encode

_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                redis.exceptions.ReadOnlyError)

# INCRBY, and EXPIRE when the counter is new (it has no expiry yet): one atomic step.
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return value
"""

# SET KEEPTTL only when the value is the one expected: a compare-and-set (Redis 6.0+).
_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
"""


class RedisHotStore:
    """:class:`~gateway.stores.hot.HotStore` on Redis."""

    def __init__(self, client: redis.Redis, prefix: str = "gateway:"):
        self.client = client
        self.prefix = prefix
        self._incr = client.register_script(_INCR)
        self._replace = client.register_script(_REPLACE)

    @classmethod
    def from_config(cls, config) -> RedisHotStore:
        timeout = config.get("REDIS_TIMEOUT", 2)
        client = redis.Redis.from_url(
            config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout,
            # One immediate reconnect (a connection the server closed), then 503.
            retry=Retry(NoBackoff(), 1), health_check_interval=30,
        )
        return cls(client, config.get("REDIS_KEY_PREFIX", "gateway:"))

    def _key(self, ns: str, key: str) -> str:
        return f"{self.prefix}{ns}:{key}"

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except _UNAVAILABLE as exc:
            raise HotStoreUnavailable(f"Redis is unreachable ({exc.__class__.__name__})") from exc

    def put(self, ns: str, key: str, value: Any, ttl: int) -> None:
        self._call(self.client.set, self._key(ns, key), encode(value), ex=check_ttl(ttl))

    def get(self, ns: str, key: str) -> Any | None:
        return decode(self._call(self.client.get, self._key(ns, key)))

    def add(self, ns: str, key: str, value: Any, ttl: int) -> bool:
        return bool(self._call(self.client.set, self._key(ns, key), encode(value),
                               ex=check_ttl(ttl), nx=True))

    def pop(self, ns: str, key: str) -> Any | None:
        return decode(self._call(self.client.getdel, self._key(ns, key)))

    def replace(self, ns: str, key: str, expected: Any, value: Any) -> bool:
        return bool(self._call(self._replace, keys=[self._key(ns, key)],
                               args=[encode(expected), encode(value)]))

    def delete(self, ns: str, key: str) -> None:
        self._call(self.client.delete, self._key(ns, key))

    def incr(self, ns: str, key: str, ttl: int, amount: int = 1) -> int:
        return int(self._call(self._incr, keys=[self._key(ns, key)],
                              args=[int(amount), check_ttl(ttl)]))

    def ttl(self, ns: str, key: str) -> int | None:
        milliseconds = self._call(self.client.pttl, self._key(ns, key))
        return math.ceil(milliseconds / 1000) if milliseconds > 0 else None

    def purge_expired(self) -> int:
        return 0  # Redis expires keys itself

    # -- sorted indexes: one sorted set per namespace ------------------------------------------

    def _index_key(self, ns: str) -> str:
        return f"{self.prefix}index:{ns}"

    def index_set(self, ns: str, member: str, score: int) -> None:
        self._call(self.client.zadd, self._index_key(ns), {member: int(score)})

    def index_range(self, ns: str, max_score: int | None, limit: int) -> list[tuple[str, int]]:
        top = "+inf" if max_score is None else int(max_score)
        rows = self._call(self.client.zrangebyscore, self._index_key(ns), "-inf", top,
                          start=0, num=int(limit), withscores=True)
        return [(member.decode() if isinstance(member, bytes) else member, int(score))
                for member, score in rows]

    def index_count(self, ns: str, max_score: int | None = None) -> int:
        top = "+inf" if max_score is None else int(max_score)
        return int(self._call(self.client.zcount, self._index_key(ns), "-inf", top))

    def index_remove(self, ns: str, member: str) -> bool:
        return self._call(self.client.zrem, self._index_key(ns), member) == 1
