"""Password hashing with argon2id at OWASP parameters (m=19 MiB, t=2, p=1)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 8


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    if len(password or "") < MIN_LENGTH:
        raise ValueError(f"password must have at least {MIN_LENGTH} characters")
    return _hasher().hash(password)


# Verified against when the account does not exist, so both paths cost the same time.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$SW/fLPFXcELVIdNcoySifw$"
    "6+oTwGAer1wIR1tbl9Mmwg+Vj0VzrB4TiVSv/XbnHb0"
)


def check_password(password_hash: str | None, password: str) -> bool:
    """Constant-cost check; True when ``password`` matches ``password_hash``."""
    try:
        return _hasher().verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
