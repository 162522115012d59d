"""Checking a personal ID number and password, with throttling of repeated failures."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, func, select

from ..clock import now
from ..extensions import db
from ..identity.services import get_citizen_by_personal_id
from .models import LoginFailure
from .passwords import check_password


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this ID number recently."""


def _recent_failures(personal_id: str) -> int:
    since = now() - current_app.config["LOGIN_THROTTLE_WINDOW"]
    return db.session.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.personal_id == personal_id, LoginFailure.failed_at > since
        )
    )


def validate_not_throttled(personal_id: str) -> None:
    if _recent_failures(personal_id) >= current_app.config["LOGIN_THROTTLE_ATTEMPTS"]:
        raise TooManyAttempts()


def record_failure(personal_id: str) -> None:
    db.session.add(LoginFailure(personal_id=personal_id, failed_at=now()))
    db.session.commit()


def clear_failures(personal_id: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.personal_id == personal_id))
    db.session.commit()


def authenticate(personal_id: str, password: str):
    """The citizen for these credentials, or None. Raises ``TooManyAttempts`` when throttled."""
    validate_not_throttled(personal_id)
    citizen = get_citizen_by_personal_id(personal_id)
    if check_password(citizen.password_hash if citizen else None, password):
        clear_failures(personal_id)
        return citizen
    record_failure(personal_id)
    return None


def check_second_factor(citizen, code: str) -> bool:
    """A TOTP or recovery code for ``citizen``, throttled like passwords."""
    from .totp import verify_second_factor

    validate_not_throttled(citizen.personal_id)
    if verify_second_factor(citizen.id, code):
        clear_failures(citizen.personal_id)
        return True
    record_failure(citizen.personal_id)
    return False
