"""Protocol state not yet in a store of its own: clients (read side), initial access tokens, SSO
sessions, session participants, and pruning.

The other kinds live by lifetime in their own modules: the client registry (``registry``),
tokens (``token_store``), authorization codes and their grants (``code_store``), pending
interactions (``interaction_store``), the logout outbox (``logout_outbox``), replay caches and
throttles in the hot store (``gateway.stores``).
"""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ..clock import now
from ..extensions import db
from ..stores.hot import get_hot_store
from . import token_store
from .models import (
    AuthorizationCode,
    InitialAccessToken,
    OAuth2Client,
    SessionParticipant,
    Token,
    UserSession,
    digest,
)

# -- clients -------------------------------------------------------------------------------------


def get_client(client_id: str | None) -> OAuth2Client | None:
    if not client_id or len(client_id) > 48:
        return None
    return db.session.scalar(select(OAuth2Client).where(OAuth2Client.client_id == client_id))


def get_resource_server(resource: str | None) -> OAuth2Client | None:
    """The client holding a resource indicator (RFC 8707), if any. Clients are few: scanned."""
    if not resource or not isinstance(resource, str):
        return None
    for client in db.session.scalars(select(OAuth2Client)):
        if client.is_resource_server and resource in client.resource_indicators:
            return client
    return None


def get_client_by_registration_access_token(token: str | None) -> OAuth2Client | None:
    """RFC 7592 §3: the client a registration access token was issued for."""
    if not token or len(token) > 256:
        return None
    return db.session.scalar(
        select(OAuth2Client).where(OAuth2Client.registration_access_token_digest == digest(token))
    )


# -- initial access tokens (RFC 7591 §3) ---------------------------------------------------------


def create_initial_access_token(*, agency_name, agency_level, administrative_unit_code,
                                lifetime: int, max_uses: int | None = None):
    """Returns ``(record, token)``; the token is shown once and only its digest is kept."""
    token = secrets.token_urlsafe(32)
    created = now()
    record = InitialAccessToken(
        token_digest=digest(token), agency_name=agency_name, agency_level=agency_level,
        administrative_unit_code=administrative_unit_code, created_at=created,
        expires_at=created + lifetime, max_uses=max_uses, uses=0,
    )
    db.session.add(record)
    db.session.commit()
    return record, token


def get_initial_access_token(token: str | None) -> InitialAccessToken | None:
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
    return record


def use_initial_access_token(record: InitialAccessToken) -> bool:
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


# -- SSO sessions --------------------------------------------------------------------------------


def create_user_session(*, citizen_id, acr, amr, ip_address=None, user_agent=None):
    """Start a session; returns ``(session, handle)`` where the handle goes into the cookie."""
    handle = secrets.token_urlsafe(32)
    started = now()
    session = UserSession(
        sid=secrets.token_urlsafe(24),
        handle_digest=digest(handle),
        citizen_id=citizen_id,
        auth_time=started,
        acr=acr,
        amr=list(amr),
        created_at=started,
        last_seen_at=started,
        expires_at=started + current_app.config["SSO_SESSION_LIFETIME"],
        ip_address=ip_address,
        user_agent=(user_agent or "")[:300] or None,
    )
    db.session.add(session)
    db.session.commit()
    return session, handle


def renew_user_session(session: UserSession, *, acr, amr) -> str:
    """Record a fresh sign-in of the same person in their session: new cookie handle (no
    fixation), new ``auth_time``; the ``sid`` and the tokens issued under it stay. Returns the
    new handle."""
    handle = secrets.token_urlsafe(32)
    current = now()
    session.handle_digest = digest(handle)
    session.auth_time = current
    session.acr = acr
    session.amr = list(amr)
    session.last_seen_at = current
    session.expires_at = current + current_app.config["SSO_SESSION_LIFETIME"]
    db.session.commit()
    return handle


def get_user_session(handle: str | None) -> UserSession | None:
    """The live session for a cookie handle, or None when absent, ended, expired or idle."""
    if not handle or len(handle) > 128:
        return None
    session = db.session.scalar(
        select(UserSession).where(UserSession.handle_digest == digest(handle))
    )
    if session is None or session.ended_at is not None:
        return None
    current = now()
    idle = current_app.config["SSO_SESSION_IDLE_TIMEOUT"]
    if current >= session.expires_at or current - session.last_seen_at >= idle:
        return None
    return session


def check_session_ended(sid: str | None) -> bool:
    """True when the SSO session ``sid`` was ended (sign-out, logout, or signing in again)."""
    if not sid:
        return False
    ended_at = db.session.scalar(select(UserSession.ended_at).where(UserSession.sid == sid))
    return ended_at is not None


def touch_user_session(session: UserSession) -> None:
    current = now()
    if current - session.last_seen_at >= 60:  # write at most once a minute
        session.last_seen_at = current
        db.session.commit()


def raise_user_session(session: UserSession, *, acr: str, amr: list[str]) -> None:
    """Record a step-up (a second factor) in a live session: new level, methods, ``auth_time``."""
    session.acr = acr
    session.amr = sorted(set(session.amr or []) | set(amr))
    session.auth_time = now()
    db.session.commit()


def _session_expired(current: int):
    """Past the absolute lifetime (``expires_at``) or idle for ``SSO_SESSION_IDLE_TIMEOUT``: the
    rule ``get_user_session`` applies, as a query condition."""
    idle = current_app.config["SSO_SESSION_IDLE_TIMEOUT"]
    return (UserSession.expires_at <= current) | (UserSession.last_seen_at <= current - idle)


def mark_user_session_ended(session: UserSession, *, only_if_expired: bool = False) -> bool:
    """Set ``ended_at`` and revoke the session's tokens (``token_store.revoke_session_tokens``),
    unless it has ended already: a compare-and-set (``UPDATE … WHERE ended_at IS NULL``), so of two
    requests or workers ending one session only one wins (on PostgreSQL the row stays locked
    until the winner commits). ``only_if_expired``: and only if it is (still) expired. Not
    committed: the caller commits it with the logout deliveries it queues. Returns whether this
    call ended it."""
    current = now()
    query = update(UserSession).where(UserSession.id == session.id,
                                      UserSession.ended_at.is_(None))
    if only_if_expired:
        query = query.where(_session_expired(current))
    result = db.session.execute(query.values(ended_at=current)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    set_committed_value(session, "ended_at", current)
    token_store.revoke_session_tokens(session.sid)
    return True


def get_expired_user_sessions(limit: int) -> list[UserSession]:
    """Up to ``limit`` sessions not ended whose absolute or idle lifetime has passed, oldest
    first: what ``logout.end_expired_sessions`` ends."""
    return list(db.session.scalars(
        select(UserSession)
        .where(UserSession.ended_at.is_(None), _session_expired(now()))
        .order_by(UserSession.id).limit(limit)
    ))


def count_expired_user_sessions() -> int:
    return db.session.scalar(
        select(func.count(UserSession.id))
        .where(UserSession.ended_at.is_(None), _session_expired(now()))
    )


# -- self-service ("Tài khoản của tôi") ----------------------------------------------------------
# What the person's own account pages read and end: their live SSO sessions (withdrawing consent
# revokes the client's tokens through ``revoke_tokens_for``).


def get_live_user_sessions(citizen_id: int) -> list[UserSession]:
    """The person's SSO sessions that are neither ended, expired nor idle, newest first."""
    current = now()
    idle = current_app.config["SSO_SESSION_IDLE_TIMEOUT"]
    return list(db.session.scalars(
        select(UserSession)
        .where(UserSession.citizen_id == citizen_id, UserSession.ended_at.is_(None),
               UserSession.expires_at > current, UserSession.last_seen_at > current - idle)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ))


# -- single logout: session participants and back-channel deliveries ----------------------------
# Which clients received tokens in which SSO session, and the queue of logout tokens to deliver
# (OpenID Connect Back-Channel Logout 1.0 §2.5, Front-Channel Logout 1.0 §3). ``logout.py`` owns
# the rules; these functions only read and write rows.


def record_session_participant(sid: str | None, client_id: str, citizen_id: int | None) -> None:
    """Remember that ``client_id`` received tokens in session ``sid`` (once per pair)."""
    if not sid or citizen_id is None:
        return
    exists = db.session.scalar(
        select(SessionParticipant.id).where(SessionParticipant.sid == sid,
                                            SessionParticipant.client_id == client_id)
    )
    if exists is not None:
        return
    db.session.add(SessionParticipant(sid=sid, client_id=client_id, citizen_id=citizen_id,
                                      created_at=now()))
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent token request for the same pair won
        db.session.rollback()


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


def _old_sessions():
    """SSO sessions that ended, expired or went idle more than ``RECORD_RETENTION_DAYS`` ago.
    ``prune-records`` ends the expired ones that were never ended first
    (``logout.end_expired_sessions``), so their clients are told before the records go."""
    cutoff = _retention_cutoff()
    idle = current_app.config["SSO_SESSION_IDLE_TIMEOUT"]
    return ((UserSession.ended_at <= cutoff) | (UserSession.expires_at <= cutoff)
            | (UserSession.last_seen_at + idle <= cutoff))


def delete_old_session_participants() -> int:
    """The participants of the sessions ``delete_old_user_sessions`` deletes (call it first)."""
    sids = select(UserSession.sid).where(_old_sessions())
    return db.session.execute(
        delete(SessionParticipant).where(SessionParticipant.sid.in_(sids))
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_old_user_sessions() -> int:
    return db.session.execute(
        delete(UserSession).where(_old_sessions()).execution_options(synchronize_session=False)
    ).rowcount
