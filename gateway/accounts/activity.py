"""A person's own activity log, shown under "Tài khoản của tôi": every sign-in to their account
(successful, or a wrong password or code) and every release of their claims to a relying party
(ID token or UserInfo), so they can see who used their identity and which agency received which
of their data, and when.

Only names are kept: never a password, code, token or claim value. Entries older than
``ACTIVITY_RETENTION`` seconds are pruned as new ones are written for the same person, and for
everybody by ``flask --app gateway prune-records``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_request_context, request
from sqlalchemy import delete, func, select

from ..clock import now
from ..extensions import db
from ..identity.services import get_citizen_by_personal_id
from .models import DisclosureRecord, SignInEvent

#: Entries shown per page of the history and the data-sharing log.
PAGE_SIZE = 20


@dataclass(frozen=True)
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _request_origin() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return request.remote_addr, (request.user_agent.string or "")[:300] or None


def _prune(model, citizen_id: int | None = None) -> int:
    """Delete ``model`` entries older than ``ACTIVITY_RETENTION``: one person's, or everybody's."""
    cutoff = now() - current_app.config["ACTIVITY_RETENTION"]
    query = delete(model).where(model.at < cutoff)
    if citizen_id is not None:
        query = query.where(model.citizen_id == citizen_id)
    return db.session.execute(query).rowcount


def delete_old_sign_in_events() -> int:
    """Everybody's sign-in history older than ``ACTIVITY_RETENTION`` (``prune-records``; people
    who never sign in again keep theirs otherwise). Not committed."""
    return _prune(SignInEvent)


def delete_old_disclosure_records() -> int:
    """Everybody's data-sharing log older than ``ACTIVITY_RETENTION``. Not committed."""
    return _prune(DisclosureRecord)


# -- sign-ins ------------------------------------------------------------------------------------


def _record_sign_in(citizen_id: int, *, outcome: str, amr, acr=None, client_id=None) -> None:
    ip_address, user_agent = _request_origin()
    _prune(SignInEvent, citizen_id)
    db.session.add(SignInEvent(
        citizen_id=citizen_id, at=now(), amr=sorted(amr or []), acr=acr, ip_address=ip_address,
        user_agent=user_agent, client_id=client_id, outcome=outcome,
    ))
    db.session.commit()


def record_sign_in(user_session, pending=None) -> None:
    """A successful sign-in (password, second factor or QR) that started or raised
    ``user_session``, for the authorization request ``pending`` if any. Commits."""
    _record_sign_in(user_session.citizen_id, outcome="success", amr=user_session.amr,
                    acr=user_session.acr, client_id=pending.client_id if pending else None)


def record_failed_password(personal_id: str, pending=None) -> None:
    """A wrong password for ``personal_id``; recorded only when that account exists."""
    citizen = get_citizen_by_personal_id(personal_id)
    if citizen is not None:
        _record_sign_in(citizen.id, outcome="failure", amr=["pwd"],
                        client_id=pending.client_id if pending else None)


def record_failed_second_factor(citizen, pending=None) -> None:
    """A wrong or reused second-factor code after a correct password (or for a step-up)."""
    _record_sign_in(citizen.id, outcome="failure", amr=["otp"],
                    client_id=pending.client_id if pending else None)


def get_sign_in_events(citizen_id: int, page: int = 1) -> Page:
    """The person's sign-ins, newest first, ``PAGE_SIZE`` at a time."""
    return _page(select(SignInEvent).where(SignInEvent.citizen_id == citizen_id)
                 .order_by(SignInEvent.at.desc(), SignInEvent.id.desc()), page)


# -- disclosures ---------------------------------------------------------------------------------


def record_disclosure(citizen_id: int | None, client_id: str | None, claim_names,
                      channel: str) -> None:
    """``client_id`` received ``claim_names`` about the person through ``channel``
    (``id_token`` or ``userinfo``). The protocol reports it through its audit port
    (``accounts/ports.py``) where the claims are built. Commits."""
    if citizen_id is None or client_id is None:
        return
    _prune(DisclosureRecord, citizen_id)
    db.session.add(DisclosureRecord(
        citizen_id=citizen_id, client_id=client_id, claim_names=sorted(set(claim_names)),
        channel=channel, at=now(),
    ))
    db.session.commit()


def get_disclosures(citizen_id: int, page: int = 1) -> Page:
    """What was released about the person, newest first, ``PAGE_SIZE`` at a time."""
    return _page(select(DisclosureRecord).where(DisclosureRecord.citizen_id == citizen_id)
                 .order_by(DisclosureRecord.at.desc(), DisclosureRecord.id.desc()), page)


def get_last_disclosure_times(citizen_id: int) -> dict[str, int]:
    """When each client last received claims about the person ("last used")."""
    rows = db.session.execute(
        select(DisclosureRecord.client_id, func.max(DisclosureRecord.at))
        .where(DisclosureRecord.citizen_id == citizen_id)
        .group_by(DisclosureRecord.client_id)
    )
    return dict(rows.all())


def _page(query, number: int) -> Page:
    number = max(1, number)
    rows = list(db.session.scalars(query.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return Page(items=rows[:PAGE_SIZE], number=number, has_next=len(rows) > PAGE_SIZE)
