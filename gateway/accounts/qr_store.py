"""Storage of QR cross-device sign-in codes (``qr_login.py`` owns the rules).

Hot state like authorization codes: each row is one QR code shown on a desktop sign-in page.
Only the code's digest is stored; status changes are compare-and-set updates, so two requests
racing on one code cannot both win.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..clock import now
from ..extensions import db
from ..oidc.models import digest
from .models import QrLogin

QR_LIVE = ("pending", "scanned")


def create_qr_login(*, code: str, pending_uid: str, browser_id: str, client_id: str,
                    ip_address: str | None, user_agent: str | None, lifetime: int):
    """Store a new code for this browser's pending request; older live codes for the same
    request are cancelled, so only the newest code on the page can be scanned."""
    created = now()
    db.session.execute(
        update(QrLogin)
        .where(QrLogin.pending_uid == pending_uid, QrLogin.status.in_(QR_LIVE + ("approved",)))
        .values(status="cancelled")
    )
    record = QrLogin(
        code_digest=digest(code), pending_uid=pending_uid, browser_digest=digest(browser_id),
        client_id=client_id, ip_address=ip_address, user_agent=(user_agent or "")[:300] or None,
        status="pending", created_at=created, expires_at=created + lifetime,
    )
    db.session.add(record)
    db.session.commit()
    return record


def count_qr_logins_created(*, since: int, browser_id: str | None = None,
                            ip_address: str | None = None) -> int:
    query = select(func.count(QrLogin.id)).where(QrLogin.created_at > since)
    if browser_id is not None:
        query = query.where(QrLogin.browser_digest == digest(browser_id))
    if ip_address is not None:
        query = query.where(QrLogin.ip_address == ip_address)
    return db.session.scalar(query)


def count_qr_decisions(*, citizen_id: int, since: int) -> int:
    """Approvals and refusals a person made from their phone since ``since``."""
    return db.session.scalar(
        select(func.count(QrLogin.id)).where(
            QrLogin.citizen_id == citizen_id, QrLogin.decided_at > since
        )
    )


def get_qr_login(code: str | None):
    """The record for a code read from a QR (any status), or None."""
    if not code or len(code) > 64:
        return None
    return db.session.scalar(select(QrLogin).where(QrLogin.code_digest == digest(code)))


def get_current_qr_login(pending_uid: str, browser_id: str):
    """The newest code shown for ``pending_uid`` on this browser, or None (another browser)."""
    return db.session.scalar(
        select(QrLogin)
        .where(QrLogin.pending_uid == pending_uid,
               QrLogin.browser_digest == digest(browser_id))
        .order_by(QrLogin.id.desc())
        .limit(1)
    )


def _set_qr_status(record, expected: tuple[str, ...], values: dict, *, commit: bool = True,
                   not_after: int | None = None, phone_sid: str | None = None) -> bool:
    query = update(QrLogin).where(QrLogin.id == record.id, QrLogin.status.in_(expected))
    if not_after is not None:
        query = query.where(QrLogin.expires_at > not_after)
    if phone_sid is not None:
        query = query.where(QrLogin.phone_sid == phone_sid)
    won = db.session.execute(query.values(**values)).rowcount == 1
    if commit:
        db.session.commit()
    if won:
        db.session.refresh(record)
    return won


def mark_qr_login_scanned(record, *, phone_sid: str) -> bool:
    """pending → scanned by this phone session (before expiry); False if someone else won."""
    return _set_qr_status(record, ("pending",), {"status": "scanned", "phone_sid": phone_sid},
                          not_after=now())


def decide_qr_login(record, *, phone_sid: str, citizen_id: int, approve: bool, acr: str,
                    amr: list[str]) -> bool:
    """scanned → approved/denied, only by the phone session that scanned it, before expiry."""
    values = {"status": "approved" if approve else "denied", "citizen_id": citizen_id,
              "phone_acr": acr, "phone_amr": list(amr), "decided_at": now()}
    return _set_qr_status(record, ("scanned",), values, not_after=now(), phone_sid=phone_sid)


def consume_qr_login(record) -> bool:
    """approved → consumed, not committed: the caller commits it with the new SSO session, so
    either both are written or neither is."""
    return _set_qr_status(record, ("approved",), {"status": "consumed", "consumed_at": now()},
                          commit=False)


def delete_expired_qr_logins() -> int:
    """QR sign-in codes expired for longer than ``QR_LOGIN_RATE_WINDOW``: the rate limits count
    the codes created, and the decisions made, within that window."""
    cutoff = now() - current_app.config["QR_LOGIN_RATE_WINDOW"]
    return db.session.execute(
        delete(QrLogin).where(QrLogin.expires_at <= cutoff, QrLogin.created_at <= cutoff,
                              (QrLogin.decided_at.is_(None)) | (QrLogin.decided_at <= cutoff))
    ).rowcount
