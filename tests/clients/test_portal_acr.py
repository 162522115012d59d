"""The portals asking for an assurance level and checking the one obtained (OIDC Core §3.1.2.1
``acr_values``, §3.1.3.7 ID token validation, §3.1.2.6 ``unmet_authentication_requirements``).

The province portal's judicial-record request needs a level 2 sign-in (Decree 69/2024/NĐ-CP). The
provider here is a small HTTP server on 127.0.0.1 (discovery, JWKS, token, UserInfo) whose ID
token's ``acr`` the test chooses, so the portal's own check is what is tested.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt

from clients.kit.i18n import STRINGS
from clients.province import STRINGS as PROVINCE_STRINGS
from tests.clients.stand_in import StandInProvider

VI = {**STRINGS["vi"], **PROVINCE_STRINGS["vi"]}
EN = {**STRINGS["en"], **PROVINCE_STRINGS["en"]}
CLIENT_ID = "province-portal"
SERVICE = "/services/judicial-record"


class FakeProvider(StandInProvider):
    """An OpenID provider whose next ID token carries the ``acr`` the test sets (``None``: no
    ``acr`` claim at all)."""

    def __init__(self):
        super().__init__(kid="op-1")
        self.acr: str | None = "LoA2"
        self.nonce: str | None = None

    def token_response(self) -> dict:
        return {"access_token": "at-1", "token_type": "Bearer", "expires_in": 300,
                "id_token": self.id_token()}

    def user_info(self) -> dict:
        return {"sub": "pairwise-sub-1", "name": "Võ Thành Phát", "personal_id": "086088004321"}

    def id_token(self) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "pairwise-sub-1", "iat": now,
                  "exp": now + 300, "auth_time": now, "nonce": self.nonce, "sid": "sid-1",
                  "acr": self.acr}
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)


@pytest.fixture(scope="module")
def provider():
    with FakeProvider() as site:
        yield site


@pytest.fixture
def client(provider, clean_environ):
    from clients.province import create_app

    for name, value in {"PORTAL_ISSUER": provider.issuer, "PORTAL_CLIENT_ID": CLIENT_ID,
                        "PORTAL_CLIENT_SECRET": "test-secret",
                        "PORTAL_BASE_URL": "http://127.0.0.1:5001",
                        "PORTAL_SECRET_KEY": "test-secret-key"}.items():
        clean_environ.setenv(name, value)
    provider.acr = "LoA2"
    app = create_app()
    app.config["TESTING"] = True
    return app.test_client()


def start_sign_in(client, provider, path="/login", **query) -> dict[str, str]:
    """GET the portal's login route; the authorization request's parameters."""
    response = client.get(path, query_string=query or None)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlsplit(response.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == provider.issuer + "/authorize"
    params = {key: values[0] for key, values in parse_qs(location.query).items()}
    provider.nonce = params["nonce"]
    return params


def finish_sign_in(client, provider, params):
    return client.get("/callback", query_string={"code": "code-1", "state": params["state"],
                                                 "iss": provider.issuer})


def signed_in_claims(client) -> dict | None:
    with client.session_transaction() as session:
        return session.get("claims")


def test_login_sends_acr_values_when_a_level_is_chosen(client, provider):
    """OIDC Core §3.1.2.1: ``acr_values`` in the authorization request, with PKCE and nonce."""
    params = start_sign_in(client, provider, acr="LoA2")
    assert params["acr_values"] == "LoA2"
    assert params["code_challenge_method"] == "S256"
    assert params["nonce"]


def test_login_without_a_choice_sends_no_acr_values(client, provider):
    assert "acr_values" not in start_sign_in(client, provider)


@pytest.mark.parametrize("acr", ["LoA3", "", "LoA1 LoA2", "loa2", "urn:mace:incommon:iap:silver"])
def test_login_rejects_acr_outside_the_allow_list(client, acr):
    response = client.get("/login", query_string={"acr": acr})
    assert response.status_code == 400
    assert VI["bad_request"] in response.get_data(as_text=True)


def test_callback_accepts_id_token_at_the_level_asked_and_returns_to_the_service(client,
                                                                                 provider):
    """OIDC Core §2: ``acr`` at least what was asked; the person lands on the page they asked
    for, which shows the level."""
    params = start_sign_in(client, provider, acr="LoA2", next=SERVICE)
    response = finish_sign_in(client, provider, params)
    assert response.status_code == 302
    assert response.location == SERVICE
    assert signed_in_claims(client)["acr"] == "LoA2"
    page = client.get(SERVICE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert VI["service_level2"] in html
    assert f'data-testid="service-acr">{VI["loa2"]}<' in html
    assert "086088004321" in html


@pytest.mark.parametrize("acr", ["LoA1", None, "", "LoA9"])
def test_callback_refuses_id_token_below_the_level_asked(client, provider, acr):
    """A valid, signed ID token whose ``acr`` is lower than asked (or absent) signs nobody in:
    ``acr_values`` is a request the provider may not meet, so the relying party checks."""
    params = start_sign_in(client, provider, acr="LoA2", next=SERVICE)
    provider.acr = acr
    response = finish_sign_in(client, provider, params)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert VI["error_acr_too_low"] in html
    assert "acr_too_low" in html
    assert signed_in_claims(client) is None


def test_callback_accepts_any_level_when_none_was_asked(client, provider):
    params = start_sign_in(client, provider)
    provider.acr = "LoA1"
    assert finish_sign_in(client, provider, params).location == "/"
    assert signed_in_claims(client)["acr"] == "LoA1"


def test_callback_explains_unmet_authentication_requirements(client, provider):
    """OIDC Core §3.1.2.6: the provider could not reach the level; the page says what it needs."""
    params = start_sign_in(client, provider, acr="LoA2", next=SERVICE)
    response = client.get("/callback", query_string={
        "error": "unmet_authentication_requirements", "state": params["state"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert VI["error_unmet_acr"] in html
    assert "unmet_authentication_requirements" in html
    assert signed_in_claims(client) is None


def test_level_2_service_sends_signed_out_visitor_to_sign_in_with_acr_values(client, provider):
    response = client.get(SERVICE)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"
    params = start_sign_in(client, provider, response.location)
    assert params["acr_values"] == "LoA2"


def test_level_2_service_steps_up_a_level_1_sign_in(client, provider):
    """Signed in at level 1: the service asks again for level 2 rather than opening."""
    params = start_sign_in(client, provider)
    provider.acr = "LoA1"
    finish_sign_in(client, provider, params)
    response = client.get(SERVICE)
    assert response.status_code == 302
    again = start_sign_in(client, provider, response.location)
    assert again["acr_values"] == "LoA2"
    provider.acr = "LoA2"
    assert finish_sign_in(client, provider, again).location == SERVICE
    assert client.get(SERVICE).status_code == 200


@pytest.mark.parametrize("next_path", ["//evil.example/", "https://evil.example/x", "evil"])
def test_callback_never_returns_off_site(client, provider, next_path):
    params = start_sign_in(client, provider, acr="LoA2", next=next_path)
    assert finish_sign_in(client, provider, params).location == "/"


def test_home_links_the_level_2_service_and_says_what_it_needs(client):
    html = client.get("/").get_data(as_text=True)
    assert f'href="{SERVICE}"' in html
    assert VI["service_level2_needs"] in html


def test_level_2_service_and_its_refusal_read_in_english(client, provider):
    client.get("/lang/en")
    assert EN["service_level2_needs"] in client.get("/").get_data(as_text=True)
    params = start_sign_in(client, provider, acr="LoA2", next=SERVICE)
    assert params["ui_locales"] == "en"
    refused = client.get("/callback", query_string={
        "error": "unmet_authentication_requirements", "state": params["state"]})
    assert EN["error_unmet_acr"] in refused.get_data(as_text=True)
    params = start_sign_in(client, provider, acr="LoA2", next=SERVICE)
    finish_sign_in(client, provider, params)
    html = client.get(SERVICE).get_data(as_text=True)
    assert EN["service_level2"] in html and f'data-testid="service-acr">{EN["loa2"]}<' in html
