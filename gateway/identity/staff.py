"""Staff roles and in-person verification (docs/domain.md §2: level 2 is given in person).

A commune officer verifies residents of their own commune only (either structure of
administrative units, ``units.check_same_commune``); an administrator may verify anyone. The
officer pages also require a second factor (``views.officer_required``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from ..clock import now
from ..extensions import db
from .models import STAFF_ROLES, VERIFICATION_DOCUMENTS, Citizen, RoleAssignment, Verification
from .units import check_same_commune, get_commune_codes, validate_unit


class StaffError(ValueError):
    """A refused staff action; ``message`` is shown to the person, ``status`` is HTTP's."""

    def __init__(self, message, status: int = 400):
        super().__init__(str(message))
        self.message = message
        self.status = status


def validate_role(role: str, unit_code: str | None) -> str | None:
    """The unit code to store for ``role`` (raise ``ValueError`` with a plain message)."""
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if role == "commune_officer":
        if not unit_code:
            raise ValueError("a commune officer needs --unit (a commune-level unit code)")
        return validate_unit("commune", unit_code).code
    if unit_code:
        raise ValueError("an administrator is not scoped to a unit: omit --unit")
    return None


def grant_role(citizen: Citizen, role: str, unit_code: str | None = None) -> RoleAssignment:
    """Give ``citizen`` a staff role (idempotent); the caller commits."""
    unit_code = validate_role(role, unit_code)
    existing = db.session.scalar(select(RoleAssignment).where(
        RoleAssignment.citizen_id == citizen.id, RoleAssignment.role == role,
        RoleAssignment.unit_code.is_(None) if unit_code is None
        else RoleAssignment.unit_code == unit_code))
    if existing is not None:
        return existing
    assignment = RoleAssignment(citizen_id=citizen.id, role=role, unit_code=unit_code,
                                granted_at=now())
    db.session.add(assignment)
    return assignment


def revoke_role(citizen: Citizen, role: str, unit_code: str | None = None) -> int:
    """Remove ``role`` (for ``unit_code``, or every unit when omitted); how many went."""
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}")
    query = delete(RoleAssignment).where(RoleAssignment.citizen_id == citizen.id,
                                         RoleAssignment.role == role)
    if unit_code:
        query = query.where(RoleAssignment.unit_code == unit_code.strip())
    return db.session.execute(query).rowcount


def get_roles(citizen: Citizen | None) -> list[RoleAssignment]:
    if citizen is None:
        return []
    return list(db.session.scalars(
        select(RoleAssignment).where(RoleAssignment.citizen_id == citizen.id)
        .order_by(RoleAssignment.id)))


def check_staff(citizen: Citizen | None) -> bool:
    return bool(get_roles(citizen))


def check_administrator(citizen: Citizen | None) -> bool:
    return any(r.role == "administrator" for r in get_roles(citizen))


def get_officer_units(citizen: Citizen | None) -> list[str]:
    return [r.unit_code for r in get_roles(citizen) if r.role == "commune_officer"]


def get_verifying_unit(officer: Citizen, person: Citizen) -> str | None:
    """The unit in whose name ``officer`` may verify ``person``; raise ``StaffError`` if none."""
    for unit_code in get_officer_units(officer):
        if check_same_commune(unit_code, person.ward_code):
            return unit_code
    if check_administrator(officer):
        return person.ward_code
    raise StaffError(_l("This person is not a resident of your commune or ward: they must be "
                        "verified at the commune where they live."), 403)


def verify_in_person(officer: Citizen, person: Citizen, document: str) -> Verification:
    """Record that ``officer`` checked ``person``'s ``document`` in person: level 2. The caller
    commits."""
    if document not in VERIFICATION_DOCUMENTS:
        raise StaffError(_l("Choose the document you checked."))
    unit_code = get_verifying_unit(officer, person)
    if person.assurance_level >= 2:
        raise StaffError(_l("This person is already verified (level 2)."), 409)
    person.assurance_level = 2
    verification = Verification(citizen_id=person.id, officer_id=officer.id, unit_code=unit_code,
                                method="in_person", document=document, verified_at=now())
    db.session.add(verification)
    return verification


def list_recent_verifications(officer: Citizen, limit: int = 20) -> list[Verification]:
    """The latest verifications of the officer's communes (all of them for administrators)."""
    query = select(Verification).order_by(Verification.verified_at.desc(),
                                          Verification.id.desc()).limit(limit)
    if not check_administrator(officer):
        query = query.where(Verification.unit_code.in_(get_officer_units(officer)))
    return list(db.session.scalars(query))


def count_residents_by_level(unit_code: str) -> dict[int, int]:
    """Enrolled residents of a commune (predecessor codes included) per assurance level."""
    rows = db.session.execute(
        select(Citizen.assurance_level, func.count(Citizen.id))
        .where(Citizen.ward_code.in_(sorted(get_commune_codes(unit_code))))
        .group_by(Citizen.assurance_level))
    counts = {1: 0, 2: 0}
    counts.update({level: count for level, count in rows})
    return counts
