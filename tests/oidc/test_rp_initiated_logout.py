"""OpenID Connect RP-Initiated Logout 1.0 (``oidcc-rp-initiated-logout-certification-test-plan``,
docs/conformance.md §2e): redirect only to a registered ``post_logout_redirect_uri`` proven by an
``id_token_hint``; otherwise confirm, sign out and show a page."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import ISSUER, _csrf, query_of
from tests.oidc.conftest import bearer


@pytest.fixture
def signed_in(rp):
    """``rp`` after a full flow: ``(rp, tokens)``."""
    _, tokens = rp.tokens()
    return rp, tokens


def _assert_signed_out(rp, tokens):
    """A later ``prompt=none`` fails (§2 of the module) and the session's tokens are revoked."""
    params, response = rp.authorize(prompt="none")
    result = rp.redirect_result(response)
    assert result["error"] == "login_required" and result["state"] == params["state"]
    assert rp.http.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def _assert_still_signed_in(rp):
    _, response = rp.authorize(prompt="none")
    assert "code" in rp.redirect_result(response)


def _assert_no_redirect(response):
    assert response.status_code in (200, 400), response.status_code
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


def test_oidcc_rp_initiated_logout_discovery_endpoint_verification(client):
    """oidcc-rp-initiated-logout-discovery-endpoint-verification: ``end_session_endpoint``."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["end_session_endpoint"] == ISSUER + "/logout"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_oidcc_rp_initiated_logout_redirects_with_state(signed_in, method):
    """oidcc-rp-initiated-logout (RP-Initiated Logout §2-§3): valid ``id_token_hint``,
    registered ``post_logout_redirect_uri`` and ``state``: signed out, 302 to it with ``state``;
    a later ``prompt=none`` gets ``login_required``."""
    rp, tokens = signed_in
    params = {"id_token_hint": tokens["id_token"], "state": "bye-123",
              "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]}
    if method == "GET":
        response = rp.http.get("/logout", query_string=params)
    else:
        # continued as the same GET, which carries the SameSite=Lax SSO cookie
        response = rp.http.post("/logout", data=params)
        assert response.status_code == 303 and "Set-Cookie" not in response.headers
        assert response.headers["Location"].startswith("/logout?")
        response = rp.http.get(response.headers["Location"])
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(rp.reg["post_logout_redirect_uri"] + "?")
    assert query_of(location) == {"state": "bye-123"}
    _assert_signed_out(rp, tokens)


def test_oidcc_rp_initiated_logout_with_client_id_matching_aud(signed_in):
    """§2: ``client_id`` with ``id_token_hint`` must match its ``aud``."""
    rp, tokens = signed_in
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "client_id": rp.reg["client_id"],
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    assert response.status_code == 302
    assert response.headers["Location"] == rp.reg["post_logout_redirect_uri"]


def test_oidcc_rp_initiated_logout_client_id_not_matching_aud_no_redirect(signed_in, factory):
    rp, tokens = signed_in
    other = factory.oauth_client()
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "client_id": other["client_id"],
        "post_logout_redirect_uri": other["post_logout_redirect_uri"]})
    _assert_no_redirect(response)


def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(signed_in):
    """oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: unregistered PLRU, no redirect."""
    rp, tokens = signed_in
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "state": "s",
        "post_logout_redirect_uri": "https://attacker.example/bye"})
    _assert_no_redirect(response)


def test_oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(signed_in):
    """oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: exact match only."""
    rp, tokens = signed_in
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"] + "?foo=bar"})
    _assert_no_redirect(response)


def test_oidcc_rp_initiated_logout_other_clients_plru_no_redirect(signed_in, factory):
    """A PLRU registered by another client is not trusted on this client's ID token."""
    rp, tokens = signed_in
    other = factory.oauth_client()
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": other["post_logout_redirect_uri"]})
    _assert_no_redirect(response)


def test_oidcc_rp_initiated_logout_modified_id_token_hint(signed_in):
    """oidcc-rp-initiated-logout-modified-id-token-hint: the hint re-headed as ``alg: none``
    is refused; no redirect, the session stays."""
    rp, tokens = signed_in
    _, payload, _ = tokens["id_token"].split(".")
    forged = "eyJhbGciOiJub25lIn0." + payload + "."
    response = rp.http.get("/logout", query_string={
        "id_token_hint": forged, "state": "s",
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    _assert_no_redirect(response)
    _assert_still_signed_in(rp)


def test_oidcc_rp_initiated_logout_bad_id_token_hint(signed_in, jwks):
    """oidcc-rp-initiated-logout-bad-id-token-hint: a hint signed by another party (same
    claims, same ``kid``), no redirect, the session stays."""
    rp, tokens = signed_in
    original = jwt.decode(tokens["id_token"], jwks)
    other_key = RSAKey.generate_key(2048, private=True)
    forged = jwt.encode(original.header, original.claims, other_key)
    response = rp.http.get("/logout", query_string={
        "id_token_hint": forged, "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    _assert_no_redirect(response)
    _assert_still_signed_in(rp)


@pytest.mark.parametrize("hint", ["garbage", "a.b.c", "x" * 3000, "\u00fe.\u00ff."])
def test_oidcc_rp_initiated_logout_garbage_id_token_hint_no_redirect(signed_in, hint):
    rp, _ = signed_in
    response = rp.http.get("/logout", query_string={
        "id_token_hint": hint, "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    assert response.status_code < 500
    _assert_no_redirect(response)


def test_oidcc_rp_initiated_logout_expired_id_token_hint_accepted(signed_in, clock):
    """§2: the OP SHOULD accept an expired ID token as a hint."""
    rp, tokens = signed_in
    clock.advance(3700)
    rp.tokens()  # keep the session alive
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    assert response.status_code == 302


def test_oidcc_rp_initiated_logout_no_id_token_hint(signed_in):
    """oidcc-rp-initiated-logout-no-id-token-hint: PLRU without hint or ``client_id``: no
    redirect; a confirmation page instead, and the session stays until confirmed."""
    rp, _ = signed_in
    response = rp.http.get("/logout", query_string={
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"], "state": "s"})
    _assert_no_redirect(response)
    assert 'name="confirm"' in response.get_data(as_text=True)
    _assert_still_signed_in(rp)


def test_oidcc_rp_initiated_logout_no_params_confirm_then_signed_out(signed_in):
    """oidcc-rp-initiated-logout-no-params: a confirmation page; POST with the CSRF token and
    ``confirm=yes`` signs out and says so."""
    rp, tokens = signed_in
    page = rp.http.get("/logout")
    _assert_no_redirect(page)
    assert page.status_code == 200
    _assert_still_signed_in(rp)
    token = _csrf(page.get_data(as_text=True))
    response = rp.http.post("/logout", data={"csrf_token": token, "confirm": "yes"})
    _assert_no_redirect(response)
    assert response.status_code == 200
    assert response.headers.get("Set-Cookie", "").startswith("gw_sso=;")
    _assert_signed_out(rp, tokens)


def test_oidcc_rp_initiated_logout_confirm_without_csrf_refused(signed_in):
    """A cross-site POST cannot sign a person out: the CSRF token is required."""
    rp, _ = signed_in
    response = rp.http.post("/logout", data={"confirm": "yes"})
    assert response.status_code == 400 and "Location" not in response.headers
    _assert_still_signed_in(rp)


def test_oidcc_rp_initiated_logout_confirm_with_plru_still_no_redirect(signed_in):
    """Confirmed logout without a hint still does not redirect to the unproven PLRU."""
    rp, tokens = signed_in
    page = rp.http.get("/logout", query_string={
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    token = _csrf(page.get_data(as_text=True))
    response = rp.http.post("/logout", data={
        "csrf_token": token, "confirm": "yes",
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    _assert_no_redirect(response)
    _assert_signed_out(rp, tokens)


def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(signed_in):
    """oidcc-rp-initiated-logout-no-post-logout-redirect-uri: signed out, logged-out page."""
    rp, tokens = signed_in
    response = rp.http.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    _assert_no_redirect(response)
    assert response.status_code == 200
    _assert_signed_out(rp, tokens)


def test_oidcc_rp_initiated_logout_no_state(signed_in):
    """oidcc-rp-initiated-logout-no-state: redirect to the PLRU without ``state``."""
    rp, tokens = signed_in
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    assert response.status_code == 302
    assert response.headers["Location"] == rp.reg["post_logout_redirect_uri"]
    _assert_signed_out(rp, tokens)


def test_oidcc_rp_initiated_logout_only_state(signed_in):
    """oidcc-rp-initiated-logout-only-state: no redirect (confirmation, then logged out)."""
    rp, tokens = signed_in
    page = rp.http.get("/logout", query_string={"state": "s"})
    _assert_no_redirect(page)
    token = _csrf(page.get_data(as_text=True))
    response = rp.http.post("/logout", data={"csrf_token": token, "confirm": "yes", "state": "s"})
    _assert_no_redirect(response)
    _assert_signed_out(rp, tokens)


def test_oidcc_rp_initiated_logout_ends_sso_for_every_client(signed_in, make_rp):
    """Logging out at one client ends the provider session: the other client's next
    ``prompt=none`` fails too."""
    rp, tokens = signed_in
    other = make_rp()
    _, other_tokens = other.tokens()
    rp.http.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    _assert_signed_out(other, other_tokens)


def test_oidcc_rp_initiated_logout_when_not_signed_in(rp, factory):
    """Logging out without a session is harmless and still honours a valid request."""
    response = rp.http.get("/logout")
    assert response.status_code == 200


def test_oidcc_rp_initiated_logout_ui_locales(signed_in):
    """RP-Initiated Logout §2 ``ui_locales``: the page language."""
    rp, _ = signed_in
    page = rp.http.get("/logout", query_string={"ui_locales": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_oidcc_rp_initiated_logout_outstanding_code_no_longer_redeemable(rp):
    """A code issued before the person signed out gives no tokens afterwards: the session it
    belongs to has ended (its other tokens were revoked at logout)."""
    _, tokens = rp.tokens()
    _, result = rp.code_flow()
    rp.http.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    response = rp.token(result["code"])
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
