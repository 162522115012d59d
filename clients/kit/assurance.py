"""Asking for an assurance level and checking the one obtained (OIDC Core §3.1.2.1 ``acr_values``,
§2 ``acr``; Decree 69/2024/NĐ-CP levels 1 and 2).

``acr_values`` is only a request: the gateway honours it as "at least" (it steps up with the
second factor, or answers ``unmet_authentication_requirements``), but a relying party must still
check the ``acr`` of the ID token it receives before it opens a service that needs the level.
The check is Authlib's own ID-token validation with an ``acr`` claim option
(``get_id_token_claims_options``), so a token below the level never signs anyone in.
"""

from __future__ import annotations

from functools import wraps

from flask import redirect, request, session, url_for

#: The levels a page may ask for, lowest first: the allow-list of ``/login?acr=``.
ACR_LEVELS = ("LoA1", "LoA2")


def check_acr_choice(acr: str | None) -> bool:
    """True for no choice (the gateway's default level) or a level of ``ACR_LEVELS``."""
    return acr is None or acr in ACR_LEVELS


def get_acceptable_acr(required: str) -> list[str]:
    """``required`` and every level above it."""
    return list(ACR_LEVELS[ACR_LEVELS.index(required):])


def check_acr(acr: str | None, required: str) -> bool:
    """Whether a sign-in at ``acr`` is enough for a page that needs ``required``."""
    return acr in get_acceptable_acr(required)


def get_id_token_claims_options(issuer: str | None, required: str | None) -> dict:
    """Authlib ``claims_options`` for the ID token: the issuer (Authlib's default, kept), and,
    when a level was asked for, an essential ``acr`` among that level and those above it."""
    options: dict = {}
    if issuer:
        options["iss"] = {"values": [issuer]}
    if required:
        options["acr"] = {"essential": True, "values": get_acceptable_acr(required)}
    return options


def acr_required(required: str):
    """Decorate a view that needs a sign-in at ``required`` or above: anyone else is sent to sign
    in again asking for it (``acr_values``), and comes back to the same page."""
    if required not in ACR_LEVELS:
        raise ValueError(f"unknown assurance level {required!r}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            claims = session.get("claims") or {}
            if not check_acr(claims.get("acr"), required):
                return redirect(url_for("portal.login", acr=required, next=request.path))
            return view(*args, **kwargs)

        return wrapped

    return decorator
