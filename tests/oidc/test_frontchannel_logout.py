"""OpenID Connect Front-Channel Logout 1.0 (``oidcc-frontchannel-rp-initiated-logout-
certification-test-plan``, docs/conformance.md §2g): the signed-out page loads each participating
client's ``frontchannel_logout_uri`` in an iframe (with ``iss`` and ``sid`` when asked), then
continues to the ``post_logout_redirect_uri``."""

from __future__ import annotations

import html
import re

from joserfc import jwt

from tests.conftest import ISSUER, _csrf, query_of
from tests.oidc.conftest import ALGORITHMS


def frame_sources(response) -> list[str]:
    page = response.get_data(as_text=True)
    return [html.unescape(src) for src in re.findall(r'<iframe src="([^"]+)"', page)]


def continue_target(response) -> str | None:
    found = re.search(r'data-continue="([^"]+)"', response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


def test_oidcc_frontchannel_logout_discovery_endpoint_verification(client):
    """oidcc-frontchannel-logout-discovery-endpoint-verification: Front-Channel Logout §3."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["frontchannel_logout_supported"] is True
    assert metadata["frontchannel_logout_session_supported"] is True
    assert metadata["end_session_endpoint"] == ISSUER + "/logout"


def test_oidcc_frontchannel_rp_initiated_logout_frames_uri_with_iss_and_sid(register_rp, jwks):
    """oidcc-frontchannel-rp-initiated-logout (§2, §3): an iframe of the registered URI with
    ``iss`` and the ID token's ``sid``; then the PLRU with ``state``; ``prompt=none`` fails."""
    rp = register_rp(frontchannel_logout_uri="https://rp.example.vn/frontchannel?x=1",
                     frontchannel_logout_session_required=True,
                     post_logout_redirect_uris=["https://rp.example.vn/bye"])
    _, tokens = rp.tokens()
    sid = jwt.decode(tokens["id_token"], jwks, algorithms=ALGORITHMS).claims["sid"]

    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "state": "s-1",
        "post_logout_redirect_uri": "https://rp.example.vn/bye"})

    assert response.status_code == 200 and response.mimetype == "text/html"
    [src] = frame_sources(response)
    assert src.startswith("https://rp.example.vn/frontchannel?")
    assert query_of(src) == {"x": "1", "iss": ISSUER, "sid": sid}
    assert continue_target(response) == "https://rp.example.vn/bye?state=s-1"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-src 'self' https://rp.example.vn;" in csp
    assert "frame-ancestors 'none'" in csp
    assert "/static/frontchannel-logout.js" in response.get_data(as_text=True)
    _, again = rp.authorize(prompt="none")
    assert rp.redirect_result(again)["error"] == "login_required"


def test_frontchannel_logout_without_session_required_frames_bare_uri(register_rp):
    """§2: ``iss`` and ``sid`` only for clients that registered
    ``frontchannel_logout_session_required``."""
    rp = register_rp(frontchannel_logout_uri="https://rp.example.vn/frontchannel",
                     post_logout_redirect_uris=["https://rp.example.vn/bye"])
    _, tokens = rp.tokens()
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": "https://rp.example.vn/bye"})
    assert frame_sources(response) == ["https://rp.example.vn/frontchannel"]


def test_frontchannel_logout_frames_every_participant_not_bystanders(register_rp):
    """§3: every client of the session gets its frame; a client the person never used does
    not; without a redirect target the page stays (no ``data-continue``)."""
    first = register_rp(frontchannel_logout_uri="https://first.example.vn/fc",
                        redirect_uris=["https://first.example.vn/callback"])
    second = register_rp(citizen=first.citizen, frontchannel_logout_uri="https://second.example.vn/fc",
                         redirect_uris=["https://second.example.vn/callback"])
    register_rp(frontchannel_logout_uri="https://third.example.vn/fc",
                redirect_uris=["https://third.example.vn/callback"])
    first.tokens()
    second.tokens()
    page = first.http.get("/")
    response = first.http.post("/signout",
                               data={"csrf_token": _csrf(page.get_data(as_text=True))})
    assert response.status_code == 200
    assert sorted(frame_sources(response)) == ["https://first.example.vn/fc",
                                               "https://second.example.vn/fc"]
    assert continue_target(response) is None
    csp = response.headers["Content-Security-Policy"]
    assert "https://first.example.vn" in csp and "https://third.example.vn" not in csp


def test_frontchannel_logout_none_registered_redirects_straight(rp):
    """No front-channel client in the session: RP-initiated logout redirects at once."""
    _, tokens = rp.tokens()
    response = rp.http.get("/logout", query_string={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": rp.reg["post_logout_redirect_uri"]})
    assert response.status_code == 302
    assert response.headers["Location"] == rp.reg["post_logout_redirect_uri"]


def test_frontchannel_logout_on_sign_out_everywhere_from_my_account(register_rp, jwks):
    """"Sign out everywhere" in "Tài khoản của tôi" ends the sessions as the sign-out button
    does: the signed-out page frames each front-channel client with ``iss`` and ``sid``."""
    rp = register_rp(frontchannel_logout_uri="https://rp.example.vn/frontchannel",
                     frontchannel_logout_session_required=True)
    _, tokens = rp.tokens()
    sid = jwt.decode(tokens["id_token"], jwks, algorithms=ALGORITHMS).claims["sid"]
    page = rp.http.get("/account/sessions").get_data(as_text=True)
    response = rp.http.post("/account/sessions/end-all", data={"csrf_token": _csrf(page)})
    assert response.status_code == 200
    [src] = frame_sources(response)
    assert query_of(src) == {"iss": ISSUER, "sid": sid}
    assert "frame-src 'self' https://rp.example.vn;" in response.headers["Content-Security-Policy"]
