"""Modules of the Dynamic plan (CONFORMANCE.md §2d) that apply without dynamic registration:
clients are registered by the operator, so these run against CLI-registered metadata."""

from __future__ import annotations

import pytest
from joserfc import jwt

from tests.conftest import ISSUER
from tests.oidc.conftest import TracingRelyingParty, bearer


def _set_metadata(app, client_id, **changes):
    from gateway.extensions import db
    from gateway.oidc.storage import get_client

    with app.app_context():
        client = get_client(client_id)
        client.set_client_metadata({**client.client_metadata, **changes})
        db.session.commit()


@pytest.mark.parametrize("rotated", [False, True], ids=["one_key", "after_rotation"])
def test_oidcc_userinfo_rs256_signed_response(app, rp, client, runner, rotated):
    """oidcc-userinfo-rs256 (OIDC Core §5.3.2): a client registered with
    ``userinfo_signed_response_alg=RS256`` gets ``application/jwt`` signed by a key named by
    ``kid`` in ``jwks_uri``, with ``iss`` and ``aud``, and the same ``sub``."""
    from joserfc.jwk import KeySet

    _set_metadata(app, rp.reg["client_id"], userinfo_signed_response_alg="RS256")
    if rotated:
        runner.invoke(args=["rotate-keys"])
    _, tokens = rp.tokens()
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200 and response.mimetype == "application/jwt"
    jwks = KeySet.import_key_set(client.get("/jwks").get_json())
    token = jwt.decode(response.get_data(as_text=True), jwks, algorithms=["RS256"])
    assert token.header["alg"] == "RS256" and token.header["kid"]
    assert token.claims["iss"] == ISSUER and token.claims["aud"] == rp.reg["client_id"]
    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"])
    assert token.claims["sub"] == id_token.claims["sub"] and token.claims["name"]


def test_oidcc_ensure_redirect_uri_in_authorization_request(client, factory):
    """oidcc-ensure-redirect-uri-in-authorization-request: two registered URIs, none sent:
    error page (OIDC Core §3.1.2.1 makes ``redirect_uri`` REQUIRED anyway)."""
    reg = factory.oauth_client(redirect_uris=["https://a.example.vn/cb", "https://b.example.vn/cb"])
    rp = TracingRelyingParty(client, reg, factory.citizen())
    _, response = rp.authorize(redirect_uri=None)
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.fixture
def query_rp(client, factory):
    reg = factory.oauth_client(redirect_uris=["https://rp.example.vn/cb?tenant=vinhlong"])
    return TracingRelyingParty(client, reg, factory.citizen())


def test_oidcc_redirect_uri_query_ok(query_rp):
    """oidcc-redirect-uri-query-OK: a registered query component is kept, exact match."""
    params, response = query_rp.authorize()
    result = query_rp.follow_to_callback(response)
    assert result["tenant"] == "vinhlong" and result["code"]
    assert query_rp.token(result["code"]).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://rp.example.vn/cb?tenant=other", "https://rp.example.vn/cb",
     "https://rp.example.vn/cb?tenant=vinhlong&x=1", "https://rp.example.vn/cb?x=1&tenant=vinhlong"],
    ids=["query_mismatch", "query_removed", "query_added", "query_reordered"],
)
def test_oidcc_redirect_uri_query_mismatch(query_rp, redirect_uri):
    """oidcc-redirect-uri-query-mismatch / -added (RFC 9700 §2.1): error page, no redirect."""
    _, response = query_rp.authorize(redirect_uri=redirect_uri)
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_redirect_uri_query_added_to_plain_uri(rp):
    """oidcc-redirect-uri-query-added: a query added to a URI registered without one."""
    _, response = rp.authorize(redirect_uri=rp.reg["redirect_uri"] + "?foo=bar")
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_redirect_uri_regfrag_refused_at_registration(app):
    """oidcc-redirect-uri-regfrag: a redirect URI with a fragment cannot be registered."""
    from gateway.oidc.clients import InvalidClientMetadata, create_client

    with app.app_context(), pytest.raises(InvalidClientMetadata, match="fragment"):
        create_client(client_name="x", redirect_uris=["https://rp.example.vn/cb#frag"])


def test_oidcc_loopback_redirect_uri_allowed_for_native_apps(client, factory):
    """RFC 8252 §7.3 / RFC 9700 §2.6: http is allowed only on loopback."""
    reg = factory.oauth_client(redirect_uris=["http://127.0.0.1:8765/cb"],
                               token_endpoint_auth_method="none")
    rp = TracingRelyingParty(client, reg, factory.citizen())
    rp.tokens()


@pytest.fixture
def native_rp(client, factory):
    reg = factory.oauth_client(redirect_uris=["http://127.0.0.1:8765/cb", "http://[::1]/cb"],
                               token_endpoint_auth_method="none")
    return TracingRelyingParty(client, reg, factory.citizen())


@pytest.mark.parametrize(
    "redirect_uri", ["http://127.0.0.1:51234/cb", "http://127.0.0.1/cb", "http://[::1]:4000/cb"]
)
def test_oidcc_loopback_redirect_uri_any_port_for_native_apps(native_rp, redirect_uri):
    """RFC 8252 §7.3, RFC 9700 §2.1: a native app's loopback redirect URI may use any port; the
    token request must then repeat the URI actually used."""
    native_rp.reg = {**native_rp.reg, "redirect_uri": redirect_uri}
    params, tokens = native_rp.tokens()
    assert tokens["access_token"]


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://127.0.0.1:51234/other", "http://127.0.0.1:51234/cb?x=1", "http://127.0.0.2:8765/cb",
     "https://127.0.0.1:8765/cb", "http://localhost:8765/cb", "http://127.0.0.1:99999/cb",
     "http://user@127.0.0.1:8765/cb"],
    ids=["path", "query", "other_address", "https", "localhost_name", "bad_port", "userinfo"],
)
def test_oidcc_loopback_redirect_uri_only_port_may_vary(native_rp, redirect_uri):
    _, response = native_rp.authorize(redirect_uri=redirect_uri)
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_loopback_port_fixed_for_confidential_clients(client, factory):
    """Only native apps (public clients) get the free port; a confidential client registered
    on loopback is matched exactly."""
    reg = factory.oauth_client(redirect_uris=["http://127.0.0.1:5001/callback"])
    rp = TracingRelyingParty(client, reg, factory.citizen())
    _, response = rp.authorize(redirect_uri="http://127.0.0.1:6666/callback")
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_loopback_code_bound_to_port_used(native_rp):
    """The code is bound to the exact URI of the request, port included (RFC 6749 §4.1.3)."""
    native_rp.reg = {**native_rp.reg, "redirect_uri": "http://127.0.0.1:51234/cb"}
    _, result = native_rp.code_flow()
    response = native_rp.token(result["code"], redirect_uri="http://127.0.0.1:8765/cb")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
