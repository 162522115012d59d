"""Checking a personal ID number and password, with throttling of repeated failures.

Two limits over ``LOGIN_THROTTLE_WINDOW``: failures per personal ID number (guessing one
person's password) and failures per client address (trying one password on many numbers).
Failures older than the window are purged as new ones are written.
"""

from __future__ import annotations

from flask import current_app, request
from sqlalchemy import delete, func, select

from ..clock import now
from ..extensions import db
from ..identity.services import get_citizen_by_personal_id
from .models import LoginFailure
from .passwords import check_password


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this ID number recently."""


def _window_start() -> int:
    return now() - current_app.config["LOGIN_THROTTLE_WINDOW"]


def _recent_failures(condition) -> int:
    return db.session.scalar(
        select(func.count(LoginFailure.id)).where(
            condition, LoginFailure.failed_at > _window_start()
        )
    )


def _remote_addr() -> str | None:
    return request.remote_addr if request else None


def validate_not_throttled(personal_id: str) -> None:
    config = current_app.config
    by_number = _recent_failures(LoginFailure.personal_id == personal_id)
    if by_number >= config["LOGIN_THROTTLE_ATTEMPTS"]:
        raise TooManyAttempts()
    remote_addr = _remote_addr()
    by_address = _recent_failures(LoginFailure.remote_addr == remote_addr) if remote_addr else 0
    if by_address >= config["LOGIN_THROTTLE_ATTEMPTS_PER_ADDRESS"]:
        raise TooManyAttempts()


def record_failure(personal_id: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= _window_start()))
    db.session.add(
        LoginFailure(personal_id=personal_id, remote_addr=_remote_addr(), failed_at=now())
    )
    db.session.commit()


def delete_old_login_failures() -> int:
    """Failures older than the window, which no limit counts (``prune-records``: the purge on
    write does nothing while nobody fails). Not committed."""
    return db.session.execute(
        delete(LoginFailure).where(LoginFailure.failed_at <= _window_start())
    ).rowcount


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
