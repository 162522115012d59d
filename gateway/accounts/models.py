"""Consent a person gave a client, remembered per client and scope set."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Consent(db.Model):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(48))
    scope: Mapped[str] = mapped_column(Text, default="")
    granted_at: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("citizen_id", "client_id", name="uq_consents_citizen_client"),
    )

    def covers(self, scope: str) -> bool:
        """True when every requested scope was consented to."""
        return set(scope_to_list(scope) or []) <= set(scope_to_list(self.scope) or [])


class LoginFailure(db.Model):
    """A failed sign-in, kept briefly to throttle guessing per personal ID number."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), index=True)
    failed_at: Mapped[int] = mapped_column(Integer)


class TotpCredential(db.Model):
    """A person's authenticator app (RFC 6238). The shared secret must be readable to check
    codes, so it is stored as is: protect the database (see docs/security.md)."""

    __tablename__ = "totp_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        ForeignKey("citizens.id", ondelete="CASCADE"), unique=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    #: The last time step a code was accepted for (replay protection).
    last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(Integer)


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"),
                                            index=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[int | None] = mapped_column(Integer)
