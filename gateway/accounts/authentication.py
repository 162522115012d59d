"""Checking a personal ID number and password, with throttling of repeated failures.

Two limits over ``LOGIN_THROTTLE_WINDOW`` seconds: failures per personal ID number (guessing
one person's password) and failures per client address (trying one password on many numbers).
They are ``limits`` fixed windows counted in the hot store (``gateway.stores.limits``): shared
by every node, started by the first failure, gone when the window ends. The number is in the
counter's key only as a keyed digest; a successful sign-in clears that number's count (not the
address's).
"""

from __future__ import annotations

from flask import current_app, request

from ..identity.services import get_citizen_by_personal_id
from ..stores.limits import get_rate_limiter, key_digest, limit
from .passwords import check_password


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this ID number recently."""


def _remote_addr() -> str | None:
    return request.remote_addr if request else None


def _limits(personal_id: str):
    """``(limit, identifiers)`` of each throttle that applies to this attempt."""
    config = current_app.config
    window = config["LOGIN_THROTTLE_WINDOW"]
    found = [(limit(config["LOGIN_THROTTLE_ATTEMPTS"], window),
              ("login-failures-id", key_digest(personal_id)))]
    remote_addr = _remote_addr()
    if remote_addr:
        found.append((limit(config["LOGIN_THROTTLE_ATTEMPTS_PER_ADDRESS"], window),
                      ("login-failures-address", remote_addr)))
    return found


def validate_not_throttled(personal_id: str) -> None:
    limiter = get_rate_limiter()
    for item, identifiers in _limits(personal_id):
        if not limiter.test(item, *identifiers):
            raise TooManyAttempts()


def record_failure(personal_id: str) -> None:
    limiter = get_rate_limiter()
    for item, identifiers in _limits(personal_id):
        limiter.hit(item, *identifiers)


def clear_failures(personal_id: str) -> None:
    item, identifiers = _limits(personal_id)[0]
    get_rate_limiter().clear(item, *identifiers)


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
