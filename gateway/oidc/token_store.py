"""The token store: access and refresh tokens, their families, and revocation.

Tokens live as long as their family can be used (RFC 6749 §6, RFC 9700 §4.14.2: a refresh token
rotates at each use, a reused one revokes the whole family), so they are kept apart from the
short-lived state (codes, sessions, pending interactions) and from clients. Only SHA-256
digests of token strings are stored. Compare-and-set updates make single use safe under
concurrency (of two refreshes racing, one wins; the loser is a reuse).

Values in and out are :class:`StoredToken` dataclasses (Authlib's ``TokenMixin`` through its
methods), never ORM rows. Nothing here commits: the caller's unit of work does — the token
endpoint once the response is ready (``server.save_token``), and a request that finds a replay
commits the revocation before it answers with the error (a failing request's session is rolled
back). tests/oidc/test_token_store.py is the contract.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..clock import now
from ..extensions import db
from . import code_store, storage
from .models import Token, digest


@dataclass
class StoredToken:
    """An access token and, for offline access, a refresh token, as stored (digests only)."""

    id: int
    access_token_digest: str
    client_id: str
    issued_at: int
    expires_in: int
    refresh_token_digest: str | None = None
    citizen_id: int | None = None
    #: The grant (``code_store.Grant``) the family started from; None for client credentials.
    authorization_code_id: int | None = None
    sid: str | None = None
    token_type: str = "Bearer"
    scope: str = ""
    revoked_at: int | None = None
    family_id: str | None = None
    parent_id: int | None = None
    family_issued_at: int | None = None
    grant_scope: str | None = None
    refresh_token_used_at: int | None = None
    access_token_format: str = "opaque"
    resource: str | None = None

    # authlib.oauth2.rfc6749.TokenMixin
    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def get_expires_at(self) -> int:
        return self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self) -> bool:
        return now() >= self.get_expires_at()

    def get_user(self):
        from .ports import get_ports

        return get_ports().accounts.find_account(self.citizen_id, self.get_representation_id())

    def get_client(self):
        return storage.get_client(self.client_id)

    def get_refresh_expires_at(self) -> int | None:
        """When the refresh token stops working: idle and absolute lifetimes (config)."""
        if self.refresh_token_digest is None:
            return None
        config = current_app.config
        return min(self.issued_at + config["REFRESH_TOKEN_IDLE_SECONDS"],
                   (self.family_issued_at or self.issued_at)
                   + config["REFRESH_TOKEN_ABSOLUTE_SECONDS"])

    def get_grant(self) -> code_store.Grant | None:
        """The sign-in the family started from (``auth_time``, ``acr``, ``claims``), if any."""
        return code_store.get_grant(self.authorization_code_id)

    def get_claims_request(self) -> dict | None:
        """The ``claims`` request of the authorization that issued this token, if any."""
        grant = self.get_grant()
        return grant.claims if grant is not None else None

    def get_representation_id(self) -> int | None:
        """The representation chosen at sign-in for the authorization behind this token."""
        grant = self.get_grant()
        return grant.representation_id if grant is not None else None


_FIELDS = [f.name for f in dataclasses.fields(StoredToken)]


def _value(row: Token | None) -> StoredToken | None:
    return None if row is None else StoredToken(**{name: getattr(row, name) for name in _FIELDS})


def save_token(token: dict, *, client_id, citizen_id, scope, sid=None,
               authorization_code_id=None, parent: StoredToken | None = None,
               access_token_format: str = "opaque", resource: str | None = None) -> StoredToken:
    """Store a token response (not committed). ``parent`` is the token whose refresh token was
    exchanged: the new token joins its family and keeps the scope its refresh token carries
    (RFC 6749 §6)."""
    issued = now()
    if parent is not None:
        family = {"family_id": parent.family_id, "parent_id": parent.id,
                  "family_issued_at": parent.family_issued_at or parent.issued_at,
                  "grant_scope": parent.grant_scope or parent.scope}
    else:
        family = {"family_id": secrets.token_urlsafe(24), "family_issued_at": issued,
                  "grant_scope": scope or ""}
    record = Token(
        **family,
        access_token_format=access_token_format,
        resource=resource,
        access_token_digest=digest(token["access_token"]),
        refresh_token_digest=digest(token["refresh_token"]) if token.get("refresh_token") else None,
        client_id=client_id,
        citizen_id=citizen_id,
        authorization_code_id=authorization_code_id,
        sid=sid,
        token_type=token.get("token_type", "Bearer"),
        scope=scope or "",
        issued_at=issued,
        expires_in=int(token["expires_in"]),
    )
    db.session.add(record)
    db.session.flush()  # its id, for a later refresh's parent
    return _value(record)


#: Longest token string looked up: JWT access tokens (RFC 9068) are far longer than opaque ones.
MAX_TOKEN_LENGTH = 8192


def get_access_token(access_token: str) -> StoredToken | None:
    if not access_token or len(access_token) > MAX_TOKEN_LENGTH:
        return None
    return _value(db.session.scalar(
        select(Token).where(Token.access_token_digest == digest(access_token))
    ))


def revoke_session_tokens(sid: str) -> None:
    """Revoke what a session's sign-in issued, except offline access (OIDC Core §11, Back-Channel
    Logout §2.7): tokens holding a refresh token outlive the session by design."""
    db.session.execute(
        update(Token)
        .where(Token.sid == sid, Token.revoked_at.is_(None), Token.refresh_token_digest.is_(None))
        .values(revoked_at=now())
    )


def get_refresh_token(refresh_token: str | None) -> StoredToken | None:
    """The token holding this refresh token, whatever its state (rotated, revoked)."""
    if not refresh_token or not isinstance(refresh_token, str) or len(refresh_token) > 512:
        return None
    return _value(db.session.scalar(
        select(Token).where(Token.refresh_token_digest == digest(refresh_token))
    ))


def find_token(token: str | None,
               token_type_hint: str | None = None) -> tuple[StoredToken, str] | None:
    """``(record, "access_token" | "refresh_token")`` for a token string; the hint only orders
    the look-ups (RFC 7009 §2.1, RFC 7662 §2.1)."""
    if not token or not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    kinds = ["access_token", "refresh_token"]
    if token_type_hint == "refresh_token":
        kinds.reverse()
    for kind in kinds:
        record = get_access_token(token) if kind == "access_token" else get_refresh_token(token)
        if record is not None:
            return record, kind
    return None


def get_token_authorization_code(record: StoredToken) -> code_store.Grant | None:
    """The grant (and so the sign-in: ``auth_time``, ``acr``, ``claims``) a family started from."""
    return record.get_grant()


def check_refresh_token_usable(record: StoredToken) -> bool:
    """Not rotated, not revoked, within its idle and absolute lifetimes."""
    return (
        record.refresh_token_used_at is None
        and record.revoked_at is None
        and now() < record.get_refresh_expires_at()
    )


def rotate_refresh_token(record: StoredToken) -> bool:
    """Mark the refresh token used; False when another request used it first (compare-and-set,
    so of two concurrent refreshes only one wins)."""
    current = now()
    result = db.session.execute(
        update(Token)
        .where(Token.id == record.id, Token.refresh_token_used_at.is_(None),
               Token.revoked_at.is_(None))
        .values(refresh_token_used_at=current)
    )
    if result.rowcount != 1:
        return False
    record.refresh_token_used_at = current
    return True


def revoke_token_family(family_id: str | None) -> int:
    """Revoke every access and refresh token of a family (refresh token reuse, RFC 9700
    §4.14.2; revocation of a refresh token, RFC 7009 §2.1); how many."""
    if not family_id:
        return 0
    result = db.session.execute(
        update(Token)
        .where(Token.family_id == family_id, Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount


def revoke_token(record: StoredToken, kind: str) -> None:
    """RFC 7009 §2.1: a refresh token takes its family (and their access tokens) with it; an
    access token is revoked alone (with the refresh token stored beside it, which the RFC
    allows)."""
    if kind == "refresh_token":
        revoke_token_family(record.family_id)
        return
    db.session.execute(
        update(Token).where(Token.id == record.id, Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )


def revoke_tokens_from_code(record: code_store.Grant) -> int:
    """Revoke every token issued from a replayed code (RFC 6749 §4.1.2), and every token
    refreshed from them (their whole family, RFC 9700 §4.14.2)."""
    families = select(Token.family_id).where(
        Token.authorization_code_id == record.id, Token.family_id.is_not(None)
    )
    result = db.session.execute(
        update(Token)
        .where((Token.authorization_code_id == record.id) | Token.family_id.in_(families),
               Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount


def revoke_tokens_for(citizen_id: int, client_id: str) -> int:
    """Revoke every token ``client_id`` holds for ``citizen_id`` (consent withdrawn), offline
    ones (refresh tokens) included; ending a session does not (``revoke_session_tokens``).
    Returns how many were revoked."""
    result = db.session.execute(
        update(Token)
        .where(Token.citizen_id == citizen_id, Token.client_id == client_id,
               Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return result.rowcount


# -- pruning (``prune-records``) ------------------------------------------------------------------


def _token_alive(current: int):
    """A token whose access token is unexpired, or whose refresh token is within the absolute
    lifetime of its family (rotated, idle or revoked ones too: they keep reuse detection)."""
    absolute = current_app.config["REFRESH_TOKEN_ABSOLUTE_SECONDS"]
    return ((Token.issued_at + Token.expires_in > current)
            | (Token.refresh_token_digest.is_not(None)
               & (func.coalesce(Token.family_issued_at, Token.issued_at) + absolute > current)))


def delete_dead_tokens() -> int:
    """Tokens of families none of whose members is alive (``_token_alive``). A family goes
    whole: its first token links it to the authorization code (replay revokes the family through
    it, ``revoke_tokens_from_code``) and every other is a refresh ``parent``."""
    current = now()
    alive = _token_alive(current)
    live_families = select(Token.family_id).where(alive, Token.family_id.is_not(None))
    return db.session.execute(
        delete(Token)
        .where(~alive, Token.family_id.is_(None) | Token.family_id.not_in(live_families))
        .execution_options(synchronize_session=False)
    ).rowcount
