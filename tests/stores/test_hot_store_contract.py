"""The hot store's contract (gateway/stores/hot.py), passed by every implementation: SQL on
SQLite, SQL on PostgreSQL, Redis. Expiry is checked on the frozen clock for SQL and through
Redis's own TTL bounds (``PTTL``) for Redis: no test sleeps."""

from __future__ import annotations

import threading

import pytest

from gateway.extensions import db
from tests.conftest import build_app, create_postgresql_database
from tests.stores.helpers import redis_store

THREADS = 8


@pytest.fixture(autouse=True)
def _fast_tests(fast_signing_keys, fast_sqlite):
    """Reused signing keys, fsync-free SQLite (``tests/conftest.py``)."""


@pytest.fixture
def pg_database():
    yield from create_postgresql_database("gateway_hotstore")


@pytest.fixture
def pg_app(pg_database, clock):
    yield from build_app(pg_database, clock)


@pytest.fixture(params=["sql-sqlite", "sql-postgresql", "redis"])
def backend(request):
    """``(app, store)``: the store used within an app context of ``app``."""
    if request.param == "sql-sqlite":
        app = request.getfixturevalue("sqlite_app")
    elif request.param == "sql-postgresql":
        app = request.getfixturevalue("pg_app")
    else:
        app = request.getfixturevalue("app")
    if request.param == "redis":
        with redis_store() as store:
            yield app, store
        return
    from gateway.stores.hot import get_hot_store

    with app.app_context():
        yield app, get_hot_store()


@pytest.fixture
def store(backend):
    app, store = backend
    with app.app_context():
        yield store


@pytest.fixture(params=["sql-sqlite", "sql-postgresql"])
def sql_store(request):
    app = request.getfixturevalue("sqlite_app" if request.param == "sql-sqlite" else "pg_app")
    from gateway.stores.hot import get_hot_store

    with app.app_context():
        yield get_hot_store()


def _together(app, work, n=THREADS):
    """Run ``work()`` in ``n`` threads released at once (a barrier); their results."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work()
            except Exception as exc:  # reported below, with the thread's error
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


# -- values in and out ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["ü-văn-bản", b"\x00\xffbytes", {"jwks": {"keys": []}, "n": 1},
                                   [1, "two"], 7])
def test_hot_store_put_then_get_returns_the_value(store, value):
    store.put("ns", "k", value, 60)
    assert store.get("ns", "k") == value


def test_hot_store_get_returns_none_when_absent(store):
    assert store.get("ns", "missing") is None


def test_hot_store_put_replaces_the_value(store):
    store.put("ns", "k", "one", 60)
    store.put("ns", "k", "two", 60)
    assert store.get("ns", "k") == "two"


def test_hot_store_namespaces_are_separate(store):
    store.put("a", "k", "in a", 60)
    store.put("b", "k", "in b", 60)
    store.delete("a", "k")
    assert store.get("a", "k") is None and store.get("b", "k") == "in b"


def test_hot_store_add_sets_only_when_absent(store):
    assert store.add("ns", "k", "first", 60) is True
    assert store.add("ns", "k", "second", 60) is False
    assert store.get("ns", "k") == "first"


def test_hot_store_pop_returns_the_value_once(store):
    store.put("ns", "k", {"a": 1}, 60)
    assert store.pop("ns", "k") == {"a": 1}
    assert store.pop("ns", "k") is None
    assert store.get("ns", "k") is None


def test_hot_store_delete_removes_the_entry(store):
    store.put("ns", "k", "v", 60)
    store.delete("ns", "k")
    store.delete("ns", "never-there")
    assert store.get("ns", "k") is None


def test_hot_store_replace_sets_only_over_the_expected_value(store):
    store.put("ns", "k", {"status": "pending", "n": 1}, 60)
    assert store.replace("ns", "k", {"status": "scanned", "n": 1}, {"status": "x"}) is False
    assert store.replace("ns", "k", {"n": 1, "status": "pending"}, {"status": "scanned"}) is True
    assert store.get("ns", "k") == {"status": "scanned"}
    assert store.replace("ns", "missing", None, "v") is False
    assert store.get("ns", "missing") is None


def test_hot_store_replace_keeps_the_expiry(store):
    store.put("ns", "k", "one", 30)
    assert store.replace("ns", "k", "one", "two") is True
    assert 1 <= store.ttl("ns", "k") <= 30


def test_hot_store_incr_counts_from_zero(store):
    assert [store.incr("ns", "c", 60) for _ in range(3)] == [1, 2, 3]
    assert store.incr("ns", "c", 60, amount=5) == 8
    assert store.get("ns", "c") == 8


@pytest.mark.parametrize("ttl", [0, -1, 1.5, True, "60"])
def test_hot_store_refuses_a_ttl_that_is_not_whole_seconds(store, ttl):
    with pytest.raises(ValueError):
        store.put("ns", "k", "v", ttl)
    with pytest.raises(ValueError):
        store.add("ns", "k", "v", ttl)
    with pytest.raises(ValueError):
        store.incr("ns", "k", ttl)


def test_hot_store_refuses_a_dict_that_looks_like_bytes(store):
    with pytest.raises(ValueError):
        store.put("ns", "k", {"__bytes__": "AA=="}, 60)


# -- TTL, without sleeping -----------------------------------------------------------------------

def test_hot_store_ttl_is_within_the_lifetime_given(store):
    store.put("ns", "k", "v", 60)
    assert 0 < store.ttl("ns", "k") <= 60
    assert store.ttl("ns", "missing") is None


def test_hot_store_add_and_incr_set_the_lifetime(store):
    store.add("ns", "a", 1, 30)
    store.incr("ns", "c", 45)
    assert 0 < store.ttl("ns", "a") <= 30
    assert 0 < store.ttl("ns", "c") <= 45


def test_hot_store_incr_keeps_the_first_expiry(store):
    store.incr("ns", "c", 20)
    store.incr("ns", "c", 3600)  # a later, longer ttl does not extend the window
    assert 0 < store.ttl("ns", "c") <= 20


# -- sorted indexes ------------------------------------------------------------------------------

def test_hot_store_index_range_is_by_score_up_to_the_maximum(store):
    for member, score in [("c", 30), ("a", 10), ("b", 20), ("late", 2_000_000_000_000)]:
        store.index_set("idx", member, score)
    assert store.index_range("idx", 20, 10) == [("a", 10), ("b", 20)]
    assert store.index_range("idx", None, 2) == [("a", 10), ("b", 20)]
    assert store.index_range("idx", None, 10)[-1] == ("late", 2_000_000_000_000)  # past 2038
    assert store.index_count("idx", 25) == 2 and store.index_count("idx") == 4
    assert store.index_range("other", None, 10) == [] and store.index_count("other") == 0


def test_hot_store_index_set_moves_a_member(store):
    store.index_set("idx", "a", 10)
    store.index_set("idx", "a", 50)
    assert store.index_range("idx", None, 10) == [("a", 50)]


def test_hot_store_index_remove_says_whether_it_removed(store):
    store.index_set("idx", "a", 10)
    assert store.index_remove("idx", "a") is True
    assert store.index_remove("idx", "a") is False
    assert store.index_count("idx") == 0


# -- concurrency ---------------------------------------------------------------------------------

def test_hot_store_concurrent_add_sets_exactly_once(backend):
    app, store = backend
    results = _together(app, lambda: store.add("ns", "once", "v", 60))
    assert sorted(results) == [False] * (THREADS - 1) + [True]


def test_hot_store_concurrent_pop_gives_the_value_once(backend):
    app, store = backend
    with app.app_context():
        store.put("ns", "code", "secret", 60)
    results = _together(app, lambda: store.pop("ns", "code"))
    assert results.count("secret") == 1 and results.count(None) == THREADS - 1


def test_hot_store_concurrent_replace_sets_exactly_once(backend):
    app, store = backend
    with app.app_context():
        store.put("ns", "state", {"status": "approved"}, 60)
    results = _together(app, lambda: store.replace("ns", "state", {"status": "approved"},
                                                   {"status": "consumed"}))
    assert results.count(True) == 1


def test_hot_store_concurrent_index_remove_removes_once(backend):
    app, store = backend
    with app.app_context():
        store.index_set("idx", "claimed", 1)
    results = _together(app, lambda: store.index_remove("idx", "claimed"))
    assert results.count(True) == 1


def test_hot_store_concurrent_incr_counts_every_call(backend):
    app, store = backend
    results = _together(app, lambda: store.incr("ns", "counter", 60))
    assert sorted(results) == list(range(1, THREADS + 1))
    with app.app_context():
        assert store.get("ns", "counter") == THREADS


# -- expiry on the gateway clock (SQL) -----------------------------------------------------------

def test_sql_hot_store_entry_gone_when_its_ttl_has_passed(sql_store, clock):
    sql_store.put("ns", "k", "v", 60)
    clock.advance(59)
    assert sql_store.get("ns", "k") == "v" and sql_store.ttl("ns", "k") == 1
    clock.advance(1)
    assert sql_store.get("ns", "k") is None and sql_store.ttl("ns", "k") is None
    assert sql_store.pop("ns", "k") is None


def test_sql_hot_store_replace_refuses_an_expired_entry(sql_store, clock):
    sql_store.put("ns", "k", "v", 10)
    clock.advance(10)
    assert sql_store.replace("ns", "k", "v", "w") is False


def test_sql_hot_store_add_takes_over_an_expired_entry(sql_store, clock):
    assert sql_store.add("ns", "k", "old", 10)
    clock.advance(10)
    assert sql_store.add("ns", "k", "new", 10) is True
    assert sql_store.get("ns", "k") == "new" and sql_store.ttl("ns", "k") == 10


def test_sql_hot_store_incr_starts_again_after_the_window(sql_store, clock):
    assert sql_store.incr("ns", "c", 300) == 1
    clock.advance(100)
    assert sql_store.incr("ns", "c", 300) == 2
    assert sql_store.ttl("ns", "c") == 200
    clock.advance(200)
    assert sql_store.incr("ns", "c", 300) == 1
    assert sql_store.ttl("ns", "c") == 300


def test_sql_hot_store_purge_expired_deletes_only_expired_rows(sql_store, clock):
    from sqlalchemy import func, select

    from gateway.stores.sql import HotEntry

    sql_store.put("ns", "short", "v", 10)
    sql_store.put("ns", "long", "v", 11)
    clock.advance(10)
    assert sql_store.purge_expired() == 1
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(HotEntry)) == 1
    assert sql_store.get("ns", "long") == "v"


# -- Redis specifics -----------------------------------------------------------------------------

@pytest.fixture
def redis_hot_store():
    with redis_store() as store:
        yield store


def test_redis_hot_store_keys_are_under_the_prefix(redis_hot_store):
    redis_hot_store.put("client_jwks", "k1", "v", 60)
    redis_hot_store.incr("limits", "k2", 60)
    keys = sorted(redis_hot_store.client.scan_iter(match=redis_hot_store.prefix + "*"))
    assert keys == [(redis_hot_store.prefix + name).encode()
                    for name in ("client_jwks:k1", "limits:k2")]


def test_redis_hot_store_uses_native_expiry(redis_hot_store):
    redis_hot_store.put("ns", "k", "v", 60)
    redis_hot_store.incr("ns", "c", 30)
    assert 0 < redis_hot_store.client.pttl(redis_hot_store.prefix + "ns:k") <= 60_000
    assert 0 < redis_hot_store.client.pttl(redis_hot_store.prefix + "ns:c") <= 30_000
    assert redis_hot_store.purge_expired() == 0


def test_hot_store_is_redis_when_redis_url_is_set(sqlite_app):
    from gateway.stores.backends import create_hot_store
    from gateway.stores.redis import RedisHotStore
    from gateway.stores.sql import SqlHotStore

    store = create_hot_store({"REDIS_URL": "redis://127.0.0.1:6379/3",
                              "REDIS_KEY_PREFIX": "province:"})
    assert isinstance(store, RedisHotStore) and store.prefix == "province:"
    assert isinstance(create_hot_store({"REDIS_URL": None}), SqlHotStore)
    assert isinstance(sqlite_app.extensions["gateway.hot_store"], SqlHotStore)
