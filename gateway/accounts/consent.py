"""Consent remembered per client and scope set (OIDC Core §3.1.2.4)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import list_to_scope, scope_to_list
from sqlalchemy import delete, select

from ..clock import now
from ..extensions import db
from ..oidc import token_store
from .models import Consent


def get_consent(citizen, client_id: str) -> Consent | None:
    return db.session.scalar(
        select(Consent).where(Consent.citizen_id == citizen.id, Consent.client_id == client_id)
    )


def has_consent(citizen, client_id: str, scope: str) -> bool:
    consent = get_consent(citizen, client_id)
    return consent is not None and consent.covers(scope)


def grant_consent(citizen, client_id: str, scope: str) -> Consent:
    """Remember consent for ``scope`` (added to what was already granted). Commits."""
    consent = get_consent(citizen, client_id)
    if consent is None:
        consent = Consent(citizen_id=citizen.id, client_id=client_id, scope="")
        db.session.add(consent)
    merged = sorted(set(scope_to_list(consent.scope) or []) | set(scope_to_list(scope) or []))
    consent.scope = list_to_scope(merged)
    consent.granted_at = now()
    db.session.commit()
    return consent


def get_consents(citizen) -> list[Consent]:
    """Every client the person consented to, most recent first."""
    return list(db.session.scalars(
        select(Consent).where(Consent.citizen_id == citizen.id)
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
    ))


def revoke_consent(citizen, client_id: str) -> bool:
    """Withdraw consent: forget it, so the client's next request asks again, and revoke every
    token the client holds for the person, offline ones included, in one transaction (never
    one without the other). False, changing nothing, if there was no consent."""
    result = db.session.execute(
        delete(Consent).where(Consent.citizen_id == citizen.id, Consent.client_id == client_id)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    token_store.revoke_tokens_for(citizen.id, client_id)
    db.session.commit()  # the deletion and the revocations together
    return True
