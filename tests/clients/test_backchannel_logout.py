"""The portals' ``/backchannel-logout`` (OpenID Connect Back-Channel Logout 1.0 §2.6, §2.8):
a valid logout token ends the matching sign-in; anything else gets 400 and changes nothing.

The gateway here is a small HTTP server on 127.0.0.1 publishing discovery and a JWKS, so the
portal fetches the keys as it does in the demo.
"""

from __future__ import annotations

import secrets
import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from clients.kit import create_portal_app, load_settings
from tests.clients.stand_in import StandInProvider

EVENT = "http://schemas.openid.net/event/backchannel-logout"
CLIENT_ID = "test-portal"


class FakeGateway(StandInProvider):
    """Discovery and JWKS of a provider whose signing key the test holds."""

    def __init__(self):
        super().__init__(kid="gw-1")

    def logout_token(self, key=None, header=None, **overrides) -> str:
        key = key or self.key
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120,
                  "jti": secrets.token_urlsafe(16), "events": {EVENT: {}},
                  "sub": "pairwise-sub-1", "sid": "sid-1"}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "logout+jwt",
                           **(header or {})}, claims, key)


@pytest.fixture(scope="module")
def gateway():
    with FakeGateway() as site:
        yield site


@pytest.fixture
def client(gateway):
    settings = load_settings(environ={
        "PORTAL_ISSUER": gateway.issuer, "PORTAL_CLIENT_ID": CLIENT_ID,
        "PORTAL_CLIENT_SECRET": "test-secret", "PORTAL_BASE_URL": "http://127.0.0.1:5001",
        "PORTAL_SECRET_KEY": "test-secret-key",
    }, session_cookie_name="test_portal_session")
    app = create_portal_app(settings)
    app.config["TESTING"] = True
    return app.test_client()


def sign_in(client, sid="sid-1", sub="pairwise-sub-1"):
    with client.session_transaction() as session:
        session["claims"] = {"sub": sub, "sid": sid, "name": "Nguyễn Văn An", "acr": "LoA1"}
        session["id_token"] = "header.payload.signature"
        session["signed_in_at"] = time.time() - 5


def is_signed_in(client) -> bool:
    page = client.get("/").get_data(as_text=True)
    return 'data-testid="sign-out"' in page


def post_logout(client, token):
    return client.post("/backchannel-logout", data={"logout_token": token})


def test_backchannel_logout_valid_token_ends_matching_session(client, gateway):
    """§2.6-§2.8: 200, and the browser signed in under that ``sid`` is signed out."""
    sign_in(client)
    assert is_signed_in(client)
    response = post_logout(client, gateway.logout_token())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert not is_signed_in(client)


def test_backchannel_logout_other_sid_stays_signed_in(client, gateway):
    sign_in(client, sid="sid-other")
    assert post_logout(client, gateway.logout_token(sid="sid-1")).status_code == 200
    assert is_signed_in(client)


def test_backchannel_logout_sub_only_ends_earlier_sign_ins_of_that_sub(client, gateway):
    """§2.4: a token with ``sub`` and no ``sid`` ends that person's sessions."""
    sign_in(client, sid="sid-x", sub="pairwise-sub-9")
    assert post_logout(client, gateway.logout_token(sid=None, sub="pairwise-sub-9")
                       ).status_code == 200
    assert not is_signed_in(client)


@pytest.mark.parametrize("case", [
    "foreign_key", "wrong_iss", "wrong_aud", "iat_future", "iat_old", "expired", "no_events",
    "wrong_event", "no_sid_or_sub", "nonce", "no_jti", "id_token_typ", "alg_none", "garbage",
    "sid_list", "sub_object", "iat_bool", "jti_list",
])
def test_backchannel_logout_invalid_token_refused(client, gateway, case):
    """§2.6: each check refuses the token with 400 (§2.8) and the session survives."""
    now = int(time.time())
    other_key = RSAKey.generate_key(2048, {"kid": "gw-1"}, private=True)
    tokens = {
        "foreign_key": lambda: gateway.logout_token(key=other_key),
        "wrong_iss": lambda: gateway.logout_token(iss="https://evil.example"),
        "wrong_aud": lambda: gateway.logout_token(aud="another-portal"),
        "iat_future": lambda: gateway.logout_token(iat=now + 3600),
        "iat_old": lambda: gateway.logout_token(iat=now - 3600, exp=now + 60),
        "expired": lambda: gateway.logout_token(iat=now - 300, exp=now - 200),
        "no_events": lambda: gateway.logout_token(events=None),
        "wrong_event": lambda: gateway.logout_token(events={"urn:other": {}}),
        "no_sid_or_sub": lambda: gateway.logout_token(sid=None, sub=None),
        "nonce": lambda: gateway.logout_token(nonce="n-1"),
        "no_jti": lambda: gateway.logout_token(jti=None),
        "id_token_typ": lambda: gateway.logout_token(header={"typ": "JWT"}),
        "alg_none": lambda: "eyJhbGciOiJub25lIn0." + gateway.logout_token().split(".")[1] + ".",
        "garbage": lambda: "not-a-jwt",
        "sid_list": lambda: gateway.logout_token(sid=["sid-1"]),
        "sub_object": lambda: gateway.logout_token(sid=None, sub={"x": 1}),
        "iat_bool": lambda: gateway.logout_token(iat=True),
        "jti_list": lambda: gateway.logout_token(jti=["x"]),
    }
    sign_in(client)
    response = post_logout(client, tokens[case]())
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert is_signed_in(client)


def test_backchannel_logout_replayed_jti_refused(client, gateway):
    """§2.6 step 10: a ``jti`` already used is refused."""
    token = gateway.logout_token(sid="sid-replay")
    assert post_logout(client, token).status_code == 200
    assert post_logout(client, token).status_code == 400


def test_backchannel_logout_unknown_kids_refetch_keys_at_most_once_a_minute(client, gateway):
    """Anyone can post a token naming an unknown ``kid``: the portal fetches the gateway's keys
    again for the first one (key rotation) but not for every one."""
    stranger = RSAKey.generate_key(2048, private=True)
    before = gateway.jwks_fetches
    for n in range(5):
        token = gateway.logout_token(key=stranger, header={"kid": f"rotated-{n}"})
        assert post_logout(client, token).status_code == 400
    assert gateway.jwks_fetches - before <= 2  # the cached fetch, plus one forced refetch


def test_backchannel_logout_missing_token_refused(client):
    assert client.post("/backchannel-logout", data={}).status_code == 400
    assert client.post("/backchannel-logout", json={"logout_token": "x"}).status_code == 400


# -- front-channel (OpenID Connect Front-Channel Logout 1.0) -------------------------------------


def test_frontchannel_logout_with_iss_and_sid_ends_that_session(client, gateway):
    """Front-Channel Logout §2: ``iss`` is the gateway, ``sid`` names the session to end; the
    answer may be framed by the gateway only."""
    sign_in(client, sid="sid-fc")
    response = client.get("/frontchannel-logout",
                          query_string={"iss": gateway.issuer, "sid": "sid-fc"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert f"frame-ancestors {gateway.issuer}" in response.headers["Content-Security-Policy"]
    assert not is_signed_in(client)


def test_frontchannel_logout_other_sid_leaves_this_browser_signed_in(client, gateway):
    sign_in(client, sid="sid-mine")
    response = client.get("/frontchannel-logout",
                          query_string={"iss": gateway.issuer, "sid": "sid-someone-else"})
    assert response.status_code == 200
    assert is_signed_in(client)


@pytest.mark.parametrize("query", [
    {"iss": "https://evil.example", "sid": "sid-1"}, {"iss": "__gateway__"}, {"sid": "sid-1"},
])
def test_frontchannel_logout_wrong_or_partial_parameters_refused(client, gateway, query):
    sign_in(client, sid="sid-1")
    query = {k: (gateway.issuer if v == "__gateway__" else v) for k, v in query.items()}
    assert client.get("/frontchannel-logout", query_string=query).status_code == 400
    assert is_signed_in(client)


def test_frontchannel_logout_without_parameters_ends_this_browser_session(client):
    sign_in(client)
    assert client.get("/frontchannel-logout").status_code == 200
    assert not is_signed_in(client)
