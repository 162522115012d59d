"""QR cross-device sign-in codes in the hot store (``qr_login.py`` owns the rules).

Each code shown on a desktop sign-in page is a :class:`QrSignIn` in the hot store (namespace
``qr_sign_ins``, key the SHA-256 digest of the code: the code itself is never stored), living
its ``QR_LOGIN_LIFETIME`` plus :data:`KEPT_AFTER_EXPIRY`, so a late scan still reads "expired"
or "used" rather than "unknown". The page's newest code is named per pending request
(``qr_current``, key the request's ``uid``), for as long as a pending request lives.

Every status change (pending → scanned → approved/denied → consumed, or cancelled by a newer
code) is the hot store's compare-and-set ``replace`` over the record as read: of two requests
racing on one code exactly one wins, on SQL and on Redis, and the change is durable at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flask import current_app

from ..clock import now
from ..oidc.models import digest
from ..stores.hot import get_hot_store

QR_LIVE = ("pending", "scanned")
RECORDS = "qr_sign_ins"
CURRENT = "qr_current"
#: Seconds a code's record is kept after it expires (longer than ``COMPLETION_GRACE``).
KEPT_AFTER_EXPIRY = 120


@dataclass
class QrSignIn:
    """One QR code offered on a desktop sign-in page, bound to a pending request and the
    browser showing it."""

    code_digest: str
    pending_uid: str
    browser_digest: str
    client_id: str
    created_at: int
    expires_at: int
    status: str = "pending"
    ip_address: str | None = None
    user_agent: str | None = None
    #: The phone's SSO session (``sid``) that scanned the code; only it may decide.
    phone_sid: str | None = None
    #: Who approved or refused, with the phone session's level and methods at that moment.
    citizen_id: int | None = None
    phone_acr: str | None = None
    phone_amr: list | None = None
    decided_at: int | None = None
    consumed_at: int | None = None


def _read(code_digest: str) -> QrSignIn | None:
    value = get_hot_store().get(RECORDS, code_digest)
    return QrSignIn(**value) if isinstance(value, dict) else None


def _change(record: QrSignIn, expected: tuple[str, ...], **values) -> bool:
    """Compare-and-set from ``record`` as read (in one of the ``expected`` statuses) to it with
    ``values``; on success ``record`` is updated in place."""
    if record.status not in expected:
        return False
    changed = dataclasses.replace(record, **values)
    if not get_hot_store().replace(RECORDS, record.code_digest, dataclasses.asdict(record),
                                   dataclasses.asdict(changed)):
        return False
    for name, value in values.items():
        setattr(record, name, value)
    return True


def create_qr_login(*, code: str, pending_uid: str, browser_id: str, client_id: str,
                    ip_address: str | None, user_agent: str | None, lifetime: int) -> QrSignIn:
    """Store a new code for this browser's pending request; it becomes the page's current
    code and the previous one, if still open, is cancelled."""
    created = now()
    record = QrSignIn(
        code_digest=digest(code), pending_uid=pending_uid, browser_digest=digest(browser_id),
        client_id=client_id, ip_address=ip_address, user_agent=(user_agent or "")[:300] or None,
        created_at=created, expires_at=created + lifetime,
    )
    store = get_hot_store()
    store.put(RECORDS, record.code_digest, dataclasses.asdict(record),
              lifetime + KEPT_AFTER_EXPIRY)
    previous = store.get(CURRENT, pending_uid)
    store.put(CURRENT, pending_uid, {"code_digest": record.code_digest,
                                     "browser_digest": record.browser_digest},
              current_app.config["INTERACTION_LIFETIME"])
    if isinstance(previous, dict):
        _cancel(previous["code_digest"])
    return record


def _cancel(code_digest: str) -> None:
    """Cancel a code no longer on its page; a few tries against a racing scan or decision."""
    for _ in range(3):
        old = _read(code_digest)
        if old is None or _change(old, QR_LIVE + ("approved",), status="cancelled") \
                or old.status not in QR_LIVE + ("approved",):
            return


def get_qr_login(code: str | None) -> QrSignIn | None:
    """The record for a code read from a QR (any status), or None."""
    if not code or not isinstance(code, str) or len(code) > 64:
        return None
    return _read(digest(code))


def get_current_qr_login(pending_uid: str, browser_id: str) -> QrSignIn | None:
    """The newest code shown for ``pending_uid`` on this browser, or None (another browser)."""
    current = get_hot_store().get(CURRENT, pending_uid)
    if not isinstance(current, dict) or current.get("browser_digest") != digest(browser_id):
        return None
    return _read(current["code_digest"])


def mark_qr_login_scanned(record: QrSignIn, *, phone_sid: str) -> bool:
    """pending → scanned by this phone session (before expiry); False if someone else won."""
    if now() >= record.expires_at:
        return False
    return _change(record, ("pending",), status="scanned", phone_sid=phone_sid)


def decide_qr_login(record: QrSignIn, *, phone_sid: str, citizen_id: int, approve: bool,
                    acr: str, amr: list[str]) -> bool:
    """scanned → approved/denied, only by the phone session that scanned it, before expiry."""
    if now() >= record.expires_at or record.phone_sid != phone_sid:
        return False
    return _change(record, ("scanned",), status="approved" if approve else "denied",
                   citizen_id=citizen_id, phone_acr=acr, phone_amr=list(amr),
                   decided_at=now())


def consume_qr_login(record: QrSignIn) -> bool:
    """approved → consumed, durable at once: the desktop's SSO session starts only after this
    call won, so a code never signs in twice (if starting it then fails, the person scans a
    new code)."""
    return _change(record, ("approved",), status="consumed", consumed_at=now())
