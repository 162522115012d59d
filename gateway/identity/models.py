"""A citizen: the person behind an electronic identity (DOMAIN.md §2)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from sqlalchemy import Boolean, Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

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
