"""Time-based one-time passwords (RFC 6238, via pyotp) and recovery codes.

A code is accepted once: the time step it was used in is remembered, so a code seen over a
shoulder cannot be replayed in the same 30 s window. Recovery codes are random (80 bits), shown
once, stored as SHA-256 digests and single-use.
"""

from __future__ import annotations

import base64
import io
import re
import secrets

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import select

from ..clock import now
from ..extensions import db
from ..oidc.models import digest
from .models import RecoveryCode, TotpCredential

ISSUER_NAME = "Định danh điện tử Vĩnh Long"
RECOVERY_CODE_COUNT = 10
_RECOVERY_PATTERN = re.compile(r"^[A-Z2-7]{4}(-?[A-Z2-7]{4}){3}$")


def create_secret() -> str:
    return pyotp.random_base32()


def get_provisioning_uri(secret: str, account_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER_NAME)


def create_qr_data_uri(text: str) -> str:
    """An SVG QR code as a ``data:`` URI (the pages' CSP allows ``img-src data:``)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def check_code(secret: str, code: str, last_step: int | None = None) -> int | None:
    """The time step ``code`` is valid for (±1 step of drift), or None; refuses ``last_step``."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = now() // totp.interval
    for step in (current, current - 1, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def get_credential(citizen_id: int) -> TotpCredential | None:
    return db.session.scalar(select(TotpCredential).where(TotpCredential.citizen_id == citizen_id))


def has_second_factor(citizen_id: int) -> bool:
    return get_credential(citizen_id) is not None


def enrol(citizen_id: int, secret: str, code: str) -> list[str] | None:
    """Confirm a new authenticator with a first code; returns fresh recovery codes, or None."""
    step = check_code(secret, code)
    if step is None:
        return None
    credential = get_credential(citizen_id)
    if credential is None:
        credential = TotpCredential(citizen_id=citizen_id)
        db.session.add(credential)
    credential.secret = secret
    credential.last_step = step
    credential.created_at = now()
    codes = _replace_recovery_codes(citizen_id)
    db.session.commit()
    return codes


def _replace_recovery_codes(citizen_id: int) -> list[str]:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.citizen_id == citizen_id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
        code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
        codes.append(code)
        db.session.add(RecoveryCode(citizen_id=citizen_id, code_digest=digest(code)))
    return codes


def count_recovery_codes_left(citizen_id: int) -> int:
    return db.session.scalar(
        select(db.func.count(RecoveryCode.id))
        .where(RecoveryCode.citizen_id == citizen_id, RecoveryCode.used_at.is_(None))
    )


def verify_second_factor(citizen_id: int, code: str) -> bool:
    """Check a TOTP code (once per time step) or an unused recovery code. Commits."""
    credential = get_credential(citizen_id)
    if credential is None:
        return False
    step = check_code(credential.secret, code, credential.last_step)
    if step is not None:
        credential.last_step = step
        db.session.commit()
        return True
    normalised = (code or "").strip().upper().replace(" ", "")
    if _RECOVERY_PATTERN.match(normalised):
        if "-" not in normalised:
            normalised = "-".join(normalised[i:i + 4] for i in range(0, 16, 4))
        recovery = db.session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.citizen_id == citizen_id,
                RecoveryCode.code_digest == digest(normalised),
                RecoveryCode.used_at.is_(None),
            )
        )
        if recovery is not None:
            recovery.used_at = now()
            db.session.commit()
            return True
    return False


def remove(citizen_id: int) -> None:
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.citizen_id == citizen_id))
    db.session.execute(db.delete(TotpCredential).where(TotpCredential.citizen_id == citizen_id))
    db.session.commit()
