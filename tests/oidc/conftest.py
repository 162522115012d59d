"""Helpers for the protocol tests: a relying party that records which pages the person saw, and
the cross-cutting ID token checks the conformance suite runs in most modules (CONFORMANCE.md §2a).
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
from joserfc import jwt

from tests.conftest import ISSUER, RelyingParty, query_of

ALGORITHMS = ["RS256", "PS256", "ES256"]


class TracingRelyingParty(RelyingParty):
    """A ``RelyingParty`` that remembers the gateway pages shown during the last flow."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pages: list[str] = []

    def authorize(self, method="GET", **extra):
        self.pages = []
        return super().authorize(method, **extra)

    def login(self, location, citizen=None, password=None):
        self.pages.append("login")
        return super().login(location, citizen, password)

    def consent(self, location, decision="allow"):
        self.pages.append("consent")
        return super().consent(location, decision)

    def tokens(self, **extra):
        """A full flow; returns ``(params, token response JSON)``."""
        return self.sign_in_and_get_tokens(**extra)

    def redirect_result(self, response) -> dict:
        """The query of a redirect straight to this client's ``redirect_uri`` (no UI shown)."""
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
        location = response.headers["Location"]
        assert location.startswith(self.reg["redirect_uri"] + "?"), location
        return query_of(location)


@pytest.fixture(autouse=True)
def _fast_tests(fast_signing_keys, fast_sqlite, fast_password_hashing):
    """Reused keys and password hashes, fsync-free SQLite (``tests/conftest.py``)."""


@pytest.fixture
def rp(client, factory):
    """A registered confidential relying party (``client_secret_basic``) and a citizen."""
    return TracingRelyingParty(client, factory.oauth_client(), factory.citizen())


@pytest.fixture
def make_rp(client, factory, rp):
    """Another relying party on the same browser (same cookies, so the same SSO session)."""

    def make(citizen=None, **registration):
        return TracingRelyingParty(client, factory.oauth_client(**registration),
                                   citizen or rp.citizen)

    return make


def decode_id_token(id_token: str, jwks, *, client_id: str, now: int, nonce=None):
    """Verify the signature against ``jwks_uri`` and run ``ValidateIdToken`` and friends."""
    token = jwt.decode(id_token, jwks, algorithms=ALGORITHMS)
    claims = token.claims
    assert token.header.get("kid"), "ValidateEncryptedIdTokenHasKid / kid in header"
    assert claims["iss"] == ISSUER
    aud = claims["aud"]
    assert aud == client_id or (isinstance(aud, list) and client_id in aud)
    assert now < claims["exp"] <= now + 24 * 3600
    assert now - 300 <= claims["iat"] <= now
    assert now - 365 * 86400 <= claims["auth_time"] <= now
    assert claims.get("acr") != ""
    assert isinstance(claims["sub"], str) and claims["sub"]
    if nonce is not None:
        assert claims["nonce"] == nonce
    else:
        assert "nonce" not in claims
    return token


def bearer(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}"}


def basic(client_id: str, secret: str) -> dict:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def path_of(location: str) -> str:
    return urlsplit(location).path
