"""Citizens, businesses and who may act for them, staff roles and in-person verifications
(docs/domain.md §2).

A business never signs in: a person signs in with their own level-2 account and acts for it
through a ``Representation`` (legal representative, head or authorised person). Commune officers
raise a person to level 2 after checking their ID document in person (``Verification``).
Timestamps other than the citizen's own are seconds since the epoch from ``gateway.clock``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_subject() -> str:
    """A stable, opaque public ``sub``: never the personal ID number (RFC 9700 §2.6)."""
    return secrets.token_urlsafe(24)


class Citizen(db.Model):
    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), unique=True, default=create_subject)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    family_name: Mapped[str] = mapped_column(String(80))
    middle_name: Mapped[str] = mapped_column(String(80), default="")
    given_name: Mapped[str] = mapped_column(String(80))
    birthdate: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_number: Mapped[str | None] = mapped_column(String(20))
    phone_number_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    street_address: Mapped[str | None] = mapped_column(String(200))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    locality: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: Assurance level of the identity (1: self-registered, 2: verified in person).
    assurance_level: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_utcnow, onupdate=_utcnow
    )

    @property
    def full_name(self) -> str:
        """Vietnamese order: family name, middle name, given name."""
        return " ".join(p for p in (self.family_name, self.middle_name, self.given_name) if p)

    def get_user_id(self) -> int:
        return self.id

    def __repr__(self) -> str:  # never the ID number: reprs end up in logs
        return f"<Citizen {self.id}>"


#: Roles a person can hold for a business (docs/domain.md §2), strongest first.
REPRESENTATION_ROLES = ("legal_representative", "head", "authorised")
#: Roles that may grant and revoke authorised persons.
MANAGING_ROLES = ("legal_representative", "head")
#: Staff roles; a commune officer's is scoped to one commune-level unit.
STAFF_ROLES = ("commune_officer", "administrator")
#: Documents an officer may check in person.
VERIFICATION_DOCUMENTS = ("chip_id_card", "id_card", "passport")


class Business(db.Model):
    """An organisation known by its tax code (mã số doanh nghiệp), docs/domain.md §3."""

    __tablename__ = "businesses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Normalised by ``stdnum.vn.mst.format``: ``0100233488`` or ``0314409058-002``.
    tax_code: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Commune-level unit of the registered head office (either structure, units.py).
    ward_code: Mapped[str | None] = mapped_column(String(5))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"))
    created_at: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<Business {self.id}>"


class Representation(db.Model):
    """A person's role for a business, valid from ``valid_from`` to ``valid_until`` (inclusive,
    local dates) unless revoked."""

    __tablename__ = "representations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"),
                                            index=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"),
                                             index=True)
    role: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"))
    granted_at: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(Integer)
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizens.id", ondelete="SET NULL"))

    citizen: Mapped[Citizen] = relationship(foreign_keys=[citizen_id], lazy="joined")
    business: Mapped[Business] = relationship(lazy="joined")

    def check_valid(self, today: date) -> bool:
        return (self.revoked_at is None and self.valid_from <= today
                and (self.valid_until is None or today <= self.valid_until))


class RoleAssignment(db.Model):
    """A staff role: ``commune_officer`` for one commune (``unit_code``) or ``administrator``."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("citizen_id", "role", "unit_code", name="uq_role_assignments_scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"),
                                            index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_code: Mapped[str | None] = mapped_column(String(5))
    granted_at: Mapped[int] = mapped_column(Integer)


class Verification(db.Model):
    """An in-person check of a person's ID document by an officer, raising them to level 2."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"),
                                            index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="SET NULL"))
    #: Where it happened: the officer's commune-level unit.
    unit_code: Mapped[str | None] = mapped_column(String(5), index=True)
    method: Mapped[str] = mapped_column(String(16), default="in_person")
    document: Mapped[str] = mapped_column(String(32))
    verified_at: Mapped[int] = mapped_column(Integer)

    citizen: Mapped[Citizen] = relationship(foreign_keys=[citizen_id], lazy="joined")
    officer: Mapped[Citizen | None] = relationship(foreign_keys=[officer_id], lazy="joined")
