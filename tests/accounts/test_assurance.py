"""Assurance levels and the second factor: ``acr`` values as "at least", TOTP (RFC 6238) with
recovery codes, step-up, and single sign-on reused only up to ``SSO_REUSE_MAX_ACR``."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from joserfc import jwt

from tests.conftest import ISSUER, RelyingParty, _csrf, query_of


def _otp(secret, clock):
    return pyotp.TOTP(secret).at(clock.now())


def enrol_totp(http, clock) -> tuple[str, list[str]]:
    """Set up an authenticator through /account/security in the signed-in browser ``http``."""
    page = http.get("/account/security")
    assert page.status_code == 200
    started = http.post("/account/security", data={"csrf_token": _csrf(page.get_data(as_text=True)),
                                                    "action": "start"})
    html = started.get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', html).group(1)
    done = http.post("/account/security", data={"csrf_token": _csrf(html), "action": "confirm",
                                                 "code": _otp(secret, clock)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</code>",
                       done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def run_flow(rp, clock, secret=None, code=None, **extra):
    """An authorization request answered by a browser that knows password and second factor;
    returns the callback query and the pages seen."""
    params, response = rp.authorize(**extra)
    seen = []
    for _ in range(10):
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
        location = response.headers["Location"]
        if location.startswith(rp.reg["redirect_uri"]):
            return query_of(location), seen
        path = urlsplit(location).path
        seen.append(path)
        if path == "/login":
            response = rp.login(location)
        elif path == "/login/second-factor":
            page = rp.http.get(location)
            clock.advance(30)  # a fresh time step: a code is accepted once per step
            response = rp.http.post(location, data={
                "csrf_token": _csrf(page.get_data(as_text=True)),
                "code": code or _otp(secret, clock)})
        elif path == "/consent":
            response = rp.consent(location)
        else:
            response = rp.http.get(location)
    raise AssertionError("too many redirects")


def _id_token(rp, result, jwks):
    tokens = rp.token(result["code"]).get_json()
    return jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"]).claims


@pytest.fixture
def level2(client, factory):
    return RelyingParty(client, factory.oauth_client(), factory.citizen(assurance_level=2))


def test_discovery_advertises_ordered_acr_values(client):
    assert client.get("/.well-known/openid-configuration").get_json()[
        "acr_values_supported"] == ["LoA1", "LoA2"]


def test_totp_enrolment_then_every_sign_in_asks_for_the_code(rp, clock, jwks):
    rp.code_flow()
    secret, _ = enrol_totp(rp.http, clock)
    result, seen = run_flow(rp, clock, secret, prompt="login")
    assert seen[:2] == ["/login", "/login/second-factor"]
    claims = _id_token(rp, result, jwks)
    assert claims["acr"] == "LoA1"  # level-1 identity: a second factor does not make it level 2
    assert sorted(claims["amr"]) == ["otp", "pwd"]


def test_level2_identity_with_totp_gets_loa2_when_asked(level2, clock, jwks):
    level2.code_flow()
    secret, _ = enrol_totp(level2.http, clock)
    result, seen = run_flow(level2, clock, secret, acr_values="LoA2", prompt="login")
    assert "/login/second-factor" in seen
    assert _id_token(level2, result, jwks)["acr"] == "LoA2"


def test_loa2_request_for_a_level1_identity_ends_with_unmet_authentication_requirements(rp, clock):
    """A client asking level 2 never receives a level-1 ID token."""
    rp.code_flow()
    enrol_totp(rp.http, clock)
    params, response = rp.authorize(acr_values="LoA2")
    location = response.headers["Location"]
    assert location.startswith(rp.reg["redirect_uri"])
    result = query_of(location)
    assert result["error"] == "unmet_authentication_requirements"
    assert result["state"] == params["state"] and result["iss"] == ISSUER
    assert "code" not in result


def test_loa2_request_without_a_second_factor_is_unmet(level2):
    level2.code_flow()
    _, response = level2.authorize(acr_values="LoA2")
    assert query_of(response.headers["Location"])["error"] == "unmet_authentication_requirements"


def test_loa1_session_steps_up_with_the_second_factor_only(level2, clock, jwks):
    first, _ = level2.code_flow()  # password only: LoA1 session
    secret, _ = enrol_totp(level2.http, clock)
    result, seen = run_flow(level2, clock, secret, acr_values="LoA2")
    assert seen and "/login" not in seen and seen[0] == "/login/second-factor"
    claims = _id_token(level2, result, jwks)
    assert claims["acr"] == "LoA2" and sorted(claims["amr"]) == ["otp", "pwd"]


def test_sso_reuses_a_loa2_session_only_up_to_the_configured_level(client, factory, clock, jwks):
    citizen = factory.citizen(assurance_level=2)
    province = RelyingParty(client, factory.oauth_client(), citizen)
    commune = RelyingParty(client, factory.oauth_client(), citizen)
    province.code_flow()
    secret, _ = enrol_totp(client, clock)
    run_flow(province, clock, secret, acr_values="LoA2", prompt="login")
    # Level 1 asked: silent single sign-on (only consent for the new client).
    result, seen = run_flow(commune, clock, secret, acr_values="LoA1")
    assert "/login" not in seen and "/login/second-factor" not in seen
    assert _id_token(commune, result, jwks)["acr"] == "LoA2"
    # Level 2 asked: above SSO_REUSE_MAX_ACR, so the second factor is asked again.
    result, seen = run_flow(commune, clock, secret, acr_values="LoA2")
    assert seen[0] == "/login/second-factor" and "/login" not in seen


def test_prompt_none_cannot_step_up(level2, clock):
    level2.code_flow()
    enrol_totp(level2.http, clock)
    _, response = level2.authorize(acr_values="LoA2", prompt="none")
    assert query_of(response.headers["Location"])["error"] == "login_required"


def test_unknown_acr_values_are_accepted_as_voluntary(rp, jwks):
    """oidcc-ensure-request-with-acr-values-succeeds (values "1 2")."""
    params, result = rp.code_flow(acr_values="1 2")
    assert _id_token(rp, result, jwks)["acr"] == "LoA1"


def test_wrong_or_replayed_totp_code_is_refused(rp, clock):
    rp.code_flow()
    secret, _ = enrol_totp(rp.http, clock)
    _, response = rp.authorize(prompt="login")
    second = rp.login(response.headers["Location"])
    location = second.headers["Location"]
    page = rp.http.get(location).get_data(as_text=True)
    wrong = rp.http.post(location, data={"csrf_token": _csrf(page), "code": "000000"})
    assert wrong.status_code == 401
    # The error is tied to its field (WCAG 3.3.1, 1.3.1): named by the field's aria-describedby.
    body = wrong.get_data(as_text=True)
    assert 'aria-invalid="true" aria-describedby="code_error"' in body
    assert '<div id="code_error" class="error" role="alert">' in body
    # The code used at enrolment, in the same time step: refused as a replay.
    replay = rp.http.post(location, data={"csrf_token": _csrf(page), "code": _otp(secret, clock)})
    assert replay.status_code == 401


def test_recovery_code_works_once(rp, clock, jwks):
    rp.code_flow()
    _, codes = enrol_totp(rp.http, clock)
    result, _ = run_flow(rp, clock, code=codes[0], prompt="login")
    assert "otp" in _id_token(rp, result, jwks)["amr"]
    _, response = rp.authorize(prompt="login")
    second = rp.login(response.headers["Location"])
    page = rp.http.get(second.headers["Location"]).get_data(as_text=True)
    again = rp.http.post(second.headers["Location"],
                         data={"csrf_token": _csrf(page), "code": codes[0]})
    assert again.status_code == 401


def test_second_factor_page_without_a_password_goes_to_sign_in(client):
    response = client.get("/login/second-factor")
    assert response.status_code == 303 and urlsplit(response.headers["Location"]).path == "/login"


def test_account_security_requires_sign_in(client):
    response = client.get("/account/security")
    assert response.status_code == 303
