"""The provider's signing keys (RFC 7517 JWKs in the database; never in the repository).

Each key's ``kid`` is its RFC 7638 thumbprint, so ``kid`` values are distinct by construction.
One RSA key serves RS256 and PS256; one P-256 key serves ES256. Rotation adds new keys and keeps
the retired ones published, so tokens signed before the rotation still verify.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from ..extensions import db
from .models import SigningKey

RSA_KEY_SIZE = 2048
KTY_FOR_ALG = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}

_parsed: dict[str, RSAKey | ECKey] = {}


def _generate(kty: str) -> RSAKey | ECKey:
    if kty == "RSA":
        return RSAKey.generate_key(RSA_KEY_SIZE, private=True)
    return ECKey.generate_key("P-256", private=True)


def _store(key: RSAKey | ECKey) -> SigningKey:
    kid = key.thumbprint()
    data = key.as_dict(private=True)
    data.update(kid=kid, use="sig")
    record = SigningKey(kid=kid, kty=data["kty"], private_jwk=json.dumps(data), active=True)
    db.session.add(record)
    return record


def create_signing_keys() -> list[SigningKey]:
    """Make one active key of each type that has none. Idempotent. Caller commits."""
    made = []
    for kty in ("RSA", "EC"):
        exists = db.session.scalar(
            select(SigningKey).where(SigningKey.kty == kty, SigningKey.active.is_(True))
        )
        if exists is None:
            made.append(_store(_generate(kty)))
    return made


def rotate_keys() -> list[SigningKey]:
    """Retire the active keys (still published) and make new ones. Caller commits."""
    for record in db.session.scalars(select(SigningKey).where(SigningKey.active.is_(True))):
        record.active = False
        record.retired_at = datetime.now(UTC)
    db.session.flush()
    return create_signing_keys()


def _load(record: SigningKey) -> RSAKey | ECKey:
    key = _parsed.get(record.kid)
    if key is None:
        data = record.jwk
        cls = RSAKey if data["kty"] == "RSA" else ECKey
        key = cls.import_key(data, {"kid": record.kid, "use": "sig"})
        _parsed[record.kid] = key
    return key


class NoSigningKey(RuntimeError):
    """``init-db`` has not been run: there is no key to sign with."""


def get_signing_key(alg: str) -> RSAKey | ECKey:
    """The active private key for ``alg`` (its ``kid`` is set)."""
    record = db.session.scalar(
        select(SigningKey)
        .where(SigningKey.kty == KTY_FOR_ALG[alg], SigningKey.active.is_(True))
        .order_by(SigningKey.id.desc())
    )
    if record is None:
        raise NoSigningKey("no active signing key: run `flask --app gateway init-db`")
    return _load(record)


def get_public_jwks() -> dict:
    """The JWKS published at ``jwks_uri``: public parts of active and retired keys."""
    records = db.session.scalars(select(SigningKey).order_by(SigningKey.id))
    keys = []
    for record in records:
        public = _load(record).as_dict(private=False)
        public.update(kid=record.kid, use="sig")
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
