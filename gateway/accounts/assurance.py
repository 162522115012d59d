"""What level a person reaches (the province's levels of assurance): ``LoA1`` is a
password sign-in; ``LoA2`` needs an identity verified in person at the commune (level 2) *and*
a second factor in this session. The ordering and "at least" rules of ``acr`` are the
protocol's (``oidc/assurance.py``)."""

from __future__ import annotations


def get_reachable_acr(citizen, has_second_factor: bool) -> str:
    """The highest level this person can reach with the factors they have."""
    if citizen.assurance_level >= 2 and has_second_factor:
        return "LoA2"
    return "LoA1"


def get_session_acr(citizen, amr: list[str]) -> str:
    """The level a sign-in with these methods (RFC 8176 ``amr``) reaches."""
    second_factor = any(method in amr for method in ("otp", "mca"))
    return get_reachable_acr(citizen, second_factor)
