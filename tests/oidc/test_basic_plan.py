"""OpenID Connect Basic certification plan, module by module (docs/conformance.md §2b)."""

from __future__ import annotations

import pytest
from joserfc import jwt

from tests.conftest import ISSUER
from tests.oidc.conftest import TracingRelyingParty, basic, bearer, decode_id_token, path_of


def decode(id_token, jwks):
    return jwt.decode(id_token, jwks, algorithms=["RS256", "PS256", "ES256"])


def test_oidcc_server_happy_flow_issues_signed_id_token_and_userinfo(rp, client, jwks):
    """oidcc-server: code + state to the registered redirect_uri, signed ID token, userinfo."""
    params, result = rp.code_flow()
    assert result["iss"] == ISSUER  # RFC 9207
    response = rp.token(result["code"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    id_token = decode(tokens["id_token"], jwks)
    assert id_token.header["alg"] == "RS256" and id_token.header["kid"]
    claims = id_token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.reg["client_id"]
    assert claims["nonce"] == params["nonce"]
    assert claims["sub"] and claims["sub"] != rp.citizen["personal_id"]
    for name in ("exp", "iat", "auth_time", "acr", "amr", "sid", "at_hash"):
        assert name in claims, name
    assert claims["acr"] == "LoA1" and claims["amr"] == ["pwd"]
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.get_json()["sub"] == claims["sub"]
    assert info.get_json()["name"] == rp.citizen["name"]


# -- helpers -------------------------------------------------------------------------------------

def _id_token(rp, tokens, jwks, clock, nonce=None):
    return decode_id_token(tokens["id_token"], jwks, client_id=rp.reg["client_id"],
                           now=clock.now(), nonce=nonce).claims


def _userinfo(client, access_token, method="GET", in_body=False):
    if in_body:
        return client.post("/userinfo", data={"access_token": access_token})
    if method == "POST":
        return client.post("/userinfo", headers=bearer(access_token))
    return client.get("/userinfo", headers=bearer(access_token))


# -- 2. oidcc-response-type-missing --------------------------------------------------------------

def test_oidcc_response_type_missing_error_page_or_redirect(rp):
    """oidcc-response-type-missing: no ``response_type`` gives an error page or an error
    redirect (``unsupported_response_type``/``invalid_request``), never a 500 (OIDC Core §3.1.2.6).
    """
    params, response = rp.authorize(response_type=None)
    assert response.status_code < 500
    if response.status_code in (302, 303):
        result = rp.redirect_result(response)
        assert result["error"] in ("unsupported_response_type", "invalid_request")
        assert result["state"] == params["state"] and result["iss"] == ISSUER
        assert "code" not in result
    else:
        assert response.status_code == 400 and "Location" not in response.headers
        assert response.mimetype == "text/html"


# -- 3. oidcc-idtoken-signature ------------------------------------------------------------------

def test_oidcc_idtoken_signature_rs256_with_kid_by_default(rp, jwks, clock):
    """oidcc-idtoken-signature: no alg registered gives RS256 with a ``kid`` in the header."""
    params, tokens = rp.tokens()
    token = decode_id_token(tokens["id_token"], jwks, client_id=rp.reg["client_id"],
                            now=clock.now(), nonce=params["nonce"])
    assert token.header["alg"] == "RS256"
    assert token.header["kid"] in {key["kid"] for key in jwks.as_dict()["keys"]}


@pytest.mark.parametrize("alg", ["ES256", "PS256", "RS256"])
def test_oidcc_idtoken_rs256_signed_with_registered_alg(client, factory, jwks, clock, alg):
    """oidcc-idtoken-rs256 (and ES256/PS256): ``id_token_signed_response_alg`` is honoured and
    the signature verifies against ``jwks_uri`` with the key named by ``kid``."""
    rp = TracingRelyingParty(
        client, factory.oauth_client(id_token_signed_response_alg=alg), factory.citizen()
    )
    params, tokens = rp.tokens()
    token = decode_id_token(tokens["id_token"], jwks, client_id=rp.reg["client_id"],
                            now=clock.now(), nonce=params["nonce"])
    assert token.header["alg"] == alg
    key = jwks.get_by_kid(token.header["kid"])
    assert key.key_type == ("EC" if alg == "ES256" else "RSA")


def test_oidcc_idtoken_unsigned_none_never_advertised(client):
    """oidcc-idtoken-unsigned: skipped by the suite because ``none`` is not advertised."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "none" not in metadata["id_token_signing_alg_values_supported"]


def test_oidcc_idtoken_carries_no_scope_claims(rp, jwks, clock):
    """OIDC Core §5.4: in the code flow the scope claims come from UserInfo; the ID token holds
    the subject and the authentication facts only."""
    params, tokens = rp.tokens(scope="openid profile email phone address personal_id")
    claims = _id_token(rp, tokens, jwks, clock, params["nonce"])
    assert set(claims) <= {
        "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
    }


# -- 5-7. oidcc-userinfo-get / post-header / post-body -------------------------------------------

@pytest.mark.parametrize(
    ("method", "in_body"), [("GET", False), ("POST", False), ("POST", True)],
    ids=["userinfo_get", "userinfo_post_header", "userinfo_post_body"],
)
def test_oidcc_userinfo_returns_claims_with_id_token_sub(rp, client, jwks, clock, method,
                                                          in_body):
    """oidcc-userinfo-get, oidcc-userinfo-post-header, oidcc-userinfo-post-body (OIDC Core §5.3,
    RFC 6750 §2.1 and §2.2): JSON claims whose ``sub`` equals the ID token ``sub``."""
    params, tokens = rp.tokens()
    claims = _id_token(rp, tokens, jwks, clock, params["nonce"])
    response = _userinfo(client, tokens["access_token"], method, in_body)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json()["sub"] == claims["sub"]


# -- 8. oidcc-ensure-request-without-nonce-succeeds-for-code-flow --------------------------------

def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(rp, jwks, clock):
    """oidcc-ensure-request-without-nonce-succeeds-for-code-flow (OIDC Core §3.1.2.1): nonce is
    optional in the code flow; the ID token then has no ``nonce``."""
    params, tokens = rp.tokens(nonce=None)
    assert "nonce" not in params
    _id_token(rp, tokens, jwks, clock, nonce=None)


# -- 9-13. oidcc-scope-* -------------------------------------------------------------------------

PROFILE = {"name", "family_name", "given_name", "middle_name", "gender", "birthdate",
           "zoneinfo", "locale", "updated_at"}
EMAIL = {"email", "email_verified"}
PHONE = {"phone_number", "phone_number_verified"}
ADDRESS = {"address"}


@pytest.mark.parametrize(
    ("scope", "released"),
    [
        ("openid", set()),
        ("openid profile", PROFILE),
        ("openid email", EMAIL),
        ("openid address", ADDRESS),
        ("openid phone", PHONE),
        ("openid profile email address phone", PROFILE | EMAIL | ADDRESS | PHONE),
        ("openid personal_id", {"personal_id"}),
    ],
    ids=["openid", "scope_profile", "scope_email", "scope_address", "scope_phone", "scope_all",
         "personal_id"],
)
def test_oidcc_scope_releases_exactly_the_scope_claims(rp, client, scope, released):
    """oidcc-scope-profile, -email, -address, -phone, -all (OIDC Core §5.4): UserInfo releases
    the claims of the granted scopes and nothing else; ``personal_id`` only under its own scope
    (docs/domain.md §6)."""
    _, tokens = rp.tokens(scope=scope)
    assert set(tokens["scope"].split()) == set(scope.split())
    info = _userinfo(client, tokens["access_token"]).get_json()
    assert set(info) == {"sub"} | released
    if "personal_id" in released:
        assert info["personal_id"] == rp.citizen["personal_id"]
    if "email" in released:
        assert info["email_verified"] is True
    if "address" in released:
        assert info["address"]["country"] == "VN" and info["address"]["formatted"]
    if "updated_at" in released:
        assert isinstance(info["updated_at"], int)  # EnsureIdTokenUpdatedAtValid: seconds
    if "phone_number" in released:
        assert info["phone_number"].startswith("+84")  # E.164 (OIDC Core §5.1)
        assert isinstance(info["phone_number_verified"], bool)


def test_oidcc_scope_unregistered_scope_is_not_granted(client, factory):
    """RFC 6749 §3.3: a scope the client is not registered for is dropped, its claims withheld."""
    rp = TracingRelyingParty(client, factory.oauth_client(scope="openid profile"),
                             factory.citizen())
    _, tokens = rp.tokens(scope="openid profile personal_id email")
    assert set(tokens["scope"].split()) == {"openid", "profile"}
    info = _userinfo(client, tokens["access_token"]).get_json()
    assert "personal_id" not in info and "email" not in info


# -- 14. oidcc-alternate-happy-flow --------------------------------------------------------------

def test_oidcc_alternate_happy_flow_order_independent(rp, client, jwks, clock):
    """oidcc-alternate-happy-flow (RFC 6749 §3.3): reversed scope order, shuffled parameters."""
    params = rp.authorize_params(scope="email profile openid")
    shuffled = dict(reversed(list(params.items())))
    response = client.get("/authorize", query_string=shuffled)
    result = rp.follow_to_callback(response)
    assert result["state"] == params["state"]
    tokens = rp.token(result["code"]).get_json()
    _id_token(rp, tokens, jwks, clock, params["nonce"])
    info = _userinfo(client, tokens["access_token"]).get_json()
    assert set(info) == {"sub"} | PROFILE | EMAIL


# -- 15-16. oidcc-display-page / popup -----------------------------------------------------------

@pytest.mark.parametrize("display", ["page", "popup"])
def test_oidcc_display_succeeds(rp, display):
    """oidcc-display-page, oidcc-display-popup (OIDC Core §3.1.2.1): no error."""
    _, result = rp.code_flow(display=display)
    assert result["code"] and rp.pages == ["login", "consent"]


# -- 17. oidcc-prompt-login ----------------------------------------------------------------------

def test_oidcc_prompt_login_forces_reauthentication(rp, jwks, clock):
    """oidcc-prompt-login (OIDC Core §3.1.2.1): re-authenticate; the new ``auth_time`` is later."""
    params, tokens = rp.tokens()
    first = _id_token(rp, tokens, jwks, clock, params["nonce"])
    clock.advance(5)
    params, tokens = rp.tokens(prompt="login")
    assert rp.pages == ["login"]
    second = _id_token(rp, tokens, jwks, clock, params["nonce"])
    assert second["sub"] == first["sub"]
    assert second["auth_time"] > first["auth_time"]


def test_oidcc_prompt_login_session_kept_after_reauthentication(rp, jwks, clock):
    """After ``prompt=login`` the fresh session serves the next request silently."""
    rp.tokens()
    rp.tokens(prompt="login")
    params, response = rp.authorize(prompt="none")
    assert "code" in rp.redirect_result(response)


# -- 18. oidcc-prompt-none-not-logged-in ---------------------------------------------------------

def test_oidcc_prompt_none_not_logged_in_login_required(rp):
    """oidcc-prompt-none-not-logged-in (OIDC Core §3.1.2.6): no UI, ``login_required`` to the
    registered ``redirect_uri`` with ``state`` and ``iss`` (RFC 9207), no code."""
    params, response = rp.authorize(prompt="none")
    result = rp.redirect_result(response)
    assert result["error"] == "login_required"
    assert result["state"] == params["state"] and result["iss"] == ISSUER
    assert "code" not in result
    for ch in "\r\n\t":
        assert ch not in result.get("error_description", "")


# -- 19. oidcc-prompt-none-logged-in -------------------------------------------------------------

def test_oidcc_prompt_none_logged_in_same_sub_and_auth_time(rp, jwks, clock):
    """oidcc-prompt-none-logged-in: no UI; same ``sub`` and same ``auth_time``."""
    params, tokens = rp.tokens()
    first = _id_token(rp, tokens, jwks, clock, params["nonce"])
    clock.advance(30)
    params, response = rp.authorize(prompt="none")
    result = rp.redirect_result(response)
    assert result["state"] == params["state"] and result["iss"] == ISSUER
    tokens = rp.token(result["code"]).get_json()
    second = _id_token(rp, tokens, jwks, clock, params["nonce"])
    assert (second["sub"], second["auth_time"]) == (first["sub"], first["auth_time"])


def test_oidcc_prompt_none_consent_required_when_not_consented(rp, make_rp):
    """OIDC Core §3.1.2.6: signed in but no consent for this client gives ``consent_required``."""
    rp.tokens()
    other = make_rp()
    params, response = other.authorize(prompt="none")
    result = other.redirect_result(response)
    assert result["error"] == "consent_required" and result["state"] == params["state"]
    assert result["iss"] == ISSUER


# -- 20-21. oidcc-max-age-1 / oidcc-max-age-10000 ------------------------------------------------

def test_oidcc_max_age_1_forces_reauthentication(rp, jwks, clock):
    """oidcc-max-age-1 (OIDC Core §3.1.2.1): older session gives a new sign-in and ``auth_time``."""
    params, tokens = rp.tokens()
    first = _id_token(rp, tokens, jwks, clock, params["nonce"])
    clock.advance(2)
    params, tokens = rp.tokens(max_age="1")
    assert rp.pages == ["login"]
    second = _id_token(rp, tokens, jwks, clock, params["nonce"])
    assert second["auth_time"] > first["auth_time"]


def test_oidcc_max_age_10000_no_reauthentication(rp, jwks, clock):
    """oidcc-max-age-10000: within ``max_age`` no sign-in; ``auth_time`` present and unchanged."""
    params, tokens = rp.tokens(max_age="15000")
    first = _id_token(rp, tokens, jwks, clock, params["nonce"])
    clock.advance(5)
    params, tokens = rp.tokens(max_age="10000")
    assert rp.pages == []
    second = _id_token(rp, tokens, jwks, clock, params["nonce"])
    assert second["auth_time"] == first["auth_time"]


def test_oidcc_max_age_0_with_prompt_none_login_required(rp, clock):
    """``max_age=0`` demands a fresh sign-in, which ``prompt=none`` forbids: ``login_required``."""
    rp.tokens()
    clock.advance(1)
    params, response = rp.authorize(prompt="none", max_age="0")
    assert rp.redirect_result(response)["error"] == "login_required"


# -- 22. oidcc-ensure-request-with-unknown-parameter-succeeds ------------------------------------

def test_oidcc_ensure_request_with_unknown_parameter_succeeds(rp):
    """oidcc-ensure-request-with-unknown-parameter-succeeds (RFC 6749 §3.1): ignored."""
    _, result = rp.code_flow(extra="foobar")
    assert rp.token(result["code"]).status_code == 200


# -- 23. oidcc-id-token-hint ---------------------------------------------------------------------

def test_oidcc_id_token_hint_prompt_none_same_sub(rp, jwks, clock):
    """oidcc-id-token-hint (OIDC Core §3.1.2.1): ``prompt=none`` with the first ID token as hint
    succeeds silently with the same ``sub``."""
    params, tokens = rp.tokens()
    first = _id_token(rp, tokens, jwks, clock, params["nonce"])
    params, response = rp.authorize(prompt="none", id_token_hint=tokens["id_token"])
    result = rp.redirect_result(response)
    tokens = rp.token(result["code"]).get_json()
    assert _id_token(rp, tokens, jwks, clock, params["nonce"])["sub"] == first["sub"]


def test_oidcc_id_token_hint_expired_still_accepted(rp, jwks, clock):
    """OIDC Core §3.1.2.1: an expired ID token is still a valid hint (signature and issuer)."""
    _, tokens = rp.tokens()
    clock.advance(3601)
    rp.tokens()  # the session is still alive, keep it touched
    _, response = rp.authorize(prompt="none", id_token_hint=tokens["id_token"])
    assert "code" in rp.redirect_result(response)


def test_oidcc_id_token_hint_for_someone_else_login_required(rp, make_rp, factory):
    """The hint names another person than the one signed in: with ``prompt=none``,
    ``login_required``; without it, the sign-in page."""
    other_person = TracingRelyingParty(rp.http, rp.reg, factory.citizen())
    _, tokens_other = other_person.tokens()  # the browser is now signed in as the other person
    rp.http.delete_cookie("gw_sso")
    _, tokens = rp.tokens()  # and now as rp.citizen
    _, response = rp.authorize(prompt="none", id_token_hint=tokens_other["id_token"])
    assert rp.redirect_result(response)["error"] == "login_required"
    _, response = rp.authorize(id_token_hint=tokens_other["id_token"])
    assert path_of(response.headers["Location"]) == "/login"


# -- 24. oidcc-login-hint ------------------------------------------------------------------------

def test_oidcc_login_hint_prefills_sign_in_page(rp, client):
    """oidcc-login-hint (OIDC Core §3.1.2.1): no error, and the ID number field is prefilled."""
    _, response = rp.authorize(login_hint=rp.citizen["personal_id"])
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert f'value="{rp.citizen["personal_id"]}"' in page.get_data(as_text=True)


def test_oidcc_login_hint_garbage_ignored(rp, client):
    """A hint that is not an ID number is ignored, never echoed into the page."""
    _, response = rp.authorize(login_hint='"><script>x</script>')
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "<script>x" not in page.get_data(as_text=True)


# -- 25. oidcc-ui-locales ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("ui_locales", "lang"), [("en", "en"), ("en-US vi", "en"), ("fr-CA vi", "vi"), (None, "vi"),
                             ("xx", "vi")],
)
def test_oidcc_ui_locales_sets_sign_in_page_language(rp, client, ui_locales, lang):
    """oidcc-ui-locales (OIDC Core §3.1.2.1): the sign-in page is in the first supported locale
    requested (Vietnamese by default)."""
    _, response = rp.authorize(ui_locales=ui_locales)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<html lang="{lang}">' in page


def test_oidcc_ui_locales_consent_page_language(rp, client):
    """The consent page follows ``ui_locales`` too."""
    rp.tokens()
    other = TracingRelyingParty(client, rp.reg, rp.citizen)
    _, response = other.authorize(ui_locales="en", prompt="consent")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<html lang="en">' in page


# -- 26. oidcc-claims-locales --------------------------------------------------------------------

def test_oidcc_claims_locales_succeeds(rp):
    """oidcc-claims-locales (OIDC Core §5.2): accepted without error."""
    _, result = rp.code_flow(claims_locales="en vi")
    assert rp.token(result["code"]).status_code == 200


# -- 27. oidcc-ensure-request-with-acr-values-succeeds -------------------------------------------

@pytest.mark.parametrize("acr_values", ["LoA1", "1 2", "LoA2 LoA1"])
def test_oidcc_ensure_request_with_acr_values_succeeds(rp, jwks, clock, acr_values):
    """oidcc-ensure-request-with-acr-values-succeeds (OIDC Core §3.1.2.1): succeeds; ``acr`` is a
    supported value, never empty."""
    params, tokens = rp.tokens(acr_values=acr_values)
    claims = _id_token(rp, tokens, jwks, clock, params["nonce"])
    assert claims["acr"] == "LoA1"


# -- 28-29. oidcc-codereuse / oidcc-codereuse-30seconds ------------------------------------------

@pytest.mark.parametrize("wait", [0, 30], ids=["codereuse", "codereuse_30seconds"])
def test_oidcc_codereuse_invalid_grant_and_tokens_revoked(rp, client, clock, wait):
    """oidcc-codereuse, oidcc-codereuse-30seconds (RFC 6749 §4.1.2, RFC 9700 §4.2.4): the second
    use gets ``invalid_grant`` and the access token issued from the first use is revoked."""
    _, result = rp.code_flow()
    first = rp.token(result["code"])
    assert first.status_code == 200
    access_token = first.get_json()["access_token"]
    assert _userinfo(client, access_token).status_code == 200
    clock.advance(wait)
    second = rp.token(result["code"])
    assert second.status_code == 400
    assert second.get_json()["error"] == "invalid_grant"
    assert "access_token" not in second.get_json()
    info = _userinfo(client, access_token)
    assert info.status_code == 401
    assert info.headers["WWW-Authenticate"].startswith("Bearer")


# -- 30. oidcc-ensure-registered-redirect-uri ----------------------------------------------------

@pytest.mark.parametrize(
    "redirect_uri",
    ["https://attacker.example/callback", "{registered}/extra", "{registered}?x=1",
     "{registered}#frag", "{registered_upper}", "http://{host}/callback", None],
    ids=["other_host", "path_added", "query_added", "fragment", "case_changed", "http", "missing"],
)
def test_oidcc_ensure_registered_redirect_uri_error_page_no_redirect(rp, redirect_uri):
    """oidcc-ensure-registered-redirect-uri (RFC 9700 §2.1 exact match, §4.11.2 no open
    redirector; OIDC Core §3.1.2.1 ``redirect_uri`` required): HTML error page, no Location."""
    registered = rp.reg["redirect_uri"]
    if redirect_uri is not None:
        redirect_uri = redirect_uri.format(
            registered=registered, registered_upper=registered.replace("https://rp", "https://RP"),
            host=registered.split("/")[2],
        )
    _, response = rp.authorize(redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


# -- 31. oidcc-ensure-post-request-succeeds ------------------------------------------------------

def test_oidcc_ensure_post_request_succeeds(rp, jwks, clock):
    """oidcc-ensure-post-request-succeeds (OIDC Core §3.1.2.1): authorization request by POST."""
    params, result = rp.code_flow(method="POST")
    tokens = rp.token(result["code"]).get_json()
    _id_token(rp, tokens, jwks, clock, params["nonce"])


# -- 32. oidcc-server-client-secret-post ---------------------------------------------------------

def test_oidcc_server_client_secret_post(client, factory, jwks, clock):
    """oidcc-server-client-secret-post (OIDC Core §9): ``client_secret_post`` works."""
    rp = TracingRelyingParty(
        client, factory.oauth_client(token_endpoint_auth_method="client_secret_post"),
        factory.citizen(),
    )
    params, tokens = rp.tokens()
    _id_token(rp, tokens, jwks, clock, params["nonce"])


def test_oidcc_server_client_secret_basic_refused_for_post_client(client, factory):
    """A client registered for ``client_secret_post`` cannot authenticate another way."""
    reg = factory.oauth_client(token_endpoint_auth_method="client_secret_post")
    rp = TracingRelyingParty(client, reg, factory.citizen())
    _, result = rp.code_flow()
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": result["code"],
        "redirect_uri": reg["redirect_uri"], "code_verifier": rp.verifier,
    }, headers=basic(reg["client_id"], reg["client_secret"]))
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


# -- 33-37. request objects, claims parameter, refresh tokens ------------------------------------

def test_oidcc_request_objects_advertised_signed_only(client):
    """oidcc-request-uri-unsigned-…, oidcc-unsigned-request-object-…: skipped by the suite
    because ``none`` is not advertised; signed request objects and ``claims`` are supported
    (tests/oidc/test_request_objects.py, tests/oidc/test_subjects_and_claims.py)."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is True
    assert metadata["claims_parameter_supported"] is True
    assert "none" not in metadata["request_object_signing_alg_values_supported"]
    assert "RS256" in metadata["request_object_signing_alg_values_supported"]
    assert "refresh_token" in metadata["grant_types_supported"]


def test_oidcc_unsigned_request_object_is_refused_not_ignored(rp):
    """An unsigned ``request`` object is refused (never silently ignored, never a code)."""
    params, response = rp.authorize(request="eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6IngifQ.")
    assert 400 <= response.status_code < 500 and "Location" not in response.headers


def test_oidcc_unregistered_request_uri_is_refused(rp):
    params, response = rp.authorize(request_uri="https://rp.example/request.jwt")
    assert 400 <= response.status_code < 500 and "Location" not in response.headers


def test_oidcc_refresh_token_not_issued(rp):
    """oidcc-refresh-token: no refresh token without offline access (the module's refresh checks
    are in test_token_refresh.py)."""
    _, tokens = rp.tokens()
    assert "refresh_token" not in tokens


# -- 38. oidcc-ensure-request-with-valid-pkce-succeeds -------------------------------------------

def test_oidcc_ensure_request_with_valid_pkce_succeeds(rp, jwks, clock):
    """oidcc-ensure-request-with-valid-pkce-succeeds (RFC 7636 §4): S256 challenge and verifier."""
    params, tokens = rp.tokens()
    assert params["code_challenge_method"] == "S256"
    _id_token(rp, tokens, jwks, clock, params["nonce"])


def test_oidcc_server_token_response_members(rp):
    """§2a token response: HTTP 200, ``access_token``, ``expires_in``, ``token_type`` Bearer,
    ``Cache-Control: no-store`` (RFC 6749 §5.1)."""
    _, result = rp.code_flow()
    response = rp.token(result["code"])
    body = response.get_json()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert body["access_token"] and body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert set(body) <= {"access_token", "token_type", "expires_in", "scope", "id_token"}


def test_oidcc_server_authorization_response_only_expected_parameters(rp):
    """§2a: the authorization response holds ``code``, ``state`` and ``iss`` only."""
    _, result = rp.code_flow()
    assert set(result) == {"code", "state", "iss"}


def test_oidcc_scope_all_claims_without_value_omitted(client, factory):
    """OIDC Core §5.3.2: claims without a value are omitted, never ``null`` or empty."""
    citizen = factory.citizen(email=None, email_verified=False, phone_number=None,
                              street_address=None, locality=None, region=None, middle_name="")
    rp = TracingRelyingParty(client, factory.oauth_client(), citizen)
    _, tokens = rp.tokens(scope="openid profile email address phone")
    info = _userinfo(client, tokens["access_token"]).get_json()
    assert set(info) == {"sub"} | (PROFILE - {"middle_name"})
    assert all(value not in (None, "", {}) for value in info.values())
