"""OpenID Connect Dynamic certification plan, module by module (docs/conformance.md §2d), through
the real HTTP surface. First with clients the operator registered (``create-client``), then with
clients that registered themselves at ``/register`` (RFC 7591) and authenticate at ``/token``
with ``private_key_jwt`` (RFC 7523); their ``jwks_uri`` and ``sector_identifier_uri`` are served
by a small web site on 127.0.0.1."""

from __future__ import annotations

import pytest
from joserfc import jwt

from tests.conftest import ISSUER
from tests.oidc.conftest import (
    ALGORITHMS,
    TracingRelyingParty,
    bearer,
    decode_id_token,
    make_client_key,
    public_jwks,
    register,
)


def _set_metadata(app, client_id, **changes):
    """As an administrator changes a client: through the registry (its rules apply)."""
    from gateway.extensions import db
    from gateway.oidc.registry import get_client_registry

    with app.app_context():
        registry = get_client_registry()
        registry.update(client_id, {**registry.get(client_id).metadata, **changes},
                        administrator=True)
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
    reg = factory.oauth_client(redirect_uris=["https://a.example.vn/cb", "https://a.example.vn/cb2"])
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
    from authlib.oauth2.rfc7591 import InvalidRedirectURIError

    from gateway.oidc.registry import create_client

    with app.app_context(), pytest.raises(InvalidRedirectURIError, match="fragment"):
        create_client(client_name="x", redirect_uris=["https://rp.example.vn/cb#frag"])


def test_oidcc_loopback_redirect_uri_allowed_for_native_apps(client, factory):
    """RFC 8252 §7.3 / RFC 9700 §2.6: http is allowed only on loopback."""
    reg = factory.oauth_client(redirect_uris=["http://127.0.0.1:8765/cb"],
                               token_endpoint_auth_method="none")
    rp = TracingRelyingParty(client, reg, factory.citizen())
    rp.tokens()


@pytest.fixture
def native_rp(client, factory):
    # Two loopback hosts: public subjects (pairwise ones would need a sector_identifier_uri,
    # OIDC Core §8.1, as for any client).
    reg = factory.oauth_client(redirect_uris=["http://127.0.0.1:8765/cb", "http://[::1]/cb"],
                               token_endpoint_auth_method="none", subject_type="public")
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


# == clients registered dynamically (RFC 7591) ==================================================


def count_clients(app) -> int:
    from gateway.extensions import db
    from gateway.oidc.models import OAuth2Client

    with app.app_context():
        return db.session.query(OAuth2Client).count()


# -- 1. oidcc-idtoken-rs256 / 10. oidcc-server -----------------------------------------------------

@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_oidcc_idtoken_rs256_signed_with_registered_alg(register_rp, jwks, clock, alg):
    """oidcc-idtoken-rs256 (OIDC Registration §2 ``id_token_signed_response_alg``): the ID token
    is signed with the registered algorithm and names its ``kid``."""
    rp = register_rp(id_token_signed_response_alg=alg)
    params, tokens = rp.tokens()
    token = decode_id_token(tokens["id_token"], jwks, client_id=rp.reg["client_id"],
                            now=clock.now(), nonce=params["nonce"])
    assert token.header["alg"] == alg and token.header["kid"]


def test_oidcc_server_dynamic_client_with_jwks_authenticates_with_private_key_jwt(
        register_rp, client, jwks, clock):
    """oidcc-server with dynamic registration: the DCR endpoint works, the client's ``jwks`` is
    accepted, and the code is redeemed with ``private_key_jwt`` (OIDC Core §9)."""
    key = make_client_key("rp-key-1")
    rp = register_rp(key=key, jwks=public_jwks(key), token_endpoint_auth_method="private_key_jwt")
    assert "client_secret" not in rp.registration
    params, tokens = rp.tokens()
    id_token = decode_id_token(tokens["id_token"], jwks, client_id=rp.reg["client_id"],
                               now=clock.now(), nonce=params["nonce"])
    info = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert info.status_code == 200 and info.get_json()["sub"] == id_token.claims["sub"]


# -- 3. oidcc-userinfo-rs256 --------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_oidcc_userinfo_rs256_returns_signed_jwt(register_rp, client, jwks, clock, alg):
    """oidcc-userinfo-rs256 (OIDC Core §5.3.2): with ``userinfo_signed_response_alg`` the
    UserInfo response is a JWT signed with that algorithm, with a ``kid`` from ``jwks_uri``,
    ``iss`` = issuer and ``aud`` = client_id."""
    rp = register_rp(userinfo_signed_response_alg=alg)
    params, tokens = rp.tokens(scope="openid profile")
    id_token = decode_id_token(tokens["id_token"], jwks, client_id=rp.reg["client_id"],
                               now=clock.now(), nonce=params["nonce"])
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    assert response.mimetype == "application/jwt"
    token = jwt.decode(response.get_data(as_text=True), jwks, algorithms=ALGORITHMS)
    assert token.header["alg"] == alg
    assert token.header["kid"] in {key["kid"] for key in client.get("/jwks").get_json()["keys"]}
    assert token.claims["iss"] == ISSUER
    assert token.claims["aud"] == rp.reg["client_id"]
    assert token.claims["sub"] == id_token.claims["sub"]
    assert token.claims["name"] == rp.citizen["name"]


def test_oidcc_userinfo_plain_json_without_registered_alg(register_rp, client):
    """OIDC Core §5.3.2: without ``userinfo_signed_response_alg``, plain JSON."""
    rp = register_rp()
    _, tokens = rp.tokens()
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.mimetype == "application/json"


# -- 4. oidcc-ensure-redirect-uri-in-authorization-request --------------------------------------

def test_oidcc_ensure_redirect_uri_in_authorization_request_when_registered_dynamically(
        register_rp):
    """oidcc-ensure-redirect-uri-in-authorization-request (OIDC Core §3.1.2.1): a client with two
    redirect URIs that omits ``redirect_uri`` gets an error page, no redirect."""
    rp = register_rp(redirect_uris=["https://rp.example.vn/a", "https://rp.example.vn/b"])
    _, response = rp.authorize(redirect_uri=None)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


# -- 5-7. oidcc-redirect-uri-query-OK / -mismatch / -added ----------------------------------------

def test_oidcc_redirect_uri_query_ok_when_registered_dynamically(register_rp):
    """oidcc-redirect-uri-query-OK (RFC 9700 §2.1 exact match): a registered query is kept."""
    registered = "https://rp.example.vn/callback?agency=stp&lang=vi"
    rp = register_rp(redirect_uris=[registered])
    params, result = rp.code_flow(redirect_uri=registered)
    assert result["agency"] == "stp" and result["lang"] == "vi"
    assert "code" in result and result["state"] == params["state"]


@pytest.mark.parametrize("sent", [
    "https://rp.example.vn/callback?agency=other&lang=vi",
    "https://rp.example.vn/callback?lang=vi&agency=stp",
    "https://rp.example.vn/callback?agency=stp",
])
def test_oidcc_redirect_uri_query_mismatch_when_registered_dynamically(register_rp, sent):
    """oidcc-redirect-uri-query-mismatch: a different query is an error page, no redirect."""
    rp = register_rp(redirect_uris=["https://rp.example.vn/callback?agency=stp&lang=vi"])
    _, response = rp.authorize(redirect_uri=sent)
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_redirect_uri_query_added_when_registered_dynamically(register_rp):
    """oidcc-redirect-uri-query-added: a query added to a URI registered without one is an
    error page, no redirect."""
    rp = register_rp(redirect_uris=["https://rp.example.vn/callback"])
    _, response = rp.authorize(redirect_uri="https://rp.example.vn/callback?foo=bar")
    assert response.status_code == 400 and "Location" not in response.headers


# -- 8. oidcc-redirect-uri-regfrag ----------------------------------------------------------------

def test_oidcc_redirect_uri_regfrag_refused_and_nothing_stored(app, client, initial_access_token):
    """oidcc-redirect-uri-regfrag (RFC 6749 §3.1.2, RFC 7591 §3.2.2): a redirect URI with a
    fragment is refused with ``invalid_redirect_uri``; no client is stored."""
    before = count_clients(app)
    response = register(client, initial_access_token,
                        {"redirect_uris": ["https://rp.example.vn/callback#frag"]})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_redirect_uri"
    assert "redirect_uris" in body["error_description"]
    assert count_clients(app) == before


# -- 11-13. oidcc-registration-logo-uri / -policy-uri / -tos-uri ---------------------------------

def _login_and_consent_pages(rp):
    """The sign-in page, then (after signing in and resuming) the consent page."""
    _, response = rp.authorize()
    login = rp.http.get(response.headers["Location"])
    resume = rp.login(response.headers["Location"]).headers["Location"]
    consent = rp.http.get(rp.http.get(resume).headers["Location"])
    assert 'name="personal_id"' in login.get_data(as_text=True)
    assert 'name="decision"' in consent.get_data(as_text=True)
    return login, consent


def test_oidcc_registration_logo_uri_shown_on_login_and_consent(register_rp):
    """oidcc-registration-logo-uri (OIDC Registration §2 ``logo_uri``): the RP's logo is shown
    during sign-in and consent, with alternative text, and the page's CSP lets it load."""
    rp = register_rp(logo_uri="https://rp.example.vn/static/logo.png")
    login, consent = _login_and_consent_pages(rp)
    for page in (login, consent):
        html = page.get_data(as_text=True)
        assert 'src="https://rp.example.vn/static/logo.png"' in html
        assert 'alt="' in html.split('class="client-logo"')[1].split(">")[0]
        assert "https://rp.example.vn" in page.headers["Content-Security-Policy"]


def test_oidcc_registration_policy_uri_shown_with_noopener(register_rp):
    """oidcc-registration-policy-uri: the policy link is shown, opened with rel=noopener."""
    rp = register_rp(policy_uri="https://rp.example.vn/privacy")
    for page in _login_and_consent_pages(rp):
        assert 'href="https://rp.example.vn/privacy" target="_blank" rel="noopener"' in (
            page.get_data(as_text=True))


def test_oidcc_registration_tos_uri_shown_with_noopener(register_rp):
    """oidcc-registration-tos-uri: the terms-of-service link is shown, rel=noopener."""
    rp = register_rp(tos_uri="https://rp.example.vn/terms")
    for page in _login_and_consent_pages(rp):
        assert 'href="https://rp.example.vn/terms" target="_blank" rel="noopener"' in (
            page.get_data(as_text=True))


def test_oidcc_registration_logo_uri_absent_keeps_strict_csp(rp):
    """Without a ``logo_uri`` the sign-in page loads images from the gateway only."""
    _, response = rp.authorize()
    page = rp.http.get(response.headers["Location"])
    assert "img-src 'self' data:;" in page.headers["Content-Security-Policy"]
    assert "client-logo" not in page.get_data(as_text=True)


# -- 14. oidcc-registration-jwks-uri ---------------------------------------------------------------

def test_oidcc_registration_jwks_uri_private_key_jwt_verified_with_fetched_keys(
        register_rp, client_site, jwks, clock):
    """oidcc-registration-jwks-uri (RFC 7591 §2 ``jwks_uri``, RFC 7523): the assertion is
    verified with keys fetched from ``jwks_uri``, and the document is cached."""
    key = make_client_key("rp-2026", kty="EC")
    client_site.documents["/jwks.json"] = public_jwks(key)
    rp = register_rp(key=key, jwks_uri=client_site.url("/jwks.json"),
                     token_endpoint_auth_method="private_key_jwt")
    for _ in range(2):
        params, tokens = rp.tokens()
        decode_id_token(tokens["id_token"], jwks, client_id=rp.reg["client_id"],
                        now=clock.now(), nonce=params["nonce"])
    assert client_site.fetches["/jwks.json"] == 1


def test_oidcc_registration_jwks_uri_wrong_key_refused(register_rp, client_site):
    """An assertion signed by a key that is not in ``jwks_uri`` (even after a re-fetch) is
    ``invalid_client``."""
    key = make_client_key("rp-a")
    client_site.documents["/jwks.json"] = public_jwks(key)
    rp = register_rp(key=make_client_key("rp-a"), jwks_uri=client_site.url("/jwks.json"),
                     token_endpoint_auth_method="private_key_jwt")
    _, result = rp.code_flow()
    response = rp.token(result["code"])
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"


# -- 15-16. oidcc-registration-sector-uri / -sector-bad -----------------------------------------

def test_oidcc_registration_sector_uri_accepted_when_listing_every_redirect_uri(
        register_rp, client_site, app):
    """oidcc-registration-sector-uri (OIDC Core §8.1, Registration §5): the sector document is
    fetched, lists every redirect URI, and the client's sector is its host."""
    redirect_uris = ["https://portal.stp.vinhlong.gov.vn/cb", "https://m.stp.vinhlong.gov.vn/cb"]
    client_site.documents["/sector.json"] = [*redirect_uris, "https://other.example.vn/cb"]
    rp = register_rp(redirect_uris=redirect_uris,
                     sector_identifier_uri=client_site.url("/sector.json"))
    assert rp.reg["sector_identifier_uri"] == client_site.url("/sector.json")
    assert client_site.fetches["/sector.json"] == 1
    with app.app_context():
        from gateway.oidc.storage import get_client

        assert get_client(rp.reg["client_id"]).sector_identifier == "127.0.0.1"
    _, result = rp.code_flow()
    assert "code" in result


@pytest.mark.parametrize("document, status", [
    (["https://portal.stp.vinhlong.gov.vn/cb"], 200),     # second redirect URI missing
    ({"redirect_uris": ["https://portal.stp.vinhlong.gov.vn/cb"]}, 200),  # not an array
    (None, 404),
])
def test_oidcc_registration_sector_bad_refused_and_nothing_stored(
        client, client_site, initial_access_token, app, document, status):
    """oidcc-registration-sector-bad: a sector document that does not list every redirect URI
    (or is not an array, or is missing) is ``invalid_client_metadata``; nothing is stored."""
    if status == 200:
        client_site.documents["/sector.json"] = document
    before = count_clients(app)
    response = register(client, initial_access_token, {
        "redirect_uris": ["https://portal.stp.vinhlong.gov.vn/cb",
                          "https://m.stp.vinhlong.gov.vn/cb"],
        "sector_identifier_uri": client_site.url("/sector.json"),
    })
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"
    assert "sector_identifier_uri" in response.get_json()["error_description"]
    assert count_clients(app) == before


# -- 18. oidcc-refresh-token-rp-key-rotation ------------------------------------------------------

def test_oidcc_refresh_token_rp_key_rotation_refetches_jwks_on_unknown_kid(
        sql_hot_store, register_rp, client_site, clock):
    """oidcc-refresh-token-rp-key-rotation: the RP publishes a new key with a new ``kid`` in its
    ``jwks_uri``, waits, then authenticates with it; the gateway re-fetches ``jwks_uri`` on the
    unknown ``kid`` and accepts it (here at the code exchange; the same client authentication
    runs for every grant at the token endpoint)."""
    old, new = make_client_key("2026-01"), make_client_key("2026-02")
    client_site.documents["/jwks.json"] = public_jwks(old)
    rp = register_rp(key=old, jwks_uri=client_site.url("/jwks.json"),
                     token_endpoint_auth_method="private_key_jwt")
    rp.tokens()
    assert client_site.fetches["/jwks.json"] == 1

    client_site.documents["/jwks.json"] = public_jwks(new)
    clock.advance(60)  # the conformance suite waits 60 s before using the new key
    rp.key = new
    rp.tokens()
    assert client_site.fetches["/jwks.json"] == 2

    # An assertion naming a kid that is nowhere fails without hammering the RP's site.
    rp.key = make_client_key("2026-99")
    _, result = rp.code_flow()
    assert rp.token(result["code"]).get_json()["error"] == "invalid_client"
    assert client_site.fetches["/jwks.json"] == 2


# -- 23. oidcc-ensure-client-assertion-with-iss-aud-succeeds -----------------------------------

@pytest.mark.parametrize("aud", [ISSUER, ISSUER + "/token", [ISSUER, "https://other.example"]])
def test_oidcc_ensure_client_assertion_with_iss_aud_succeeds(register_rp, aud):
    """oidcc-ensure-client-assertion-with-iss-aud-succeeds (RFC 7523 §3 item 3; FAPI 2.0): the
    assertion's ``aud`` may be the issuer, the token endpoint URL, or a list holding one."""
    key = make_client_key("k1")
    rp = register_rp(key=key, jwks=public_jwks(key), token_endpoint_auth_method="private_key_jwt")
    rp.assertion_aud = aud
    _, tokens = rp.tokens()
    assert tokens["access_token"]


def _private_key_jwt_rp(register_rp, **metadata):
    key = make_client_key("k1")
    return register_rp(key=key, jwks=public_jwks(key), token_endpoint_auth_method="private_key_jwt",
                       **metadata)


@pytest.mark.parametrize("overrides", [
    {"aud": "https://elsewhere.example/token"},
    {"iss": "someone-else"},
    {"sub": None},
    {"exp": None},
    {"jti": None},
    {"exp": 1_000},                 # expired
    {"exp": "tomorrow"},
])
def test_private_key_jwt_bad_assertion_is_invalid_client(register_rp, overrides):
    """RFC 7523 §3: ``iss`` = ``sub`` = client_id, ``aud`` this server, ``exp`` in the future,
    a ``jti``; otherwise ``invalid_client`` (never a 500)."""
    rp = _private_key_jwt_rp(register_rp)
    _, result = rp.code_flow()
    response = rp.token(result["code"], assertion=rp.client_assertion(**overrides))
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"


def test_private_key_jwt_replayed_jti_refused(register_rp):
    """RFC 7523 §3 item 7: an assertion (its ``jti``) is accepted once."""
    rp = _private_key_jwt_rp(register_rp)
    assertion = rp.client_assertion()
    _, result = rp.code_flow()
    assert rp.token(result["code"], assertion=assertion).status_code == 200
    _, result = rp.code_flow()
    response = rp.token(result["code"], assertion=assertion)
    assert response.get_json()["error"] == "invalid_client"


def test_private_key_jwt_far_future_exp_refused(register_rp, clock):
    """An assertion living for days would pin its ``jti`` for days: refused."""
    rp = _private_key_jwt_rp(register_rp)
    _, result = rp.code_flow()
    response = rp.token(result["code"], assertion=rp.client_assertion(exp=clock.now() + 86400))
    assert response.get_json()["error"] == "invalid_client"


def test_private_key_jwt_registered_signing_alg_enforced(register_rp):
    """OIDC Registration §2 ``token_endpoint_auth_signing_alg``: other algorithms refused."""
    rp = _private_key_jwt_rp(register_rp, token_endpoint_auth_signing_alg="PS256")
    _, result = rp.code_flow()
    response = rp.token(result["code"])  # signed RS256
    assert response.get_json()["error"] == "invalid_client"


def test_private_key_jwt_unsigned_or_mac_assertion_refused(register_rp):
    """Never ``none``, never a MAC with the public key as secret."""
    from joserfc.jwk import OctKey

    rp = _private_key_jwt_rp(register_rp)
    claims = {"iss": rp.reg["client_id"], "sub": rp.reg["client_id"], "aud": ISSUER,
              "jti": "x1", "exp": rp.now() + 60}
    mac = jwt.encode({"alg": "HS256", "kid": "k1"}, claims, OctKey.import_key("s" * 32))
    _, result = rp.code_flow()
    assert rp.token(result["code"], assertion=mac).get_json()["error"] == "invalid_client"


def test_private_key_jwt_client_id_must_match_assertion(register_rp):
    """RFC 7521 §4.2: a ``client_id`` parameter must name the assertion's client."""
    rp = _private_key_jwt_rp(register_rp)
    _, result = rp.code_flow()
    response = rp.token(result["code"], client_id="another-client")
    assert response.get_json()["error"] == "invalid_client"


def test_private_key_jwt_client_cannot_use_a_secret_or_none(register_rp):
    """A ``private_key_jwt`` client cannot fall back to no authentication."""
    rp = _private_key_jwt_rp(register_rp)
    _, result = rp.code_flow()
    response = rp.http.post("/token", data={
        "grant_type": "authorization_code", "code": result["code"],
        "redirect_uri": rp.reg["redirect_uri"], "code_verifier": rp.verifier,
        "client_id": rp.reg["client_id"]})
    assert response.get_json()["error"] == "invalid_client"


# -- 9. oidcc-discovery-endpoint-verification (what this plan adds) ---------------------------

def test_oidcc_discovery_endpoint_verification_dynamic_members(client):
    """Discovery §3 / RFC 8414 §2: the registration endpoint and exactly the client
    authentication and signing algorithms that work."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["registration_endpoint"] == ISSUER + "/register"
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert "client_secret_jwt" not in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == [
        "RS256", "PS256", "ES256"]
    assert metadata["userinfo_signing_alg_values_supported"] == ["RS256", "PS256", "ES256"]
    for name in ("token_endpoint_auth_signing_alg_values_supported",
                 "userinfo_signing_alg_values_supported",
                 "id_token_signing_alg_values_supported"):
        assert "none" not in metadata[name] and "HS256" not in metadata[name], name


@pytest.mark.parametrize("assertion", [
    "x", "a.b.c", "e30.e30.", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "eyJhbGciOiJSUzI1NiJ9.WzFd.c2ln",            # payload is a JSON array
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOjF9.c2ln",    # sub is a number
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiLDqSJ9.c2ln",  # sub is no client
])
def test_private_key_jwt_garbage_assertion_is_invalid_client_never_500(register_rp, assertion):
    rp = _private_key_jwt_rp(register_rp)
    _, result = rp.code_flow()
    response = rp.token(result["code"], assertion=assertion)
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"


# -- 19-20. oidcc-request-uri-signed-rs256 with a dynamically registered client -----------------

def test_oidcc_request_uri_signed_rs256_when_registered_dynamically(register_rp, client_site):
    """oidcc-request-uri-signed-rs256 (OIDC Core §6.2, RFC 9101): a client registers its
    ``request_uris`` and ``jwks`` at ``/register``, then passes an RS256 request object by
    reference, fetched from its own site."""
    key = make_client_key("ro-1")
    rp = register_rp(key=key, jwks=public_jwks(key), token_endpoint_auth_method="private_key_jwt",
                     request_uris=[client_site.url("/req.jwt")],
                     request_object_signing_alg="RS256")
    params = rp.authorize_params()
    request_object = jwt.encode({"alg": "RS256", "kid": key.kid},
                                {**params, "iss": rp.reg["client_id"], "aud": ISSUER}, key)
    client_site.documents["/req.jwt"] = None
    client_site.raw["/req.jwt"] = request_object.encode()
    query = {"client_id": rp.reg["client_id"], "response_type": "code", "scope": "openid",
             "request_uri": client_site.url("/req.jwt")}
    result = rp.follow_to_callback(rp.http.get("/authorize", query_string=query))
    assert result["state"] == params["state"]
    assert rp.token(result["code"]).status_code == 200


def test_oidcc_registration_sector_uri_shares_pairwise_sub_across_hosts(
        register_rp, client_site, factory):
    """OIDC Core §8.1: two apps on different hosts that register the same
    ``sector_identifier_uri`` see the same pairwise ``sub``; an app of another sector does not."""
    citizen = factory.citizen()
    hosts = ["https://portal.stp.vinhlong.gov.vn/cb", "https://m.stp.vinhlong.gov.vn/cb"]
    client_site.documents["/sector.json"] = hosts
    subs = []
    for redirect_uri in [*hosts, "https://soyte.vinhlong.gov.vn/cb"]:
        sector = {"sector_identifier_uri": client_site.url("/sector.json")} if (
            redirect_uri in hosts) else {}
        rp = register_rp(citizen=citizen, redirect_uris=[redirect_uri], subject_type="pairwise",
                         **sector)
        _, tokens = rp.tokens()
        subs.append(rp.http.get("/userinfo", headers=bearer(tokens["access_token"]))
                    .get_json()["sub"])
    assert subs[0] == subs[1] != subs[2]
    assert citizen["subject"] not in subs
