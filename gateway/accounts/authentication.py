"""Checking a personal ID number and password, with throttling of repeated failures.

Two limits over ``LOGIN_THROTTLE_WINDOW`` seconds: failures per personal ID number (guessing
one person's password) and failures per client address (trying one password on many numbers).
They are fixed windows of the gateway's Flask-Limiter extension (``gateway.stores.limits``),
counted in the hot store: shared by every node, started by the first failure, gone when the
window ends. The check sits in the middle of a sign-in (the number is the one typed in the form,
only failures count, and the same counters serve the password page, the second-factor page and
the password asked again in "my account"), so it uses the extension's strategy
(``limiter.limiter``): test both limits before the check, count a failure in both, and a
successful sign-in clears that number's count (not the address's). The number is in the
counter's key only as a keyed digest.
"""

from __future__ import annotations

from flask import current_app, request

from ..identity.services import get_citizen_by_personal_id
from ..stores.limits import client_address, key_digest, limit, limiter
from .passwords import check_password


class TooManyAttempts(Exception):
    """Too many failed sign-ins for this ID number recently."""


def _remote_addr() -> str | None:
    return client_address() if request else None


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
    for item, identifiers in _limits(personal_id):
        if not limiter.limiter.test(item, *identifiers):
            raise TooManyAttempts()


def record_failure(personal_id: str) -> None:
    for item, identifiers in _limits(personal_id):
        limiter.limiter.hit(item, *identifiers)


def clear_failures(personal_id: str) -> None:
    item, identifiers = _limits(personal_id)[0]
    limiter.limiter.clear(item, *identifiers)


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
