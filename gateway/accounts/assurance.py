"""Assurance levels: ordered ``acr`` values honoured as "at least" (DOMAIN.md §2, §6).

``LoA1`` is a password sign-in; ``LoA2`` needs an identity verified in person at the commune
(level 2) *and* a second factor in this session. A request asking for more than the session has
must step up, or end with ``unmet_authentication_requirements`` when the person cannot reach it.
"""

from __future__ import annotations

import json

from authlib.oauth2 import OAuth2Error
from flask import current_app


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Core 1.0 errata set 2, §3.1.2.6 / OpenID Connect Core ``acr`` rules."""

    error = "unmet_authentication_requirements"
    description = "The requested assurance level cannot be reached for this person."


def acr_rank(acr: str | None) -> int:
    """Position in the ordered list (0 = lowest); unknown values rank -1."""
    values = current_app.config["ACR_VALUES"]
    return values.index(acr) if acr in values else -1


def get_required_acr(params) -> str | None:
    """The lowest known level among ``acr_values`` and an ``acr`` claim request (§5.5.1.1).

    Unknown values are ignored (voluntary claims); None when nothing known is asked for."""
    asked = (params.get("acr_values") or "").split()
    raw_claims = params.get("claims")
    if raw_claims:
        try:
            acr_request = (json.loads(raw_claims).get("id_token") or {}).get("acr") or {}
        except (ValueError, AttributeError):
            acr_request = {}
        if isinstance(acr_request, dict):
            asked += acr_request.get("values") or ([acr_request["value"]]
                                                   if acr_request.get("value") else [])
    known = [value for value in asked if isinstance(value, str) and acr_rank(value) >= 0]
    if not known:
        return None
    return min(known, key=acr_rank)


def get_reachable_acr(citizen, has_second_factor: bool) -> str:
    """The highest level this person can reach with the factors they have."""
    if citizen.assurance_level >= 2 and has_second_factor:
        return "LoA2"
    return "LoA1"


def get_session_acr(citizen, amr: list[str]) -> str:
    """The level a sign-in with these methods (RFC 8176 ``amr``) reaches."""
    second_factor = any(method in amr for method in ("otp", "mca"))
    return get_reachable_acr(citizen, second_factor)


def check_sso_reusable(acr: str) -> bool:
    """Single sign-on reuses a session silently only up to ``SSO_REUSE_MAX_ACR``."""
    return acr_rank(acr) <= acr_rank(current_app.config["SSO_REUSE_MAX_ACR"])
