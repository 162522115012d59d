"""Which hot store an application gets: Redis when ``REDIS_URL`` is set, else its database.

The interface (``hot.py``) knows no implementation; this module knows both, so neither imports
the other's chooser.
"""

from __future__ import annotations

from .hot import EXTENSION, HotStore
from .redis import RedisHotStore
from .sql import SqlHotStore


def create_hot_store(config) -> HotStore:
    """Redis when ``REDIS_URL`` is set, else the gateway's database (no connection is made)."""
    if config.get("REDIS_URL"):
        return RedisHotStore.from_config(config)
    return SqlHotStore()


def init_app(app) -> None:
    app.extensions[EXTENSION] = create_hot_store(app.config)
