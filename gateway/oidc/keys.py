"""The provider's signing keys (RFC 7517 JWKs in the database; never in the repository).

Each key's ``kid`` is its RFC 7638 thumbprint, so ``kid`` values are distinct by construction.
One RSA key serves RS256 and PS256; one P-256 key serves ES256.

Lifecycle, derived from times only (every node reads the same rows and switches at the same
instant, with no coordination and nothing to update when it happens):

- ``next``: published in the JWKS, ``activates_at`` still ahead (``rotate-keys`` sets it
  ``KEY_ROTATION_DELAY`` seconds ahead, so relying parties' JWKS caches hold it before it signs);
- ``active``: the newest key of its ``kty`` whose ``activates_at`` has passed; it signs;
- ``retired``: a newer key of its ``kty`` has activated (``retires_at``); still published,
  for the tokens it signed, until ``unpublish_at`` = ``retires_at`` + :func:`retention_seconds`;
- ``expired``: past ``unpublish_at``: no longer published; ``prune-records`` deletes the row.

Every call picks the active key from the database by the gateway clock; only parsed keys are
cached, by ``kid`` (a key's content never changes), so no process keeps signing with a key
another node has already replaced.

Encryption at rest: ``private_jwk`` holds a Fernet token (cryptography's ``MultiFernet``) made
with ``KEY_ENCRYPTION_KEY``. Fernet rather than JWE ``dir``/``A256GCM``: it is one fixed,
authenticated construction (AES-128-CBC + HMAC-SHA256) with nothing to choose, and
``MultiFernet`` gives exactly the key-encryption-key rotation operators need (the first key
encrypts, every listed key decrypts, ``rotate`` re-encrypts under the first). A decrypted key
must have the row's ``kid`` as its thumbprint, so ciphertexts swapped between rows are refused.
Development without a key-encryption key stores the JSON, with ``encrypted`` false; ``init-db``
encrypts such rows once a key is set (production refuses to start without one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from ..clock import now
from ..config import parse_key_encryption_keys
from ..extensions import db
from .models import SigningKey

RSA_KEY_SIZE = 2048
KTY_FOR_ALG = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}
KEY_TYPES = ("RSA", "EC")

_parsed: dict[str, RSAKey | ECKey] = {}


class NoSigningKey(RuntimeError):
    """``init-db`` has not been run: there is no key to sign with."""


class KeyEncryptionError(RuntimeError):
    """A private key cannot be decrypted with ``KEY_ENCRYPTION_KEY`` (missing or wrong)."""


# -- encryption at rest ---------------------------------------------------------------------------


def _cipher() -> MultiFernet | None:
    keys = parse_key_encryption_keys(current_app.config.get("KEY_ENCRYPTION_KEY"))
    return MultiFernet([Fernet(key) for key in keys]) if keys else None


def _seal(record: SigningKey, data: dict) -> None:
    plaintext = json.dumps(data)
    cipher = _cipher()
    if cipher is None:
        record.private_jwk, record.encrypted = plaintext, False
    else:
        record.private_jwk, record.encrypted = cipher.encrypt(plaintext.encode()).decode(), True


def _unseal(record: SigningKey) -> RSAKey | ECKey:
    if record.encrypted:
        cipher = _cipher()
        if cipher is None:
            raise KeyEncryptionError(
                f"Signing key {record.kid} is encrypted, but GATEWAY_KEY_ENCRYPTION_KEY is not "
                "set.")
        try:
            plaintext = cipher.decrypt(record.private_jwk.encode())
        except InvalidToken:
            raise KeyEncryptionError(
                f"Signing key {record.kid} cannot be decrypted with GATEWAY_KEY_ENCRYPTION_KEY: "
                "a wrong key, or the one that encrypted it is no longer in the list.") from None
    else:
        plaintext = record.private_jwk
    data = json.loads(plaintext)
    cls = RSAKey if data["kty"] == "RSA" else ECKey
    key = cls.import_key(data, {"kid": record.kid, "use": "sig"})
    if key.thumbprint() != record.kid:
        raise KeyEncryptionError(f"Signing key {record.kid}: the stored key is another key.")
    return key


def encrypt_stored_keys() -> dict:
    """Bring every row under the first ``KEY_ENCRYPTION_KEY`` (``init-db``; idempotent):
    encrypt plaintext rows, re-encrypt rows made with a later key of the list, and check every
    row decrypts (``KeyEncryptionError`` otherwise, before anything is written). Without a
    key-encryption key (development) only the check runs. Caller commits."""
    cipher = _cipher()
    records = db.session.scalars(select(SigningKey).order_by(SigningKey.id)).all()
    for record in records:
        _unseal(record)
    counts = {"encrypted": 0, "re_encrypted": 0, "unencrypted": 0}
    if cipher is None:
        counts["unencrypted"] = sum(not record.encrypted for record in records)
        return counts
    primary = Fernet(parse_key_encryption_keys(current_app.config["KEY_ENCRYPTION_KEY"])[0])
    for record in records:
        if not record.encrypted:
            record.private_jwk = cipher.encrypt(record.private_jwk.encode()).decode()
            record.encrypted = True
            counts["encrypted"] += 1
            continue
        try:
            primary.decrypt(record.private_jwk.encode())
        except InvalidToken:
            record.private_jwk = cipher.rotate(record.private_jwk.encode()).decode()
            counts["re_encrypted"] += 1
    return counts


def check_stored_keys() -> None:
    """``KeyEncryptionError`` unless every stored private key decrypts (before adding keys
    under a key-encryption key that could not read the others)."""
    for record in db.session.scalars(select(SigningKey)):
        _unseal(record)


# -- lifecycle ------------------------------------------------------------------------------------


def retention_seconds() -> int:
    """How long a retired key stays published: the longest lifetime of anything it signed (ID
    tokens, JWT access tokens, logout tokens; ID tokens also come back as ``id_token_hint``
    while the SSO session lasts) plus ``KEY_RETENTION_MARGIN``."""
    config = current_app.config
    return max(config["ID_TOKEN_LIFETIME"], config["ACCESS_TOKEN_LIFETIME"],
               config["LOGOUT_TOKEN_LIFETIME"], config["SSO_SESSION_LIFETIME"]
               ) + config["KEY_RETENTION_MARGIN"]


@dataclass(frozen=True)
class KeyStatus:
    record: SigningKey
    #: ``next``, ``active``, ``retired`` or ``expired`` (see the module docstring).
    state: str
    #: When a newer key of the same type takes over (None: no successor yet).
    retires_at: int | None
    #: When it leaves the JWKS (None while it has no successor).
    unpublish_at: int | None

    def as_dict(self) -> dict:
        return {"kid": self.record.kid, "kty": self.record.kty, "state": self.state,
                "activates_at": self.record.activates_at, "retires_at": self.retires_at,
                "unpublish_at": self.unpublish_at, "encrypted": self.record.encrypted}


def key_statuses(at: int | None = None) -> list[KeyStatus]:
    """Every stored key with its state at ``at`` (default: now), by type, oldest first."""
    at = now() if at is None else at
    keep = retention_seconds()
    records = db.session.scalars(
        select(SigningKey).order_by(SigningKey.kty.desc(), SigningKey.activates_at, SigningKey.id)
    ).all()
    statuses = []
    for index, record in enumerate(records):
        following = records[index + 1] if index + 1 < len(records) else None
        retires_at = following.activates_at if following and following.kty == record.kty else None
        unpublish_at = retires_at + keep if retires_at is not None else None
        if record.activates_at > at:
            state = "next"
        elif retires_at is None or retires_at > at:
            state = "active"
        elif at < unpublish_at:
            state = "retired"
        else:
            state = "expired"
        statuses.append(KeyStatus(record, state, retires_at, unpublish_at))
    return statuses


def _generate(kty: str) -> RSAKey | ECKey:
    if kty == "RSA":
        return RSAKey.generate_key(RSA_KEY_SIZE, private=True)
    return ECKey.generate_key("P-256", private=True)


def _store(key: RSAKey | ECKey, activates_at: int) -> SigningKey:
    kid = key.thumbprint()
    data = key.as_dict(private=True)
    data.update(kid=kid, use="sig")
    record = SigningKey(kid=kid, kty=data["kty"], activates_at=activates_at)
    _seal(record, data)
    db.session.add(record)
    return record


def _activated(kty: str, at: int):
    return select(SigningKey).where(SigningKey.kty == kty, SigningKey.activates_at <= at)


def create_signing_keys() -> list[SigningKey]:
    """Make a key of each type that has none signing (``init-db``). Idempotent. Caller commits.

    Such a key signs "from the start" (``activates_at`` 0), not from now: a node whose clock is
    a moment behind the one that ran ``init-db`` must not find itself without a key."""
    return [_store(_generate(kty), 0) for kty in KEY_TYPES
            if db.session.scalar(_activated(kty, now()).limit(1)) is None]


def rotate_keys(immediately: bool = False) -> list[SigningKey]:
    """Publish a new key of each type, signing from ``KEY_ROTATION_DELAY`` seconds on; a type
    that already has a ``next`` key keeps it (running this twice does not push the switch out).

    ``immediately``: the new keys sign from now (a compromised key), and ``next`` keys not yet
    used are deleted, so none of them takes over later. Either way the keys replaced stay
    published until their tokens have expired. Caller commits."""
    at = now()
    activates_at = at if immediately else at + current_app.config["KEY_ROTATION_DELAY"]
    made = []
    for kty in KEY_TYPES:
        pending = db.session.scalars(
            select(SigningKey).where(SigningKey.kty == kty, SigningKey.activates_at > at)
        ).all()
        if pending and not immediately:
            continue
        for record in pending:
            _parsed.pop(record.kid, None)
            db.session.delete(record)
        made.append(_store(_generate(kty), activates_at))
    db.session.flush()
    return made


def delete_expired_signing_keys() -> int:
    """Delete the keys past ``unpublish_at`` (``prune-records``); returns how many. Caller
    commits."""
    expired = [status.record for status in key_statuses() if status.state == "expired"]
    for record in expired:
        _parsed.pop(record.kid, None)
        db.session.delete(record)
    db.session.flush()
    return len(expired)


# -- use ------------------------------------------------------------------------------------------


def _load(record: SigningKey) -> RSAKey | ECKey:
    key = _parsed.get(record.kid)
    if key is None:
        key = _parsed[record.kid] = _unseal(record)
    return key


def get_signing_key(alg: str) -> RSAKey | ECKey:
    """The active private key for ``alg`` (its ``kid`` is set), chosen by the time now."""
    record = db.session.scalar(
        _activated(KTY_FOR_ALG[alg], now())
        .order_by(SigningKey.activates_at.desc(), SigningKey.id.desc()).limit(1)
    )
    if record is None:
        raise NoSigningKey("no active signing key: run `flask --app gateway init-db`")
    return _load(record)


def get_public_jwks() -> dict:
    """The JWKS published at ``jwks_uri``: public parts of next, active and retired keys."""
    keys = []
    for status in sorted(key_statuses(), key=lambda status: status.record.id):
        if status.state == "expired":
            continue
        public = _load(status.record).as_dict(private=False)
        public.update(kid=status.record.kid, use="sig")
        keys.append(public)
    return {"keys": keys}


def get_public_key_set() -> KeySet:
    return KeySet.import_key_set(get_public_jwks())


class _HintClaims(jwt.JWTClaimsRegistry):
    def validate_exp(self, value) -> None:
        """OIDC Core §3.1.2.1, RP-Initiated Logout §2: an expired ID token is still a hint."""


def decode_id_token_hint(hint: str, issuer: str, now) -> dict:
    """The claims of an ID token this provider issued, or ``ValueError``.

    Checks the signature against our published keys (so ``alg: none`` and foreign keys fail),
    ``iss``, and ``iat`` not in the future by the gateway's clock ``now`` (a callable)."""
    try:
        token = jwt.decode(hint, get_public_key_set(), algorithms=list(KTY_FOR_ALG))
        _HintClaims(now=now, leeway=60, iss={"essential": True, "value": issuer},
                    sub={"essential": True}).validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError("not an ID token issued here") from exc
    return dict(token.claims)
