"""Subjects and claims: which claims a scope releases (OIDC Core §5.4), the ``claims`` request
parameter (§5.5), and the ``sub`` each client sees (§8: pairwise by default).

Only the claims of the granted scopes, or individually requested through ``claims``, are
released, nothing else. The personal ID number is released only under the explicit
``personal_id`` scope (or the ``national_portal`` alias scope, which includes it)
(docs/domain.md §6). The ``organisation`` scope releases the business the person acts for, if they
chose one at sign-in; then ``LoaiTaiKhoan`` is the organisation account type (docs/domain.md §2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import InvalidRequestError, scope_to_list
from authlib.oidc.core import UserInfo
from flask import current_app

from .ports import Account

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name", "family_name", "given_name", "middle_name", "gender", "birthdate",
        "zoneinfo", "locale", "updated_at",
    ),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
    "personal_id": ("personal_id",),
    # Names agency apps know from the national public-service portal (docs/domain.md §2).
    "national_portal": ("SoDinhDanh", "HoVaTen", "NgayThangNamSinh", "GioiTinh", "LoaiTaiKhoan"),
    # Acting for a business (issue 4 §6): released only when the person chose, at sign-in, a
    # business they represent; ``represents`` is {tax_code, name, role}.
    "organisation": ("represents", "MaSoThue", "TenDoanhNghiep", "NguoiDaiDien"),
}

#: Scopes the provider understands (advertised as ``scopes_supported``).
SCOPES_SUPPORTED = ["openid", *SCOPE_CLAIMS]

#: Claims the ID token always carries (never "released" by a scope).
ID_TOKEN_CLAIMS = {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
                   "at_hash"}

#: Claims that can ever be released (advertised as ``claims_supported``).
CLAIMS_SUPPORTED = sorted(
    ID_TOKEN_CLAIMS | {claim for claims in SCOPE_CLAIMS.values() for claim in claims}
)

_SCOPE_OF_CLAIM = {claim: scope for scope, claims in SCOPE_CLAIMS.items() for claim in claims}


# -- subjects ------------------------------------------------------------------------------------


def get_sector_identifier(client) -> str:
    """OIDC Core §8.1: the host of ``sector_identifier_uri``, else of the redirect URIs."""
    metadata = client.client_metadata
    uri = metadata.get("sector_identifier_uri") or (metadata.get("redirect_uris") or [""])[0]
    return urlsplit(uri).hostname or client.client_id


def get_subject_type(client) -> str:
    if client is None:
        return "public"
    return client.client_metadata.get("subject_type") or current_app.config["SUBJECT_TYPE_DEFAULT"]


def get_subject(account: Account, client=None) -> str:
    """The ``sub`` for this person as seen by ``client``.

    Pairwise (OIDC Core §8.1): HMAC-SHA256 over the sector identifier and the person's
    stable local identifier, keyed with ``PAIRWISE_SALT``: stable for one sector, unlinkable
    across sectors. Public: the person's stable opaque subject (never the ID number).
    """
    if get_subject_type(client) != "pairwise":
        return account.subject
    key = current_app.config["PAIRWISE_SALT"].encode("utf-8")
    message = f"{get_sector_identifier(client)}|{account.subject}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# -- the ``claims`` request parameter ------------------------------------------------------------


def parse_claims_request(raw: str | dict | None) -> dict | None:
    """Validate the ``claims`` parameter (OIDC Core §5.5); raise ``InvalidRequestError``.

    A JSON string from the query, or already an object inside a request object (RFC 9101)."""
    if not raw:
        return None
    if isinstance(raw, dict):
        value = raw
    else:
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise InvalidRequestError("'claims' is not valid JSON.") from exc
    if not isinstance(value, dict) or set(value) - {"userinfo", "id_token"}:
        raise InvalidRequestError("'claims' must be an object with 'userinfo' and/or 'id_token'.")
    for member in value.values():
        if not isinstance(member, dict):
            raise InvalidRequestError("'claims' members must be JSON objects.")
        for request in member.values():
            if request is not None and not isinstance(request, dict):
                raise InvalidRequestError("Each requested claim must be null or an object.")
    return value


def scopes_for_claims(claims_request: dict | None) -> list[str]:
    """The scopes whose consent covers the individually requested claims (for the consent page)."""
    names = set()
    for member in (claims_request or {}).values():
        names.update(member)
    return sorted({_SCOPE_OF_CLAIM[n] for n in names if n in _SCOPE_OF_CLAIM})


# -- release ---------------------------------------------------------------------------------------
# The values come from the account side (``ports.AccountSource.find_account``); this module only
# decides which of them a client receives.


def create_represents_claims(account: Account, scope: str) -> dict:
    """For the ID token: the business acted for, when ``organisation`` was granted (and the
    account side found the chosen representation still valid)."""
    scopes = scope_to_list(scope) or []
    if "organisation" not in scopes:
        return {}
    values = account.claims
    claims = {name: values[name] for name in SCOPE_CLAIMS["organisation"]
              if values.get(name) is not None}
    if claims and "national_portal" in scopes:  # as in UserInfo: the alias comes with its scope
        claims["LoaiTaiKhoan"] = values.get("LoaiTaiKhoan")
    return claims


def _allowed_scopes(client) -> set[str]:
    return set(scope_to_list(client.scope) or []) if client is not None else set()


def create_user_info(account: Account, scope: str, client=None,
                     requested: dict | None = None) -> UserInfo:
    """``sub`` plus the claims of the granted scopes, plus claims requested individually
    through ``claims`` (``requested`` is its ``userinfo`` member) whose scope the client is
    registered for. The consent page covered both (``scopes_for_claims``)."""
    released = {"sub": get_subject(account, client)}
    values = account.claims
    for name in scope_to_list(scope) or []:
        for claim in SCOPE_CLAIMS.get(name, ()):
            if values.get(claim) is not None:
                released[claim] = values[claim]
    allowed = _allowed_scopes(client)
    for claim in requested or {}:
        if _SCOPE_OF_CLAIM.get(claim) in allowed and values.get(claim) is not None:
            released[claim] = values[claim]
    return UserInfo(released)


def create_id_token_claims(account: Account, client, requested: dict | None) -> dict:
    """Claims asked for in the ``id_token`` member of ``claims`` (OIDC Core §5.5)."""
    values = account.claims
    allowed = _allowed_scopes(client)
    return {
        claim: values[claim]
        for claim in requested or {}
        if claim not in ID_TOKEN_CLAIMS
        and _SCOPE_OF_CLAIM.get(claim) in allowed
        and values.get(claim) is not None
    }


def describe_scopes(scope: str) -> list[str]:
    """The scopes of a request that release claims, in a stable order (for the consent page)."""
    requested = set(scope_to_list(scope) or [])
    described = [name for name in SCOPE_CLAIMS if name in requested]
    # Not a claim, but the person must know the app keeps access (OIDC Core §11).
    if "offline_access" in requested:
        described.append("offline_access")
    return described
