"""Authorization codes in the hot store, their tombstones, and the grants they become.

A code (RFC 6749 §4.1.2) lives ``AUTHORIZATION_CODE_LIFETIME`` seconds in the hot store
(namespace ``codes``, key the SHA-256 digest of the code: the code itself is never stored), as an
:class:`IssuedCode`. Redeeming it is a ``pop``: of two concurrent token requests with one code
exactly one gets it. The winner leaves

- a **tombstone** in the hot store (``code_tombstones``), so a replayed code is recognised and
  the tokens issued from it are revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4). It lives as long as
  those tokens can: the refresh tokens' absolute lifetime when ``offline_access`` was granted,
  else the access token's lifetime;
- a **grant** row in the database (``AuthorizationCode``, added to the caller's unit of work,
  which commits it with the tokens; read back as a :class:`Grant` value): what the sign-in was
  (``auth_time``, ``acr``, ``amr``, ``sid``, the ``claims`` request, the business acted for,
  the resource), read again by every refresh, by introspection and by
  ``revoke_tokens_from_code``.

The ``nonce`` (OIDC Core §3.1.2.1) and PKCE ``code_challenge`` (RFC 9700 §2.1.1: a constant one
protects nothing) of every code are remembered per client for ``ID_TOKEN_LIFETIME`` seconds, the
longest an ID token carrying that nonce is valid, so a repeated value is refused meanwhile.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..clock import now
from ..extensions import db
from ..stores.hot import get_hot_store
from .models import AuthorizationCode, CodeSignInMixin, digest

CODES = "codes"
TOMBSTONES = "code_tombstones"
NONCES = "code_nonces"
CHALLENGES = "code_challenges"

#: The longest code accepted: longer values are not ours.
MAX_CODE_LENGTH = 256


@dataclass
class IssuedCode(CodeSignInMixin):
    """An authorization code waiting to be redeemed."""

    code_digest: str
    client_id: str
    citizen_id: int
    redirect_uri: str = ""
    scope: str = ""
    nonce: str | None = None
    sid: str | None = None
    auth_time: int = 0
    acr: str | None = None
    amr: list = field(default_factory=list)
    #: The ``claims`` request parameter (OIDC Core §5.5), parsed.
    claims: dict | None = None
    #: The representation the person acts under, re-checked when claims are made.
    representation_id: int | None = None
    #: The resource indicator of the authorization request (RFC 8707 §2.1), if any.
    resource: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    issued_at: int = 0
    expires_at: int = 0


@dataclass
class Grant(IssuedCode):
    """What a redeemed code became (the ``authorization_codes`` row, as a value): the sign-in
    its tokens rest on. ``id`` names it in the tokens (``authorization_code_id``)."""

    id: int = 0
    used_at: int | None = None


_GRANT_FIELDS = [f.name for f in dataclasses.fields(Grant)]


def _grant(row: AuthorizationCode | None) -> Grant | None:
    return None if row is None else Grant(**{name: getattr(row, name) for name in _GRANT_FIELDS})


def get_grant(grant_id: int | None) -> Grant | None:
    """The grant ``grant_id`` (a token's ``authorization_code_id``), or None."""
    return None if grant_id is None else _grant(db.session.get(AuthorizationCode, grant_id))


def _replay_key(client_id: str, value: str) -> str:
    return f"{client_id}:{digest(value)}"


def save_authorization_code(code: str, *, client_id, citizen_id, redirect_uri, scope, nonce,
                            session, code_challenge, code_challenge_method,
                            claims: dict | None = None, representation_id: int | None = None,
                            resource: str | None = None) -> None:
    """Store a new code for ``AUTHORIZATION_CODE_LIFETIME`` seconds, with the sign-in of
    ``session`` (``sid``, ``auth_time``, ``acr``, ``amr``); remember its nonce and challenge."""
    issued = now()
    lifetime = current_app.config["AUTHORIZATION_CODE_LIFETIME"]
    record = IssuedCode(
        code_digest=digest(code), client_id=client_id, citizen_id=citizen_id,
        redirect_uri=redirect_uri or "", scope=scope or "", nonce=nonce, sid=session.sid,
        auth_time=session.auth_time, acr=session.acr, amr=list(session.amr or []),
        claims=claims, representation_id=representation_id, resource=resource,
        code_challenge=code_challenge, code_challenge_method=code_challenge_method,
        issued_at=issued, expires_at=issued + lifetime,
    )
    store = get_hot_store()
    memory = current_app.config["ID_TOKEN_LIFETIME"]
    if nonce:
        store.put(NONCES, _replay_key(client_id, nonce), 1, memory)
    if code_challenge:
        store.put(CHALLENGES, _replay_key(client_id, code_challenge), 1, memory)
    store.put(CODES, record.code_digest, dataclasses.asdict(record), lifetime)


def get_authorization_code(code: str | None) -> IssuedCode | None:
    """The live, unredeemed code, or None (unknown, expired or redeemed: see ``find_grant``)."""
    if not code or not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
        return None
    value = get_hot_store().get(CODES, digest(code))
    if not isinstance(value, dict):
        return None
    record = IssuedCode(**value)
    return record if now() < record.expires_at else None


def redeem_authorization_code(record: IssuedCode) -> Grant | None:
    """Take the code (single use, atomic) and return its grant, added to the caller's unit of
    work; None if another request redeemed it first. Hot store writes come first, so the
    caller's session holds no uncommitted write while they run."""
    store = get_hot_store()
    if store.pop(CODES, record.code_digest) is None:
        return None
    config = current_app.config
    offline = "offline_access" in record.scope.split()
    keep = config["REFRESH_TOKEN_ABSOLUTE_SECONDS"] if offline else config["ACCESS_TOKEN_LIFETIME"]
    store.put(TOMBSTONES, record.code_digest, record.client_id,
              keep + config["AUTHORIZATION_CODE_LIFETIME"])
    values = dataclasses.asdict(record)
    row = AuthorizationCode(**values, used_at=now())
    db.session.add(row)
    db.session.flush()  # its id names the tokens' grant
    return _grant(row)


def find_grant(code: str | None, client_id: str) -> Grant | None:
    """The grant a redeemed code of ``client_id`` became, while its tombstone lives (a replay)."""
    if not code or not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
        return None
    code_digest = digest(code)
    if get_hot_store().get(TOMBSTONES, code_digest) != client_id:
        return None
    return _grant(db.session.scalar(
        select(AuthorizationCode).where(AuthorizationCode.code_digest == code_digest)))


def exists_nonce(client_id: str | None, nonce: str) -> bool:
    """True when a code was issued to this client with this ``nonce`` lately (a replay)."""
    return get_hot_store().get(NONCES, _replay_key(client_id or "", nonce)) is not None


def exists_code_challenge(client_id: str | None, code_challenge: str) -> bool:
    """True when a code was issued to this client for this PKCE challenge lately."""
    return get_hot_store().get(CHALLENGES, _replay_key(client_id or "", code_challenge)) is not None
