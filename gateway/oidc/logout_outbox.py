"""The logout outbox: back-channel logout deliveries waiting to be posted (OpenID Connect
Back-Channel Logout 1.0 §2.5), their attempts and outcomes.

A delivery is queued in the same transaction as the end of the session it announces
(``add_logout_delivery`` does not commit), then posted inline once and by any number of
``deliver-logouts`` workers on any node: a worker first claims a due delivery
(``claim_logout_delivery``, compare-and-set), so no delivery is posted twice at once.
Deliveries keep the logout token's claims, not the token (each attempt signs a fresh one).
``logout.py`` owns the rules; this module only reads and writes the queue, in
:class:`Delivery` values, and commits nothing: the caller does (the claim, before posting, so
that it holds while the attempt runs; the outcome after it).
tests/oidc/test_logout_outbox.py is the contract (SQLite and PostgreSQL).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..clock import now
from ..extensions import db
from .models import LogoutDelivery


@dataclass
class Delivery:
    """One back-channel logout to deliver to one client, as queued."""

    id: int
    client_id: str
    uri: str
    sid: str | None
    #: The logout token's subject claims (``aud``, ``sub``, ``sid``) and ``reason``.
    claims: dict
    status: str
    attempts: int
    created_at: int
    next_attempt_at: int | None = None
    last_attempt_at: int | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: int | None = None
    history: list = field(default_factory=list)


_FIELDS = [f.name for f in dataclasses.fields(Delivery)]


def _values(rows) -> list[Delivery]:
    return [Delivery(**{name: getattr(row, name) for name in _FIELDS}) for row in rows]


def add_logout_delivery(*, client_id: str, uri: str, sid: str | None, claims: dict) -> None:
    """Queue one back-channel logout, due now. Not committed: the caller commits the batch
    together with the end of the session."""
    current = now()
    db.session.add(LogoutDelivery(client_id=client_id, uri=uri, sid=sid, claims=claims,
                                  status="pending", attempts=0, created_at=current,
                                  next_attempt_at=current, history=[]))


def get_due_logout_deliveries(limit: int = 100, ids: list[int] | None = None) -> list[Delivery]:
    """Pending deliveries whose next attempt is due, oldest first."""
    query = (select(LogoutDelivery)
             .where(LogoutDelivery.status == "pending", LogoutDelivery.next_attempt_at <= now())
             .order_by(LogoutDelivery.next_attempt_at, LogoutDelivery.id).limit(limit))
    if ids is not None:
        query = query.where(LogoutDelivery.id.in_(ids))
    return _values(db.session.scalars(query))


def get_logout_deliveries_for_session(sid: str) -> list[Delivery]:
    return _values(db.session.scalars(
        select(LogoutDelivery).where(LogoutDelivery.sid == sid).order_by(LogoutDelivery.id)
    ))


def claim_logout_delivery(delivery: Delivery, lease: int) -> bool:
    """Take a due delivery for one attempt (compare-and-set on the row as it is now: still
    pending and still due), so the inline attempt at logout and a worker, or two workers, never
    post the same one at once. Holding it pushes ``next_attempt_at`` by ``lease`` seconds, in
    case the attempt dies. The caller commits the claim before posting."""
    current = now()
    result = db.session.execute(
        update(LogoutDelivery)
        .where(LogoutDelivery.id == delivery.id, LogoutDelivery.status == "pending",
               LogoutDelivery.next_attempt_at <= current)
        .values(next_attempt_at=current + lease)
    )
    if result.rowcount != 1:
        return False
    delivery.next_attempt_at = current + lease
    return True


def record_logout_attempt(delivery: Delivery, *, status_code: int | None,
                          error: str | None, delivered: bool,
                          next_attempt_at: int | None) -> None:
    """Record one attempt's outcome (``delivery`` is updated too); ``next_attempt_at`` None
    (and not delivered) = failed. Not committed."""
    current = now()
    delivery.attempts += 1
    delivery.last_attempt_at = current
    delivery.last_status_code = status_code
    delivery.last_error = error[:300] if error else None
    delivery.history = [*(delivery.history or []),
                        {"at": current, "status_code": status_code, "error": error}]
    if delivered:
        delivery.status = "delivered"
        delivery.delivered_at = current
        delivery.next_attempt_at = None
    elif next_attempt_at is None:
        delivery.status = "failed"
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = next_attempt_at
    db.session.execute(
        update(LogoutDelivery).where(LogoutDelivery.id == delivery.id).values(
            attempts=delivery.attempts, last_attempt_at=delivery.last_attempt_at,
            last_status_code=delivery.last_status_code, last_error=delivery.last_error,
            history=delivery.history, status=delivery.status,
            delivered_at=delivery.delivered_at, next_attempt_at=delivery.next_attempt_at)
    )


def list_logout_deliveries(status: str | None = None, limit: int = 50) -> list[Delivery]:
    """The newest deliveries first, optionally of one status."""
    query = select(LogoutDelivery).order_by(LogoutDelivery.id.desc()).limit(limit)
    if status:
        query = query.where(LogoutDelivery.status == status)
    return _values(db.session.scalars(query))


def count_logout_deliveries() -> dict[str, int]:
    rows = db.session.execute(
        select(LogoutDelivery.status, func.count(LogoutDelivery.id)).group_by(LogoutDelivery.status)
    )
    return {status: count for status, count in rows}


def delete_old_logout_deliveries() -> int:
    """Deliveries ``delivered`` or ``failed`` more than ``RECORD_RETENTION_DAYS`` ago; never a
    ``pending`` one, however old."""
    finished = func.coalesce(LogoutDelivery.delivered_at, LogoutDelivery.last_attempt_at,
                             LogoutDelivery.created_at)
    cutoff = now() - current_app.config["RECORD_RETENTION_DAYS"] * 86400
    return db.session.execute(
        delete(LogoutDelivery).where(LogoutDelivery.status.in_(("delivered", "failed")),
                                     finished <= cutoff)
    ).rowcount
