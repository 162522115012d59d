"""The one clock: code expiry, ``auth_time``, ``max_age``, session lifetimes read it.

Tests replace it with a ``FrozenClock`` through ``app.extensions["gateway.clock"]``.
"""

from __future__ import annotations

import time

from flask import current_app


class SystemClock:
    def now(self) -> int:
        return int(time.time())


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, start: int | None = None):
        self.current = int(start if start is not None else time.time())

    def now(self) -> int:
        return self.current

    def advance(self, seconds: int) -> None:
        self.current += int(seconds)


def now() -> int:
    """Seconds since the epoch, from the application's clock."""
    return current_app.extensions["gateway.clock"].now()
