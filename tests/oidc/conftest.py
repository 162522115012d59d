"""Helpers for the protocol tests: a relying party that records which pages the person saw, and
the cross-cutting ID token checks the conformance suite runs in most modules
(docs/conformance.md §2a).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


# -- dynamic registration (RFC 7591/7592) and private_key_jwt (RFC 7523) ---------------------------


class ClientSite:
    """A relying party's own web site on 127.0.0.1, serving its ``jwks_uri`` and
    ``sector_identifier_uri`` documents to the gateway (through the guarded outbound client)."""

    def __init__(self):
        self.documents: dict[str, object] = {}
        #: Documents served as they are (not as JSON), e.g. request objects.
        self.raw: dict[str, bytes] = {}
        self.fetches: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                site.fetches[self.path] = site.fetches.get(self.path, 0) + 1
                if self.path not in site.documents:
                    self.send_response(404)
                    self.end_headers()
                    return
                raw = site.raw.get(self.path)
                body = raw if raw is not None else json.dumps(site.documents[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/oauth-authz-req+jwt" if raw
                                 else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def client_site():
    site = ClientSite()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture(autouse=True)
def _fresh_client_key_cache():
    """The fetched-JWKS cache lives in the process: no test sees another's documents."""
    from gateway.oidc import client_keys

    client_keys._cache.clear()
    yield
    client_keys._cache.clear()


def make_client_key(kid: str, kty: str = "RSA"):
    from joserfc.jwk import ECKey, RSAKey

    if kty == "EC":
        return ECKey.generate_key("P-256", {"kid": kid, "use": "sig"}, private=True)
    return RSAKey.generate_key(2048, {"kid": kid, "use": "sig"}, private=True)


def public_jwks(*keys) -> dict:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def issue_registration_token(runner, *args) -> dict:
    result = runner.invoke(args=["issue-registration-token", "--agency-name",
                                 "Sở Tư pháp tỉnh Vĩnh Long", "--level", "province",
                                 "--unit-code", "86", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def initial_access_token(runner) -> str:
    return issue_registration_token(runner)["initial_access_token"]


def register(http, token: str | None, metadata, method="POST", url="/register"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.open(url, method=method, json=metadata, headers=headers)


class DynamicRelyingParty(TracingRelyingParty):
    """A relying party that registered itself; authenticates with ``private_key_jwt`` when it
    registered so, signing with ``self.key`` and ``aud`` = ``self.assertion_aud``."""

    def __init__(self, client, registration: dict, citizen, key=None):
        reg = dict(registration)
        reg.setdefault("redirect_uri", registration["redirect_uris"][0])
        reg["auth_method"] = registration["token_endpoint_auth_method"]
        reg.setdefault("client_secret", None)
        super().__init__(client, reg, citizen)
        self.registration = registration  # the registration response, as received
        self.key = key
        self.assertion_aud = ISSUER + "/token"
        self.now = None

    def client_assertion(self, **overrides) -> str:
        issued = self.now() if self.now else int(time.time())
        claims = {"iss": self.reg["client_id"], "sub": self.reg["client_id"],
                  "aud": self.assertion_aud, "jti": secrets.token_urlsafe(16),
                  "iat": issued, "exp": issued + 60}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        alg = "ES256" if self.key.key_type == "EC" else "RS256"
        return jwt.encode({"alg": alg, "kid": self.key.kid}, claims, self.key)

    def token(self, code, verifier=None, assertion=None, **extra):
        if self.reg["auth_method"] != "private_key_jwt":
            return super().token(code, verifier, **extra)
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.reg["redirect_uri"],
                "code_verifier": verifier or self.verifier,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion or self.client_assertion()}
        data.update(extra)
        return self.http.post("/token", data={k: v for k, v in data.items() if v is not None})


@pytest.fixture
def register_rp(client, factory, initial_access_token, clock):
    """Register a client through ``/register`` and return a ``DynamicRelyingParty`` for it."""

    def make(key=None, citizen=None, **metadata):
        metadata.setdefault("redirect_uris", ["https://rp.example.vn/callback"])
        metadata.setdefault("client_name", "Cổng thông tin Sở Tư pháp")
        response = register(client, initial_access_token, metadata)
        assert response.status_code == 201, response.get_json()
        party = DynamicRelyingParty(client, response.get_json(), citizen or factory.citizen(),
                                    key)
        party.now = clock.now
        return party

    return make
