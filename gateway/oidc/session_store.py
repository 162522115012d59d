"""SSO sessions in the hot store (the ``sid`` of OIDC Front/Back-Channel Logout).

A session is an :class:`SsoSession` under its ``sid`` (namespace ``sso_sessions``); the browser
holds a random handle in the SSO cookie and only the handle's SHA-256 names the session
(``sso_handles``). Two sorted indexes of the hot store find sessions without a scan:

- ``sso_due``: every session not ended, scored by the second it runs out — the end of its
  absolute lifetime (``SSO_SESSION_LIFETIME``) or of its idle time (``SSO_SESSION_IDLE_TIMEOUT``
  after ``last_seen_at``), whichever comes first: what the sweep (``logout.end_expired_sessions``)
  ends, so a session that merely expires logs its clients out like a sign-out;
- ``sso_of:<person>``: each person's sessions ("my account" lists and ends them).

Ending a session (``logout._end_session``) is exactly once and never loses a logout: first the
handle goes (the browser is signed out at once); then, in the caller's unit of work, a
``SessionEnding`` row is inserted — its primary key, the ``sid``, lets one ender win, and the
revoked tokens and queued logout deliveries commit with it; only then do the session and its
index entries go (``forget_user_session``). A crash in between leaves the session in
``sso_due``, and the sweep finishes the ending when it falls due.

Entries are kept ``KEPT_AFTER_EXPIRY`` seconds past the absolute lifetime, so the sweep finds
them even after a pause of its worker; the liveness rules are the fields, on the gateway clock.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..clock import now
from ..extensions import db
from ..stores.hot import get_hot_store
from ..stores.sql import dialect_insert
from . import token_store
from .models import SessionEnding, digest

SESSIONS = "sso_sessions"
HANDLES = "sso_handles"
DUE = "sso_due"
#: Seconds a session's entries outlive its absolute lifetime (a paused sweep still finds them).
KEPT_AFTER_EXPIRY = 86400
#: Sessions listed per person at most ("my account").
MAX_LISTED = 100
#: ``last_seen_at`` is written at most this often (seconds).
TOUCH_INTERVAL = 60


def _of(citizen_id) -> str:
    return f"sso_of:{citizen_id}"


@dataclass
class SsoSession:
    """One SSO session at the provider."""

    sid: str
    handle_digest: str
    citizen_id: int
    auth_time: int
    acr: str
    amr: list = field(default_factory=list)
    created_at: int = 0
    last_seen_at: int = 0
    expires_at: int = 0
    ip_address: str | None = None
    user_agent: str | None = None


def due_at(session: SsoSession) -> int:
    """The second the session runs out: absolute lifetime or idle timeout, the earlier."""
    return min(session.expires_at,
               session.last_seen_at + current_app.config["SSO_SESSION_IDLE_TIMEOUT"])


def is_live(session: SsoSession) -> bool:
    return now() < due_at(session)


def _save(session: SsoSession) -> None:
    """Write the session and its place in the indexes (entry kept past its lifetime)."""
    store = get_hot_store()
    ttl = max(1, session.expires_at - now() + KEPT_AFTER_EXPIRY)
    store.put(SESSIONS, session.sid, dataclasses.asdict(session), ttl)
    store.index_set(DUE, session.sid, due_at(session))


def create_user_session(*, citizen_id, acr, amr, ip_address=None, user_agent=None):
    """Start a session; returns ``(session, handle)`` where the handle goes into the cookie."""
    handle = secrets.token_urlsafe(32)
    started = now()
    session = SsoSession(
        sid=secrets.token_urlsafe(24), handle_digest=digest(handle), citizen_id=citizen_id,
        auth_time=started, acr=acr, amr=list(amr), created_at=started, last_seen_at=started,
        expires_at=started + current_app.config["SSO_SESSION_LIFETIME"],
        ip_address=ip_address, user_agent=(user_agent or "")[:300] or None,
    )
    store = get_hot_store()
    _save(session)
    store.index_set(_of(citizen_id), session.sid, started)
    store.put(HANDLES, session.handle_digest, session.sid,
              current_app.config["SSO_SESSION_LIFETIME"])
    return session, handle


def renew_user_session(session: SsoSession, *, acr, amr) -> str:
    """Record a fresh sign-in of the same person in their session: new cookie handle (no
    fixation), new ``auth_time`` and lifetime; the ``sid`` and the tokens issued under it stay.
    Returns the new handle."""
    handle = secrets.token_urlsafe(32)
    current = now()
    store = get_hot_store()
    store.delete(HANDLES, session.handle_digest)
    session.handle_digest = digest(handle)
    session.auth_time = current
    session.acr = acr
    session.amr = list(amr)
    session.last_seen_at = current
    session.expires_at = current + current_app.config["SSO_SESSION_LIFETIME"]
    _save(session)
    store.put(HANDLES, session.handle_digest, session.sid,
              current_app.config["SSO_SESSION_LIFETIME"])
    return handle


def _read(sid: str | None) -> SsoSession | None:
    if not sid or not isinstance(sid, str) or len(sid) > 64:
        return None
    value = get_hot_store().get(SESSIONS, sid)
    return SsoSession(**value) if isinstance(value, dict) else None


def get_user_session(handle: str | None) -> SsoSession | None:
    """The live session for a cookie handle, or None when absent, ended, expired or idle."""
    if not handle or not isinstance(handle, str) or len(handle) > 128:
        return None
    handle_digest = digest(handle)
    session = _read(get_hot_store().get(HANDLES, handle_digest))
    if session is None or not secrets.compare_digest(session.handle_digest, handle_digest):
        return None
    return session if is_live(session) else None


def get_user_session_by_sid(sid: str | None) -> SsoSession | None:
    """The session ``sid`` as stored (live or run out but not yet ended), or None once ended."""
    return _read(sid)


def check_session_ended(sid: str | None) -> bool:
    """True when the SSO session ``sid`` is no longer there: ended (sign-out, logout, signing in
    as someone else, the sweep) or gone."""
    return bool(sid) and _read(sid) is None


def touch_user_session(session: SsoSession) -> None:
    """Note activity (at most once a minute): pushes the idle timeout back. A compare-and-set,
    so it never overwrites a concurrent step-up or renewal."""
    current = now()
    if current - session.last_seen_at < TOUCH_INTERVAL:
        return
    store = get_hot_store()
    touched = dataclasses.replace(session, last_seen_at=current)
    if store.replace(SESSIONS, session.sid, dataclasses.asdict(session),
                     dataclasses.asdict(touched)):
        session.last_seen_at = current
        store.index_set(DUE, session.sid, due_at(session))


def raise_user_session(session: SsoSession, *, acr: str, amr: list[str]) -> None:
    """Record a step-up (a second factor) in a live session: new level, methods, ``auth_time``."""
    session.acr = acr
    session.amr = sorted(set(session.amr or []) | set(amr))
    session.auth_time = now()
    _save(session)


def get_expired_user_sessions(limit: int) -> list[SsoSession]:
    """Up to ``limit`` sessions not ended that have run out, earliest first: what
    ``logout.end_expired_sessions`` ends. A session whose entry is gone (the sweep paused past
    ``KEPT_AFTER_EXPIRY``) comes back with only its ``sid``, enough to end it."""
    found = []
    for sid, due in get_hot_store().index_range(DUE, now(), limit):
        session = _read(sid)
        found.append(session if session is not None else SsoSession(
            sid=sid, handle_digest="", citizen_id=0, auth_time=0, acr="", expires_at=due,
            last_seen_at=due))
    return found


def count_expired_user_sessions() -> int:
    return get_hot_store().index_count(DUE, now())


def get_live_user_sessions(citizen_id: int) -> list[SsoSession]:
    """The person's SSO sessions that are neither ended, expired nor idle, latest used first."""
    sessions = []
    for sid, _ in get_hot_store().index_range(_of(citizen_id), None, MAX_LISTED):
        session = _read(sid)
        if session is None:  # ended or gone: its index entry goes too
            get_hot_store().index_remove(_of(citizen_id), sid)
        elif session.citizen_id == citizen_id and is_live(session):
            sessions.append(session)
    return sorted(sessions, key=lambda s: (s.last_seen_at, s.created_at), reverse=True)


# -- ending (``logout._end_session`` owns the order) ---------------------------------------------


def sign_out_handle(session: SsoSession) -> None:
    """First step of an ending: the cookie's handle stops naming the session."""
    if session.handle_digest:
        get_hot_store().delete(HANDLES, session.handle_digest)


def claim_ending(session: SsoSession, *, reason: str, ended_at: int | None = None) -> bool:
    """Insert the session's ``SessionEnding`` row (``ended_at``: now, or for a session that ran
    out the second it did) and revoke its tokens, in the caller's unit of work (not committed).
    ``INSERT .. ON CONFLICT DO NOTHING`` on the ``sid``: of two requests or workers ending one
    session only one gets True (on PostgreSQL the other waits for the winner's commit)."""
    statement = (dialect_insert(SessionEnding)
                 .values(sid=session.sid, citizen_id=session.citizen_id or None,
                         reason=reason, ended_at=now() if ended_at is None else ended_at)
                 .on_conflict_do_nothing(index_elements=["sid"])
                 .returning(SessionEnding.sid))
    if db.session.execute(statement).first() is None:
        return False
    token_store.revoke_session_tokens(session.sid)
    return True


def forget_user_session(session: SsoSession) -> None:
    """Last step of an ending, after the commit: the session and its index entries go."""
    store = get_hot_store()
    sign_out_handle(session)
    store.delete(SESSIONS, session.sid)
    store.index_remove(DUE, session.sid)
    if session.citizen_id:
        store.index_remove(_of(session.citizen_id), session.sid)


def get_session_ending(sid: str) -> SessionEnding | None:
    return db.session.scalar(select(SessionEnding).where(SessionEnding.sid == sid))
