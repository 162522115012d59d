"""Which claims a scope releases (OIDC Core §5.4), and their values for a citizen.

Only the standard claims of the granted scopes are released, nothing else. The personal ID
number is released only under the explicit ``personal_id`` scope (DOMAIN.md §6).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core import UserInfo

from ..identity.models import Citizen

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name", "family_name", "given_name", "middle_name", "gender", "birthdate",
        "zoneinfo", "locale", "updated_at",
    ),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
    "personal_id": ("personal_id",),
}

#: Scopes the provider understands (advertised as ``scopes_supported``).
SCOPES_SUPPORTED = ["openid", *SCOPE_CLAIMS]

#: Claims that can ever be released (advertised as ``claims_supported``).
CLAIMS_SUPPORTED = sorted(
    {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash"}
    | {claim for claims in SCOPE_CLAIMS.values() for claim in claims}
)


def _address(citizen: Citizen) -> dict | None:
    parts = {
        "street_address": citizen.street_address,
        "locality": citizen.locality,
        "region": citizen.region,
        "country": "VN",
    }
    lines = [citizen.street_address, citizen.locality, citizen.region]
    formatted = ", ".join(p for p in lines if p)
    if not formatted:
        return None
    parts["formatted"] = formatted + ", Việt Nam"
    return {k: v for k, v in parts.items() if v}


def _all_claims(citizen: Citizen) -> dict:
    return {
        "name": citizen.full_name,
        "family_name": citizen.family_name,
        "given_name": citizen.given_name,
        "middle_name": citizen.middle_name or None,
        "gender": citizen.gender,
        "birthdate": citizen.birthdate.isoformat(),
        "zoneinfo": "Asia/Ho_Chi_Minh",
        "locale": "vi-VN",
        "updated_at": int(citizen.updated_at.timestamp()) if citizen.updated_at else None,
        "email": citizen.email,
        "email_verified": bool(citizen.email_verified) if citizen.email else None,
        "phone_number": citizen.phone_number,
        "phone_number_verified": bool(citizen.phone_number_verified)
        if citizen.phone_number else None,
        "address": _address(citizen),
        "personal_id": citizen.personal_id,
    }


def get_subject(citizen: Citizen, client=None) -> str:
    """The ``sub`` for this citizen as seen by ``client`` (public subject for now)."""
    return citizen.subject


def create_user_info(citizen: Citizen, scope: str, client=None) -> UserInfo:
    """``sub`` plus the claims of the granted scopes that have a value."""
    released = {"sub": get_subject(citizen, client)}
    values = _all_claims(citizen)
    for name in scope_to_list(scope) or []:
        for claim in SCOPE_CLAIMS.get(name, ()):
            if values.get(claim) is not None:
                released[claim] = values[claim]
    return UserInfo(released)


def describe_scopes(scope: str) -> list[str]:
    """The scopes of a request that release claims, in a stable order (for the consent page)."""
    requested = set(scope_to_list(scope) or [])
    return [name for name in SCOPE_CLAIMS if name in requested]
