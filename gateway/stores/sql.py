"""The hot store on the gateway's database: one table, ``hot_entries``.

Each operation (but ``purge_expired``) runs in its own transaction on its own connection
(``db.engine.begin()``) and is committed when it returns, like Redis: a replay check is durable
at once and the caller's session is neither committed nor rolled back. Atomicity comes from
single statements: ``INSERT .. ON CONFLICT`` (``add``, ``incr``, ``put``),
``DELETE .. RETURNING`` (``pop``) and ``UPDATE .. WHERE value = expected`` (``replace``),
correct under concurrency on PostgreSQL and on SQLite (3.35+). Time is the gateway's clock
(``gateway.clock.now``): an entry is gone once ``now() >= expires_at``, though its row stays
until ``purge_expired`` (``prune-records``) or the next write of its key.

On SQLite a write waits for the caller's session if that holds uncommitted writes: callers use
the store before writing (sign-in, client authentication and QR codes do).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
    Text,
    case,
    cast,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db
from .hot import check_ttl, decode, encode


class HotEntry(db.Model):
    """One short-lived entry of the hot store (see ``gateway/stores/hot.py``)."""

    __tablename__ = "hot_entries"

    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: JSON text (``gateway.stores.hot.encode``); counters are JSON integers.
    value: Mapped[str] = mapped_column(Text)
    #: Seconds since the epoch at which the entry is gone.
    expires_at: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_hot_entries_expires_at", "expires_at"),)


class HotIndexEntry(db.Model):
    """One member of a sorted index of the hot store (``index_*``)."""

    __tablename__ = "hot_index"

    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    member: Mapped[str] = mapped_column(String(255), primary_key=True)
    score: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_hot_index_namespace_score", "namespace", "score"),)


_table = HotEntry.__table__
_c = _table.c
_index = HotIndexEntry.__table__
_i = _index.c


def _insert():
    return dialect_insert(_table)


def dialect_insert(table):
    """``INSERT`` with ``ON CONFLICT`` (PostgreSQL's or SQLite's) for ``table`` (a model too)."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"the SQL hot store supports PostgreSQL and SQLite, not {dialect}")


def _this(ns: str, key: str):
    return (_c.namespace == ns) & (_c.key == key)


class SqlHotStore:
    """:class:`~gateway.stores.hot.HotStore` on the ``hot_entries`` table."""

    def put(self, ns: str, key: str, value: Any, ttl: int) -> None:
        expires_at = now() + check_ttl(ttl)
        statement = _insert().values(namespace=ns, key=key, value=encode(value),
                                     expires_at=expires_at)
        statement = statement.on_conflict_do_update(
            index_elements=[_c.namespace, _c.key],
            set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
        )
        with db.engine.begin() as connection:
            connection.execute(statement)

    def get(self, ns: str, key: str) -> Any | None:
        with db.engine.begin() as connection:
            text = connection.scalar(
                select(_c.value).where(_this(ns, key), _c.expires_at > now()))
        return decode(text)

    def add(self, ns: str, key: str, value: Any, ttl: int) -> bool:
        current = now()
        statement = _insert().values(namespace=ns, key=key, value=encode(value),
                                     expires_at=current + check_ttl(ttl))
        # An expired row of the same key is taken over; a live one is left alone.
        statement = statement.on_conflict_do_update(
            index_elements=[_c.namespace, _c.key],
            set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
            where=_c.expires_at <= current,
        ).returning(_c.key)
        with db.engine.begin() as connection:
            return connection.execute(statement).first() is not None

    def pop(self, ns: str, key: str) -> Any | None:
        statement = delete(_table).where(_this(ns, key)).returning(_c.value, _c.expires_at)
        with db.engine.begin() as connection:
            row = connection.execute(statement).first()
        if row is None or row.expires_at <= now():
            return None
        return decode(row.value)

    def replace(self, ns: str, key: str, expected: Any, value: Any) -> bool:
        statement = (update(_table)
                     .where(_this(ns, key), _c.value == encode(expected), _c.expires_at > now())
                     .values(value=encode(value)))
        with db.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def delete(self, ns: str, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(_table).where(_this(ns, key)))

    def incr(self, ns: str, key: str, ttl: int, amount: int = 1) -> int:
        current = now()
        statement = _insert().values(namespace=ns, key=key, value=str(int(amount)),
                                     expires_at=current + check_ttl(ttl))
        expired = _c.expires_at <= current
        statement = statement.on_conflict_do_update(
            index_elements=[_c.namespace, _c.key],
            set_={
                "value": case(
                    (expired, statement.excluded.value),
                    else_=cast(cast(_c.value, Integer) + int(amount), Text),
                ),
                "expires_at": case((expired, statement.excluded.expires_at),
                                   else_=_c.expires_at),
            },
        ).returning(_c.value)
        with db.engine.begin() as connection:
            return int(connection.execute(statement).scalar_one())

    def ttl(self, ns: str, key: str) -> int | None:
        current = now()
        with db.engine.begin() as connection:
            expires_at = connection.scalar(
                select(_c.expires_at).where(_this(ns, key), _c.expires_at > current))
        return None if expires_at is None else expires_at - current

    def purge_expired(self) -> int:
        """The one exception to "own transaction": runs in the caller's session, uncommitted,
        like the other ``prune-records`` steps (which commit, or roll back for ``--dry-run``)."""
        return db.session.execute(delete(_table).where(_c.expires_at <= now())).rowcount

    # -- sorted indexes (table ``hot_index``) ---------------------------------------------------

    def index_set(self, ns: str, member: str, score: int) -> None:
        statement = dialect_insert(_index).values(namespace=ns, member=member, score=int(score))
        statement = statement.on_conflict_do_update(
            index_elements=[_i.namespace, _i.member], set_={"score": statement.excluded.score})
        with db.engine.begin() as connection:
            connection.execute(statement)

    def _scored(self, ns: str, max_score: int | None):
        condition = _i.namespace == ns
        if max_score is not None:
            condition = condition & (_i.score <= int(max_score))
        return condition

    def index_range(self, ns: str, max_score: int | None, limit: int) -> list[tuple[str, int]]:
        query = (select(_i.member, _i.score).where(self._scored(ns, max_score))
                 .order_by(_i.score, _i.member).limit(int(limit)))
        with db.engine.begin() as connection:
            return [(row.member, int(row.score)) for row in connection.execute(query)]

    def index_count(self, ns: str, max_score: int | None = None) -> int:
        query = select(func.count()).select_from(_index).where(self._scored(ns, max_score))
        with db.engine.begin() as connection:
            return int(connection.scalar(query))

    def index_remove(self, ns: str, member: str) -> bool:
        statement = delete(_index).where(_i.namespace == ns, _i.member == member)
        with db.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1
