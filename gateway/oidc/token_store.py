"""The token store: access and refresh tokens, their families, and revocation.

Tokens live as long as their family can be used (RFC 6749 §6, RFC 9700 §4.14.2: a refresh token
rotates at each use, a reused one revokes the whole family), so they are kept apart from the
short-lived state (codes, sessions, pending interactions) and from clients. Only SHA-256
digests of token strings are stored. Compare-and-set updates make single use safe under
concurrency (of two refreshes racing, one wins; the loser is a reuse).

Revocations commit at once: a replayed code or refresh token revokes what it issued even though
the request that found it then fails. tests/oidc/test_token_store.py is the contract.
"""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..clock import now
from ..extensions import db
from .models import AuthorizationCode, Token, digest


def save_token(token: dict, *, client_id, citizen_id, scope, sid=None,
               authorization_code_id=None, parent: Token | None = None,
               access_token_format: str = "opaque", resource: str | None = None) -> Token:
    """Store a token response. ``parent`` is the token whose refresh token was exchanged: the
    new token joins its family and keeps the scope its refresh token carries (RFC 6749 §6)."""
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
    db.session.commit()
    return record


#: Longest token string looked up: JWT access tokens (RFC 9068) are far longer than opaque ones.
MAX_TOKEN_LENGTH = 8192


def get_access_token(access_token: str) -> Token | None:
    if not access_token or len(access_token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        select(Token).where(Token.access_token_digest == digest(access_token))
    )


def revoke_session_tokens(sid: str) -> None:
    """Revoke what a session's sign-in issued, except offline access (OIDC Core §11, Back-Channel
    Logout §2.7): tokens holding a refresh token outlive the session by design."""
    db.session.execute(
        update(Token)
        .where(Token.sid == sid, Token.revoked_at.is_(None), Token.refresh_token_digest.is_(None))
        .values(revoked_at=now())
    )


def get_refresh_token(refresh_token: str | None) -> Token | None:
    """The token row holding this refresh token, whatever its state (rotated, revoked)."""
    if not refresh_token or not isinstance(refresh_token, str) or len(refresh_token) > 512:
        return None
    return db.session.scalar(
        select(Token).where(Token.refresh_token_digest == digest(refresh_token))
    )


def find_token(token: str | None, token_type_hint: str | None = None) -> tuple[Token, str] | None:
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


def get_token_authorization_code(record: Token) -> AuthorizationCode | None:
    """The code (and so the sign-in: ``auth_time``, ``acr``, ``claims``) a family started from."""
    if record.authorization_code_id is None:
        return None
    return db.session.get(AuthorizationCode, record.authorization_code_id)


def check_refresh_token_usable(record: Token) -> bool:
    """Not rotated, not revoked, within its idle and absolute lifetimes."""
    return (
        record.refresh_token_used_at is None
        and record.revoked_at is None
        and now() < record.get_refresh_expires_at()
    )


def rotate_refresh_token(record: Token) -> bool:
    """Mark the refresh token used; False when another request used it first (compare-and-set,
    so of two concurrent refreshes only one wins)."""
    result = db.session.execute(
        update(Token)
        .where(Token.id == record.id, Token.refresh_token_used_at.is_(None),
               Token.revoked_at.is_(None))
        .values(refresh_token_used_at=now())
    )
    return result.rowcount == 1


def revoke_token_family(family_id: str | None) -> int:
    """Revoke every access and refresh token of a family (refresh token reuse, RFC 9700
    §4.14.2; revocation of a refresh token, RFC 7009 §2.1). Commits."""
    if not family_id:
        return 0
    result = db.session.execute(
        update(Token)
        .where(Token.family_id == family_id, Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    db.session.commit()
    return result.rowcount


def revoke_token(record: Token, kind: str) -> None:
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
    db.session.commit()


def revoke_tokens_from_code(record: AuthorizationCode) -> int:
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
    db.session.commit()
    return result.rowcount


def revoke_tokens_for(citizen_id: int, client_id: str) -> int:
    """Revoke every token ``client_id`` holds for ``citizen_id`` (consent withdrawn), offline
    ones (refresh tokens) included; ending a session does not (``revoke_session_tokens``).
    Commits; returns how many were revoked."""
    result = db.session.execute(
        update(Token)
        .where(Token.citizen_id == citizen_id, Token.client_id == client_id,
               Token.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    db.session.commit()
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
