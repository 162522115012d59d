"""Assurance levels as the protocol sees them: ordered ``acr`` values honoured as "at least"
(OIDC Core §3.1.2.1 ``acr_values``, §5.5.1.1 the ``acr`` claim request; the levels themselves
are the province's, ``ACR_VALUES`` in ``gateway/config.py``).

A request asking for more than the session has must step up, or end with
``unmet_authentication_requirements`` when the person cannot reach it. What a person *can*
reach is the account side's answer (``ports.AccountSource.get_reachable_acr``).
"""

from __future__ import annotations

import json

from authlib.oauth2 import OAuth2Error
from flask import current_app


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Core 1.0 errata set 2, §3.1.2.6: the requested level cannot be met."""

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


def check_sso_reusable(acr: str) -> bool:
    """Single sign-on reuses a session silently only up to ``SSO_REUSE_MAX_ACR``."""
    return acr_rank(acr) <= acr_rank(current_app.config["SSO_REUSE_MAX_ACR"])
