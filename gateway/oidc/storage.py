"""Protocol state not yet in a store of its own: clients (read side), initial access tokens,
session participants, and pruning.

The other kinds live by lifetime in their own modules: the client registry (``registry``),
tokens (``token_store``), authorization codes and their grants (``code_store``), pending
interactions (``interaction_store``), SSO sessions (``session_store``), the logout outbox
(``logout_outbox``), replay caches and throttles in the hot store (``gateway.stores``).
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass

from authlib.integrations.sqla_oauth2 import OAuth2ClientMixin
from flask import current_app
from sqlalchemy import delete, select, update

from ..clock import now
from ..extensions import db
from ..stores.hot import get_hot_store
from ..stores.sql import dialect_insert
from .models import (
    AuthorizationCode,
    ClientRules,
    InitialAccessToken,
    OAuth2Client,
    SessionEnding,
    SessionParticipant,
    Token,
    digest,
)

# -- clients (the protocol's read side; registering and changing them is ``registry``'s) ----------


class Client(ClientRules, OAuth2ClientMixin):
    """A registered client as the protocol reads it: Authlib's ``ClientMixin`` over a copy of
    the row (``client_secret`` is its digest), so a request can neither change nor save it.
    The ``*_uri`` metadata, ``scope``, ``grant_types`` and the rest come from ``client_metadata``
    (Authlib's ``OAuth2ClientMixin`` properties)."""

    def __init__(self, row: OAuth2Client):
        self.client_id = row.client_id
        self.client_secret = row.client_secret
        self.client_id_issued_at = row.client_id_issued_at
        self.client_secret_expires_at = row.client_secret_expires_at
        self._client_metadata = row._client_metadata

    def set_client_metadata(self, value):
        raise TypeError("a Client is read-only: change clients through the client registry")

    def __repr__(self) -> str:
        return f"<Client {self.client_id}>"


def _client(row: OAuth2Client | None) -> Client | None:
    return None if row is None else Client(row)


def get_client(client_id: str | None) -> Client | None:
    if not client_id or not isinstance(client_id, str) or len(client_id) > 48:
        return None
    return _client(db.session.scalar(
        select(OAuth2Client).where(OAuth2Client.client_id == client_id)))


def get_resource_server(resource: str | None) -> Client | None:
    """The client holding a resource indicator (RFC 8707), if any. Clients are few: scanned."""
    if not resource or not isinstance(resource, str):
        return None
    for row in db.session.scalars(select(OAuth2Client)):
        client = Client(row)
        if client.is_resource_server and resource in client.resource_indicators:
            return client
    return None


def get_client_by_registration_access_token(token: str | None) -> Client | None:
    """RFC 7592 §3: the client a registration access token was issued for."""
    if not token or len(token) > 256:
        return None
    return _client(db.session.scalar(
        select(OAuth2Client).where(OAuth2Client.registration_access_token_digest == digest(token))
    ))


# -- initial access tokens (RFC 7591 §3) ---------------------------------------------------------


@dataclass(frozen=True)
class AgencyToken:
    """An initial access token as stored (its digest only): which agency may register apps."""

    id: int
    agency_name: str
    agency_level: str
    administrative_unit_code: str
    created_at: int
    expires_at: int
    max_uses: int | None = None
    uses: int = 0
    revoked_at: int | None = None


def _agency_token(row: InitialAccessToken) -> AgencyToken:
    return AgencyToken(**{f.name: getattr(row, f.name) for f in dataclasses.fields(AgencyToken)})


def create_initial_access_token(*, agency_name, agency_level, administrative_unit_code,
                                lifetime: int, max_uses: int | None = None):
    """Returns ``(record, token)``, not committed; the token is shown once and only its digest
    is kept."""
    token = secrets.token_urlsafe(32)
    created = now()
    record = InitialAccessToken(
        token_digest=digest(token), agency_name=agency_name, agency_level=agency_level,
        administrative_unit_code=administrative_unit_code, created_at=created,
        expires_at=created + lifetime, max_uses=max_uses, uses=0,
    )
    db.session.add(record)
    db.session.flush()
    return _agency_token(record), token


def get_initial_access_token(token: str | None) -> AgencyToken | None:
    """The live initial access token: not expired, revoked or used up."""
    if not token or len(token) > 256:
        return None
    record = db.session.scalar(
        select(InitialAccessToken).where(InitialAccessToken.token_digest == digest(token))
    )
    if record is None or record.revoked_at is not None or now() >= record.expires_at:
        return None
    if record.max_uses is not None and record.uses >= record.max_uses:
        return None
    return _agency_token(record)


def use_initial_access_token(record: AgencyToken) -> bool:
    """Count one registration; False when another request used the last allowed use first."""
    query = update(InitialAccessToken).where(InitialAccessToken.id == record.id)
    if record.max_uses is not None:
        query = query.where(InitialAccessToken.uses < InitialAccessToken.max_uses)
    result = db.session.execute(query.values(uses=InitialAccessToken.uses + 1))
    return result.rowcount == 1


# -- client assertions (RFC 7523) ----------------------------------------------------------------

#: Hot store namespace of used client-assertion ``jti``s (key: client id and the jti's digest).
JTI_NAMESPACE = "client_assertion_jti"


def record_client_assertion_jti(client_id: str, jti: str, expires_at: int) -> bool:
    """Remember an accepted assertion's ``jti`` until ``expires_at`` (its ``exp`` plus the
    allowed clock skew); False if already seen. In the hot store, durable at once."""
    ttl = max(1, int(expires_at) - now())
    return get_hot_store().add(JTI_NAMESPACE, f"{client_id}:{digest(jti)}", 1, ttl)


# -- single logout: session participants and back-channel deliveries ----------------------------
# Which clients received tokens in which SSO session, and the queue of logout tokens to deliver
# (OpenID Connect Back-Channel Logout 1.0 §2.5, Front-Channel Logout 1.0 §3). ``logout.py`` owns
# the rules; these functions only read and write rows.


def record_session_participant(sid: str | None, client_id: str, citizen_id: int | None) -> None:
    """Remember that ``client_id`` received tokens in session ``sid`` (once per pair: ``ON
    CONFLICT DO NOTHING``, so a concurrent token request for the same pair is no error), in the
    caller's unit of work."""
    if not sid or citizen_id is None:
        return
    db.session.execute(
        dialect_insert(SessionParticipant)
        .values(sid=sid, client_id=client_id, citizen_id=citizen_id, created_at=now())
        .on_conflict_do_nothing(index_elements=["sid", "client_id"])
    )


def get_session_participants(sid: str) -> list[SessionParticipant]:
    return list(db.session.scalars(
        select(SessionParticipant).where(SessionParticipant.sid == sid)
        .order_by(SessionParticipant.id)
    ))


def commit() -> None:
    """Commit what the caller changed without committing (a session's ending with its queue)."""
    db.session.commit()


def rollback() -> None:
    db.session.rollback()


# -- pruning (``flask --app gateway prune-records``) ---------------------------------------------
# Each function deletes one kind of record nobody needs any more and returns how many rows went.
# None commits: the command commits them together, or rolls them back for ``--dry-run``. The
# order matters: tokens before the codes they came from, participants with their sessions.


def _retention_cutoff() -> int:
    return now() - current_app.config["RECORD_RETENTION_DAYS"] * 86400


def delete_old_authorization_codes() -> int:
    """Code tombstones older than the refresh absolute lifetime with no token left from them.
    While a token issued from the code exists, a replayed code must still find and revoke it
    (RFC 6749 §4.1.2); ``delete_dead_tokens`` removes those tokens only when none can be used."""
    cutoff = now() - current_app.config["REFRESH_TOKEN_ABSOLUTE_SECONDS"]
    issued = select(Token.id).where(Token.authorization_code_id == AuthorizationCode.id)
    return db.session.execute(
        delete(AuthorizationCode).where(AuthorizationCode.expires_at <= cutoff, ~issued.exists())
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_old_session_participants() -> int:
    """The participants of sessions that ended more than ``RECORD_RETENTION_DAYS`` ago (call
    before ``delete_old_session_endings``). Every session ends — by sign-out, or by the sweep
    once it runs out — so every participant goes in time."""
    sids = select(SessionEnding.sid).where(SessionEnding.ended_at <= _retention_cutoff())
    return db.session.execute(
        delete(SessionParticipant).where(SessionParticipant.sid.in_(sids))
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_old_session_endings() -> int:
    return db.session.execute(
        delete(SessionEnding).where(SessionEnding.ended_at <= _retention_cutoff())
        .execution_options(synchronize_session=False)
    ).rowcount
