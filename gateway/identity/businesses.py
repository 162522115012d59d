"""Businesses and the people who act for them (docs/domain.md §2, issue 4 §4 and §6).

Only a person with a level-2 identity registers a business (becoming its legal representative)
or acts for one; a legal representative or head grants and revokes authorised persons, each
until a given date. Every function validates and raises ``BusinessError`` with a message for
people; the caller commits.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..clock import now
from ..extensions import db
from .models import MANAGING_ROLES, Business, Citizen, Representation
from .services import get_citizen_by_personal_id, local_today
from .tax_code import InvalidTaxCode, validate_tax_code
from .units import InvalidUnit, validate_unit

#: Roles a legal representative (both) or head (``authorised`` only) gives on the business page.
GRANTABLE_ROLES = ("authorised", "head")


class BusinessError(ValueError):
    """A refused change; ``message`` is shown to the person, ``status`` is the HTTP status."""

    def __init__(self, message, status: int = 400):
        super().__init__(str(message))
        self.message = message
        self.status = status


def validate_level_2(citizen: Citizen) -> None:
    if citizen.assurance_level < 2:
        raise BusinessError(_l("Only a level 2 electronic identity (verified in person at the "
                               "commune) can act for a business."), 403)


def get_business_by_tax_code(tax_code: str) -> Business | None:
    try:
        tax_code = validate_tax_code(tax_code)
    except InvalidTaxCode:
        return None
    return db.session.scalar(select(Business).where(Business.tax_code == tax_code))


def create_business(citizen: Citizen, *, tax_code: str, name: str,
                    ward_code: str | None = None) -> Business:
    """Register a business; ``citizen`` becomes its legal representative from today."""
    validate_level_2(citizen)
    try:
        tax_code = validate_tax_code(tax_code)
    except InvalidTaxCode as exc:
        raise BusinessError(_l("This is not a valid tax code: 10 digits (the last one a check "
                               "digit), or 13 for a branch (0314409058-002).")) from exc
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise BusinessError(_l("Enter the business name (at most 200 characters)."))
    if ward_code:
        try:
            validate_unit("commune", ward_code)
        except InvalidUnit as exc:
            raise BusinessError(_l("Choose a commune or ward of Vinh Long.")) from exc
    if db.session.scalar(select(Business.id).where(Business.tax_code == tax_code)):
        raise BusinessError(_l("A business with this tax code is already registered."), 409)
    business = Business(tax_code=tax_code, name=name, ward_code=ward_code or None,
                        created_by_id=citizen.id, created_at=now())
    db.session.add(business)
    db.session.flush()
    db.session.add(Representation(citizen_id=citizen.id, business_id=business.id,
                                  role="legal_representative", valid_from=local_today(),
                                  granted_by_id=citizen.id, granted_at=now()))
    return business


def get_valid_representations(citizen: Citizen) -> list[Representation]:
    """The representations ``citizen`` may act under today (none below level 2)."""
    if citizen is None or citizen.assurance_level < 2:
        return []
    today = local_today()
    rows = db.session.scalars(
        select(Representation).where(Representation.citizen_id == citizen.id,
                                     Representation.revoked_at.is_(None))
    ).all()
    return sorted((r for r in rows if r.check_valid(today)),
                  key=lambda r: (r.business.name, r.id))


def get_valid_representation(representation_id, citizen: Citizen) -> Representation | None:
    """The representation with this id if it is ``citizen``'s and valid today, else None."""
    try:
        representation_id = int(representation_id)
    except (TypeError, ValueError):
        return None
    for representation in get_valid_representations(citizen):
        if representation.id == representation_id:
            return representation
    return None


def get_managed_representation(citizen: Citizen, business: Business) -> Representation | None:
    """``citizen``'s valid legal-representative or head role for ``business``, if any."""
    for representation in get_valid_representations(citizen):
        if representation.business_id == business.id and representation.role in MANAGING_ROLES:
            return representation
    return None


def list_representations(business: Business) -> list[Representation]:
    return list(db.session.scalars(
        select(Representation).where(Representation.business_id == business.id)
        .order_by(Representation.id)
    ))


def grant_authorisation(manager: Citizen, business: Business, *, personal_id: str,
                        valid_until: date | None, role: str = "authorised") -> Representation:
    """``manager`` (legal representative or head) authorises a person until ``valid_until``;
    only the legal representative appoints the head (``role="head"``; the end date optional)."""
    managed = get_managed_representation(manager, business)
    if managed is None:
        raise BusinessError(_l("Only the legal representative or the head of this business can "
                               "authorise people."), 403)
    if role not in GRANTABLE_ROLES:
        raise BusinessError(_l("This role cannot be given here."))
    if role == "head" and managed.role != "legal_representative":
        raise BusinessError(_l("Only the legal representative can appoint or remove the head."),
                            403)
    person = get_citizen_by_personal_id((personal_id or "").strip())
    if person is None:
        raise BusinessError(_l("No electronic identity has this personal ID number."), 404)
    if (valid_until is None and role != "head") or (valid_until and valid_until < local_today()):
        raise BusinessError(_l("Choose an end date for the authorisation, today or later."))
    if person.assurance_level < 2:
        raise BusinessError(_l("This person's electronic identity is level 1: they must be "
                               "verified in person at their commune before they can be "
                               "authorised."))
    for existing in get_valid_representations(person):
        if existing.business_id == business.id:
            raise BusinessError(_l("This person can already act for this business."), 409)
    representation = Representation(
        citizen_id=person.id, business_id=business.id, role=role,
        valid_from=local_today(), valid_until=valid_until, granted_by_id=manager.id,
        granted_at=now())
    db.session.add(representation)
    return representation


def revoke_authorisation(manager: Citizen, business: Business, representation_id) -> None:
    """End an authorised person's or the head's role now (only the legal representative removes
    the head; a legal representative is changed elsewhere)."""
    managed = get_managed_representation(manager, business)
    if managed is None:
        raise BusinessError(_l("Only the legal representative or the head of this business can "
                               "revoke authorisations."), 403)
    try:
        number = int(representation_id)
    except (TypeError, ValueError):
        number = 0
    # Beyond a 32-bit key no row exists (and PostgreSQL would refuse the query itself).
    representation = db.session.get(Representation, number) if 0 < number < 2**31 else None
    if (representation is None or representation.business_id != business.id
            or representation.role not in GRANTABLE_ROLES
            or representation.revoked_at is not None):
        raise BusinessError(_l("There is no such authorisation to revoke."), 404)
    if representation.role == "head" and managed.role != "legal_representative":
        raise BusinessError(_l("Only the legal representative can appoint or remove the head."),
                            403)
    representation.revoked_at = now()
    representation.revoked_by_id = manager.id


def get_represents_claims(representation: Representation) -> dict:
    """What a client learns about the business a person acts for (issue 4 §6)."""
    return {"tax_code": representation.business.tax_code,
            "name": representation.business.name,
            "role": representation.role}
