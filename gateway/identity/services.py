"""Creating and finding citizens."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from ..clock import now
from ..extensions import db
from .models import Citizen
from .personal_id import validate_personal_id
from .units import validate_unit

#: Vietnam's time zone (UTC+7, no daylight saving): dates of birth and validity are local dates.
VIETNAM = timezone(timedelta(hours=7), "ICT")


def local_today() -> date:
    """Today in Vietnam, from the application's clock."""
    return datetime.fromtimestamp(now(), VIETNAM).date()


def get_age(birthdate: date, on: date) -> int:
    """Completed years of age on ``on``."""
    return on.year - birthdate.year - ((on.month, on.day) < (birthdate.month, birthdate.day))


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
    password_hash: str | None,
    middle_name: str = "",
    **details,
) -> Citizen:
    """Validate and add a citizen (the caller commits). Raises ``ValueError`` subclasses.

    ``password_hash`` is already hashed (``accounts.passwords.hash_password``), or None for an
    account nobody can sign in to with a password yet: identity stores people, it does not
    know how passwords are hashed."""
    if gender not in ("male", "female"):
        raise ValueError("gender must be 'male' or 'female'")
    personal_id = validate_personal_id(personal_id, birthdate, gender)
    if details.get("ward_code"):
        details["ward_code"] = validate_unit("commune", details["ward_code"]).code
    if get_citizen_by_personal_id(personal_id) is not None:
        raise DuplicateCitizen("a citizen with this personal ID number already exists")
    citizen = Citizen(
        personal_id=personal_id,
        family_name=family_name.strip(),
        middle_name=middle_name.strip(),
        given_name=given_name.strip(),
        birthdate=birthdate,
        gender=gender,
        password_hash=password_hash,
        **details,
    )
    db.session.add(citizen)
    return citizen


def update_contact_details(citizen: Citizen, *, email: str | None,
                           phone_number: str | None) -> None:
    """The person's own email and phone; a changed one is no longer verified. The caller
    commits."""
    if email != citizen.email:
        citizen.email, citizen.email_verified = email, False
    if phone_number != citizen.phone_number:
        citizen.phone_number, citizen.phone_number_verified = phone_number, False
