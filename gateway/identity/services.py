"""Creating and finding citizens."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..accounts.passwords import hash_password
from ..extensions import db
from .models import Citizen
from .personal_id import validate_personal_id


class DuplicateCitizen(ValueError):
    """A citizen with this personal ID number already exists."""


def get_citizen_by_personal_id(personal_id: str) -> Citizen | None:
    return db.session.scalar(select(Citizen).where(Citizen.personal_id == personal_id))


def create_citizen(
    *,
    personal_id: str,
    family_name: str,
    given_name: str,
    birthdate: date,
    gender: str,
    password: str,
    middle_name: str = "",
    **details,
) -> Citizen:
    """Validate and add a citizen (the caller commits). Raises ``ValueError`` subclasses."""
    if gender not in ("male", "female"):
        raise ValueError("gender must be 'male' or 'female'")
    personal_id = validate_personal_id(personal_id, birthdate, gender)
    if get_citizen_by_personal_id(personal_id) is not None:
        raise DuplicateCitizen("a citizen with this personal ID number already exists")
    citizen = Citizen(
        personal_id=personal_id,
        family_name=family_name.strip(),
        middle_name=middle_name.strip(),
        given_name=given_name.strip(),
        birthdate=birthdate,
        gender=gender,
        password_hash=hash_password(password),
        **details,
    )
    db.session.add(citizen)
    return citizen
