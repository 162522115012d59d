"""Consent and single sign-on across relying parties (OIDC Core §3.1.2.3-§3.1.2.4, §3.1.2.6;
RFC 6749 §4.1.2.1 ``access_denied``; RFC 9207 ``iss`` on every authorization response)."""

from __future__ import annotations

from tests.conftest import ISSUER, _csrf
from tests.oidc.conftest import TracingRelyingParty, bearer, decode_id_token, path_of


def test_consent_remembered_per_client_and_scope(rp):
    """OIDC Core §3.1.2.4: the second authorization for the same client and scope shows no
    consent page (and no sign-in page: the SSO session is alive)."""
    rp.tokens(scope="openid profile")
    assert rp.pages == ["login", "consent"]
    rp.tokens(scope="openid profile")
    assert rp.pages == []
    rp.tokens(scope="openid")  # a narrower scope is covered
    assert rp.pages == []


def test_consent_wider_scope_asks_again(rp, client):
    """A scope not yet consented to shows the consent page again, naming the new scope."""
    rp.tokens(scope="openid profile")
    _, response = rp.authorize(scope="openid profile email")
    location = response.headers["Location"]
    assert path_of(location) == "/consent"
    page = client.get(location)
    assert page.status_code == 200
    rp.consent(location)
    rp.tokens(scope="openid email profile")
    assert rp.pages == []


def test_consent_deny_access_denied_with_state_and_iss(rp):
    """RFC 6749 §4.1.2.1: denying gives ``access_denied`` to the ``redirect_uri`` with
    ``state`` and ``iss`` (RFC 9207), no code; nothing is remembered."""
    params, response = rp.authorize()
    response = rp.login(response.headers["Location"])
    response = rp.http.get(response.headers["Location"])  # resume: to the consent page
    response = rp.consent(response.headers["Location"], decision="deny")
    response = rp.http.get(response.headers["Location"])  # resume after the decision
    result = rp.redirect_result(response)
    assert result["error"] == "access_denied" and "code" not in result
    assert result["state"] == params["state"] and result["iss"] == ISSUER
    _, response = rp.authorize()
    assert path_of(response.headers["Location"]) == "/consent"


def test_consent_prompt_consent_forces_page(rp):
    """OIDC Core §3.1.2.1 ``prompt=consent``: the consent page even when consent is remembered."""
    rp.tokens()
    rp.tokens(prompt="consent")
    assert rp.pages == ["consent"]


def test_consent_prompt_login_consent_both_pages(rp):
    """``prompt=login consent``: sign in again, then consent again."""
    rp.tokens()
    rp.tokens(prompt="login consent")
    assert rp.pages == ["login", "consent"]


def test_consent_page_lists_requested_scopes_and_client(rp, client):
    """FAPI 2.0 F16: the consent page shows the client's name and what it will receive."""
    _, response = rp.authorize(scope="openid profile personal_id", ui_locales="en")
    response = rp.login(response.headers["Location"])
    location = client.get(response.headers["Location"]).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "Agency app" in page
    assert "personal ID number" in page and "email address" not in page


def test_consent_interaction_bound_to_browser(rp, app):
    """A pending request link opened in another browser is refused (no session fixation)."""
    _, response = rp.authorize()
    location = response.headers["Location"]
    other_browser = app.test_client()
    page = other_browser.get(location)
    assert page.status_code == 400 and "Location" not in page.headers


def test_consent_interaction_expires(rp, clock):
    """A pending request expires (INTERACTION_LIFETIME): the sign-in page says so."""
    _, response = rp.authorize()
    clock.advance(15 * 60 + 1)
    page = rp.http.get(response.headers["Location"])
    assert page.status_code == 400


def test_consent_post_without_csrf_refused(rp, client):
    """Consent forms carry a CSRF token; a POST without it does not grant anything."""
    _, response = rp.authorize()
    response = rp.login(response.headers["Location"])
    location = client.get(response.headers["Location"]).headers["Location"]
    response = client.post(location, data={"decision": "allow"})
    assert response.status_code == 400 and "Location" not in response.headers


def test_consent_unknown_decision_refused(rp, client):
    _, response = rp.authorize()
    response = rp.login(response.headers["Location"])
    location = client.get(response.headers["Location"]).headers["Location"]
    token = _csrf(client.get(location).get_data(as_text=True))
    response = client.post(location, data={"csrf_token": token, "decision": "maybe"})
    assert response.status_code == 400


def test_sso_second_client_no_password_prompt(rp, make_rp, jwks, clock):
    """Single sign-on: a second client in the same browser gets the person without a password
    prompt (only consent), same session ``sid``, same ``auth_time``."""
    first_params, first = rp.tokens()
    other = make_rp()
    clock.advance(10)
    second_params, second = other.tokens()
    assert other.pages == ["consent"]
    a = decode_id_token(first["id_token"], jwks, client_id=rp.reg["client_id"],
                        now=clock.now(), nonce=first_params["nonce"]).claims
    b = decode_id_token(second["id_token"], jwks, client_id=other.reg["client_id"],
                        now=clock.now(), nonce=second_params["nonce"]).claims
    # Pairwise subjects: two sectors see two subjects; one session (sid) and one sign-in.
    assert a["sub"] != b["sub"] and a["sid"] == b["sid"] and a["auth_time"] == b["auth_time"]


def test_sso_session_idle_timeout_requires_sign_in(rp, clock):
    """The SSO session ends after two idle hours: the next request shows the sign-in page."""
    rp.tokens()
    clock.advance(2 * 3600)
    rp.tokens()
    assert rp.pages == ["login"]


def test_sso_session_lifetime_ends_even_when_active(rp, clock):
    """The SSO session ends after eight hours even when used every hour."""
    rp.tokens()
    for _ in range(8):
        clock.advance(3600)
        rp.tokens()
    assert rp.pages == ["login"]


def test_sso_signing_in_as_someone_else_ends_previous_session(rp, client, factory):
    """Signing in again (``prompt=login``) as another person ends the first session: its tokens
    are revoked and the new ID token names the new person."""
    _, first = rp.tokens()
    someone_else = factory.citizen()
    other = TracingRelyingParty(client, rp.reg, someone_else)
    other.tokens(prompt="login")
    assert client.get("/userinfo", headers=bearer(first["access_token"])).status_code == 401


def test_sso_reauthentication_same_person_keeps_session_and_other_tokens(rp, make_rp, jwks,
                                                                          clock):
    """``prompt=login`` at one client re-authenticates the person within the same session: a
    later ``auth_time``, the same ``sid``, and the other client's tokens keep working."""
    first_params, first = rp.tokens()
    other = make_rp()
    clock.advance(60)
    second_params, second = other.tokens(prompt="login")
    assert other.pages == ["login", "consent"]
    assert rp.http.get("/userinfo", headers=bearer(first["access_token"])).status_code == 200
    a = decode_id_token(first["id_token"], jwks, client_id=rp.reg["client_id"],
                        now=clock.now(), nonce=first_params["nonce"]).claims
    b = decode_id_token(second["id_token"], jwks, client_id=other.reg["client_id"],
                        now=clock.now(), nonce=second_params["nonce"]).claims
    assert a["sid"] == b["sid"] and b["auth_time"] == a["auth_time"] + 60


def test_sso_reauthentication_rotates_cookie_handle(rp):
    """Session fixation: the re-authentication sets a new SSO cookie; the old one is dead."""
    rp.tokens()
    old_handle = rp.http.get_cookie("gw_sso").value
    rp.tokens(prompt="login")
    assert rp.http.get_cookie("gw_sso").value != old_handle
    rp.http.set_cookie("gw_sso", old_handle)
    _, response = rp.authorize(prompt="none")
    assert rp.redirect_result(response)["error"] == "login_required"


def test_consent_decision_counts_for_the_person_it_was_shown_to(rp, client, factory):
    """If someone else signs in on the same browser (another tab) while the consent page is
    open, the click does not consent for them: the page is shown again, to them (409)."""
    _, response = rp.authorize()
    response = rp.login(response.headers["Location"])
    location = client.get(response.headers["Location"]).headers["Location"]
    page = client.get(location)  # shown to rp.citizen
    token = _csrf(page.get_data(as_text=True))
    someone_else = factory.citizen()
    login = client.get("/login")
    client.post("/login", data={"csrf_token": _csrf(login.get_data(as_text=True)),
                                "personal_id": someone_else["personal_id"],
                                "password": someone_else["password"]})
    response = client.post(location, data={"csrf_token": token, "decision": "allow"})
    assert response.status_code == 409
    assert someone_else["name"] in response.get_data(as_text=True)
    # now shown to the person signed in: their own click counts
    token = _csrf(response.get_data(as_text=True))
    response = client.post(location, data={"csrf_token": token, "decision": "allow"})
    assert response.status_code == 303


def test_consent_two_tabs_both_decide(rp, client):
    """Two consent pages open in one browser: each decision is accepted."""
    rp.tokens()  # signed in
    locations = []
    for _ in range(2):
        _, response = rp.authorize(prompt="consent")
        locations.append(response.headers["Location"])
    tokens = [_csrf(client.get(location).get_data(as_text=True)) for location in locations]
    for location, token in zip(locations, tokens, strict=True):
        response = client.post(location, data={"csrf_token": token, "decision": "allow"})
        assert response.status_code == 303
