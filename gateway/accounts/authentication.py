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


def authenticate(personal_id: str, password: str):
    """The citizen for these credentials, or None. Raises ``TooManyAttempts`` when throttled."""
    if _recent_failures(personal_id) >= current_app.config["LOGIN_THROTTLE_ATTEMPTS"]:
        raise TooManyAttempts()
    citizen = get_citizen_by_personal_id(personal_id)
    if check_password(citizen.password_hash if citizen else None, password):
        db.session.execute(delete(LoginFailure).where(LoginFailure.personal_id == personal_id))
        db.session.commit()
        return citizen
    db.session.add(LoginFailure(personal_id=personal_id, failed_at=now()))
    db.session.commit()
    return None
