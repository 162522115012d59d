"""The logout outbox: back-channel logout deliveries waiting to be posted (OpenID Connect
Back-Channel Logout 1.0 §2.5), their attempts and outcomes.

A delivery is queued in the same transaction as the end of the session it announces
(``add_logout_delivery`` does not commit), then posted inline once and by any number of
``deliver-logouts`` workers on any node: a worker first claims a due delivery
(``claim_logout_delivery``, compare-and-set), so no delivery is posted twice at once.
Deliveries keep the logout token's claims, not the token (each attempt signs a fresh one).
``logout.py`` owns the rules; this module only reads and writes the queue.
tests/oidc/test_logout_outbox.py is the contract (SQLite and PostgreSQL).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..clock import now
from ..extensions import db
from .models import LogoutDelivery


def add_logout_delivery(*, client_id: str, uri: str, sid: str | None, claims: dict) -> None:
    """Queue one back-channel logout, due now. Not committed: the caller commits the batch
    together with the end of the session."""
    current = now()
    db.session.add(LogoutDelivery(client_id=client_id, uri=uri, sid=sid, claims=claims,
                                  status="pending", attempts=0, created_at=current,
                                  next_attempt_at=current, history=[]))


def get_due_logout_deliveries(limit: int = 100, ids: list[int] | None = None):
    """Pending deliveries whose next attempt is due, oldest first."""
    query = (select(LogoutDelivery)
             .where(LogoutDelivery.status == "pending", LogoutDelivery.next_attempt_at <= now())
             .order_by(LogoutDelivery.next_attempt_at, LogoutDelivery.id).limit(limit))
    if ids is not None:
        query = query.where(LogoutDelivery.id.in_(ids))
    return list(db.session.scalars(query))


def get_logout_deliveries_for_session(sid: str) -> list[LogoutDelivery]:
    return list(db.session.scalars(
        select(LogoutDelivery).where(LogoutDelivery.sid == sid).order_by(LogoutDelivery.id)
    ))


def claim_logout_delivery(delivery: LogoutDelivery, lease: int) -> bool:
    """Take a due delivery for one attempt (compare-and-set: still pending and still due), so
    the inline attempt at logout and a worker, or two workers, never post the same one at once.
    Holding it pushes ``next_attempt_at`` by ``lease`` seconds, in case the attempt dies.

    The condition is on the row as it is now, not on ``delivery``'s attributes: after any
    commit those reload, and would show another worker's claim as the value to compare with."""
    current = now()
    result = db.session.execute(
        update(LogoutDelivery)
        .where(LogoutDelivery.id == delivery.id, LogoutDelivery.status == "pending",
               LogoutDelivery.next_attempt_at <= current)
        .values(next_attempt_at=current + lease)
    )
    db.session.commit()
    if result.rowcount != 1:
        return False
    db.session.refresh(delivery)
    return True


def record_logout_attempt(delivery: LogoutDelivery, *, status_code: int | None,
                          error: str | None, delivered: bool,
                          next_attempt_at: int | None) -> None:
    """Record one attempt's outcome; ``next_attempt_at`` None (and not delivered) = failed."""
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
    db.session.commit()


def list_logout_deliveries(status: str | None = None, limit: int = 50) -> list[LogoutDelivery]:
    """The newest deliveries first, optionally of one status."""
    query = select(LogoutDelivery).order_by(LogoutDelivery.id.desc()).limit(limit)
    if status:
        query = query.where(LogoutDelivery.status == status)
    return list(db.session.scalars(query))


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
