"""Consent a person gave a client, remembered per client and scope set."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class SignInEvent(db.Model):
    """One sign-in to a person's account, successful or not, shown to them under "Sign-in
    history" (``accounts/activity.py``). Failed attempts are recorded only for an existing
    account; the password or code typed is never stored."""

    __tablename__ = "sign_in_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    at: Mapped[int] = mapped_column(Integer)
    #: RFC 8176 ``amr`` values of the method used (``pwd``, ``otp``, ``mca``).
    amr: Mapped[list] = mapped_column(JSON, default=list)
    acr: Mapped[str | None] = mapped_column(String(40))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    #: The relying party whose authorization request asked for the sign-in, if any.
    client_id: Mapped[str | None] = mapped_column(String(48))
    #: ``success`` or ``failure``.
    outcome: Mapped[str] = mapped_column(String(10))

    __table_args__ = (Index("ix_sign_in_events_citizen_at", "citizen_id", "at"),)


class DisclosureRecord(db.Model):
    """Claims about a person released to a client, in an ID token or a UserInfo response: the
    data-sharing log shown to the person ("which agency received which of my data, and when")."""

    __tablename__ = "disclosure_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(48))
    #: Names of the claims released (never their values).
    claim_names: Mapped[list] = mapped_column(JSON, default=list)
    #: ``id_token`` or ``userinfo``.
    channel: Mapped[str] = mapped_column(String(10))
    at: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_disclosure_records_citizen_at", "citizen_id", "at"),)
