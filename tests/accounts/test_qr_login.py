"""QR cross-device sign-in through the real HTTP surface (issue 4 item 5).

The rules (docs/conformance.md §3c, docs/domain.md §6): the code is bound to the browser that
shows it and to its pending authorization request, expires within 90 s, is single use and
rate-limited, and the phone shows the agency and the computer's place before the person confirms.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from joserfc import jwt

from gateway import create_app
from gateway.config import ConfigurationError
from gateway.extensions import db
from tests.accounts.test_assurance import enrol_totp
from tests.conftest import ISSUER, RelyingParty, _csrf, query_of
from tests.stores.helpers import count_entries


def _html(response) -> str:
    return response.get_data(as_text=True)


def sign_in_phone(phone, citizen) -> None:
    """The phone signs in at the gateway itself (no authorization request)."""
    page = phone.get("/login")
    response = phone.post("/login", data={"csrf_token": _csrf(_html(page)),
                                          "personal_id": citizen["personal_id"],
                                          "password": citizen["password"]})
    assert response.status_code == 303, _html(response)[:300]


class Desktop:
    """The desktop browser at the gateway's sign-in page of one authorization request."""

    def __init__(self, rp: RelyingParty, environ_base=None, **authorize):
        self.rp = rp
        self.params, response = rp.authorize(**authorize)
        self.login_url = response.headers["Location"]
        assert urlsplit(self.login_url).path == "/login"
        self.interaction = query_of(self.login_url)["interaction"]
        self.refresh(environ_base=environ_base or {})

    def refresh(self, lang=None, **kwargs):
        page = self.rp.http.get(self.login_url + (f"&lang={lang}" if lang else ""), **kwargs)
        assert page.status_code == 200
        self.html = _html(page)
        found = re.search(r'data-qr-url="([^"]+)"', self.html)
        self.qr_url = found.group(1) if found else None
        self.code = self.qr_url.rsplit("/", 1)[1] if found else None
        return page

    def status(self, http=None):
        return (http or self.rp.http).get("/login/qr/status",
                                          query_string={"interaction": self.interaction})

    def complete(self):
        return self.rp.http.post("/login/qr/complete",
                                 query_string={"interaction": self.interaction},
                                 data={"csrf_token": _csrf(self.html)})


def open_on_phone(phone, desktop, **kwargs):
    return phone.get(urlsplit(desktop.qr_url).path, **kwargs)


def decide(phone, desktop, decision="approve"):
    page = open_on_phone(phone, desktop)
    assert page.status_code == 200, _html(page)[:400]
    return phone.post(urlsplit(desktop.qr_url).path,
                      data={"csrf_token": _csrf(_html(page)), "decision": decision})


def record_of(app, code):
    from gateway.accounts import qr_store

    with app.app_context():
        return qr_store.get_qr_login(code)


def _count(app) -> int:
    """QR records in the hot store (SQL or Redis)."""
    from gateway.accounts.qr_store import RECORDS
    from gateway.stores.hot import get_hot_store

    with app.app_context():
        return count_entries(get_hot_store(), RECORDS)


def _claims(rp, result, jwks) -> dict:
    tokens = rp.token(result["code"]).get_json()
    return jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"]).claims


@pytest.fixture
def phone(app, rp):
    """A second browser (the person's phone), signed in as the relying party's citizen."""
    http = app.test_client()
    sign_in_phone(http, rp.citizen)
    return http


def test_qr_sign_in_completes_the_authorization_request_on_the_desktop(app, rp, phone, jwks):
    desktop = Desktop(rp)
    assert desktop.status().get_json()["status"] == "pending"
    assert open_on_phone(phone, desktop).status_code == 200
    assert desktop.status().get_json()["status"] == "scanned"
    approved = decide(phone, desktop)
    assert approved.status_code == 200
    assert desktop.status().get_json()["status"] == "approved"

    response = desktop.complete()
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == f"/authorize/resume/{desktop.interaction}"
    result = rp.follow_to_callback(response)
    assert result["state"] == desktop.params["state"]
    claims = _claims(rp, result, jwks)
    assert claims["sub"]
    assert claims["amr"] == ["mca", "pwd"]  # RFC 8176: multiple-channel, plus the phone's method
    assert claims["acr"] == "LoA1"
    assert record_of(app, desktop.code).status == "consumed"
    # The desktop now has its own SSO session: the next request needs no sign-in at all.
    again = rp.authorize()[1]
    assert query_of(again.headers["Location"]).get("code")


def test_login_page_shows_a_qr_code_for_the_pending_request(app, rp):
    desktop = Desktop(rp)
    assert 'data-testid="qr-login"' in desktop.html
    assert 'src="data:image/svg+xml;base64,' in desktop.html
    assert 'aria-live="polite"' in desktop.html
    assert desktop.qr_url.startswith(ISSUER + "/m/qr/")
    assert len(desktop.code) >= 22  # at least 128 bits of randomness, URL-safe base64
    record = record_of(app, desktop.code)
    # Only the digest is stored, with the binding and the context the phone will show.
    assert desktop.code not in (record.code_digest, record.pending_uid)
    assert record.pending_uid == desktop.interaction and record.status == "pending"
    assert record.client_id == rp.reg["client_id"] and record.ip_address == "127.0.0.1"
    assert record.expires_at - record.created_at == 90


def test_login_page_without_an_authorization_request_shows_no_qr_code(client):
    assert 'data-qr-url' not in _html(client.get("/login"))


def test_phone_shows_the_agency_the_place_and_asks_to_confirm(rp, phone):
    desktop = Desktop(rp)
    page = open_on_phone(phone, desktop, query_string={"lang": "en"})
    html = _html(page)
    assert page.status_code == 200
    assert 'data-testid="qr-client-name"' in html and "Agency app" in html
    assert "127.0.0.1 (this machine)" in html
    assert "The same network as this phone." in html  # both at 127.0.0.1 here
    assert 'value="approve"' in html and 'value="deny"' in html and "csrf_token" in html
    vietnamese = _html(open_on_phone(phone, desktop, query_string={"lang": "vi"}))
    assert "127.0.0.1 (máy này)" in vietnamese and "Đồng ý đăng nhập" in vietnamese


def test_phone_shows_local_network_for_a_private_desktop_address(rp, phone):
    desktop = Desktop(rp, environ_base={"REMOTE_ADDR": "192.168.1.20"})
    html = _html(open_on_phone(phone, desktop, query_string={"lang": "en"}))
    assert "192.168.1.20 (local network)" in html
    assert "same network as this phone" not in html  # the phone is at 127.0.0.1


@pytest.mark.parametrize("address,place", [
    ("127.0.0.1", "this machine"), ("::1", "this machine"), ("::ffff:10.1.2.3", "local network"),
    ("172.20.0.9", "local network"), ("203.113.1.1", None), ("not-an-ip", None), (None, None),
])
def test_place_of_an_address_comes_from_the_configured_table(app, address, place):
    from gateway.accounts.qr_login import describe_place

    with app.test_request_context("/?lang=en"):
        assert describe_place(address) == place


def test_operators_can_name_their_own_networks(app):
    from gateway.accounts.qr_login import describe_place

    app.config["QR_LOGIN_PLACES"] = app.config["QR_LOGIN_PLACES"] + [
        ["203.113.0.0/16", "Vĩnh Long", "Vinh Long"], ["203.113.1.0/24", "UBND phường", "Ward"],
        ["not a network", "x", "x"]]
    with app.test_request_context("/"):
        assert describe_place("203.113.1.7") == "UBND phường"  # the most specific network
        assert describe_place("203.113.9.9") == "Vĩnh Long"


def test_qr_code_expires_after_90_seconds(app, rp, phone, clock):
    desktop = Desktop(rp)
    clock.advance(90)
    assert desktop.status().get_json()["status"] == "expired"
    page = open_on_phone(phone, desktop, query_string={"lang": "en"})
    assert page.status_code == 410 and "has expired" in _html(page)
    page = open_on_phone(phone, desktop, query_string={"lang": "vi"})
    assert page.status_code == 410 and "Mã QR này đã hết hạn" in _html(page)
    assert desktop.complete().status_code == 410
    assert record_of(app, desktop.code).status == "pending"  # nothing written by the refusals


def test_approval_after_expiry_is_refused(app, rp, phone, clock):
    desktop = Desktop(rp)
    page = open_on_phone(phone, desktop)
    clock.advance(91)
    late = phone.post(urlsplit(desktop.qr_url).path,
                      data={"csrf_token": _csrf(_html(page)), "decision": "approve"})
    assert late.status_code == 410
    record = record_of(app, desktop.code)
    assert record.status == "scanned" and record.citizen_id is None


def test_approved_code_must_be_completed_promptly(rp, phone, clock):
    desktop = Desktop(rp)
    decide(phone, desktop)
    clock.advance(90 + 15)
    assert desktop.status().get_json()["status"] == "expired"
    assert desktop.complete().status_code == 410


def test_qr_code_is_single_use(app, rp, phone):
    desktop = Desktop(rp)
    page = open_on_phone(phone, desktop)
    token = _csrf(_html(page))
    path = urlsplit(desktop.qr_url).path
    assert phone.post(path, data={"csrf_token": token, "decision": "approve"}).status_code == 200
    again = phone.post(path, data={"csrf_token": token, "decision": "approve"})
    assert again.status_code == 409
    assert desktop.complete().status_code == 303
    replay = desktop.complete()
    assert replay.status_code == 409
    assert open_on_phone(phone, desktop).status_code == 409
    assert record_of(app, desktop.code).status == "consumed"


def test_code_confirmed_for_one_browser_cannot_sign_in_another(app, rp, phone):
    desktop = Desktop(rp)
    decide(phone, desktop)
    attacker = app.test_client()
    status = desktop.status(attacker)
    assert status.status_code == 403 and status.get_json()["status"] == "unknown"
    page = attacker.get(desktop.login_url)
    assert page.status_code == 400  # the pending request is bound to the desktop browser
    stolen = attacker.post("/login/qr/complete", query_string={"interaction": desktop.interaction},
                           data={"csrf_token": _csrf(_html(attacker.get("/login")))})
    assert stolen.status_code == 400
    assert attacker.get_cookie("gw_sso") is None
    assert record_of(app, desktop.code).status == "approved"  # still there for the real browser
    assert desktop.complete().status_code == 303


def test_denied_code_shows_a_message_and_the_password_still_works(app, rp, phone):
    desktop = Desktop(rp)
    refused = decide(phone, desktop, "deny")
    assert refused.status_code == 200
    body = desktop.status().get_json()
    assert body["status"] == "denied" and body["message"]
    assert desktop.complete().status_code == 409
    assert rp.http.get_cookie("gw_sso") is None
    response = rp.login(desktop.login_url)
    assert response.status_code == 303
    assert rp.follow_to_callback(response)["state"] == desktop.params["state"]


def test_code_scanned_on_one_phone_cannot_be_decided_on_another(app, rp, phone, factory):
    desktop = Desktop(rp)
    assert open_on_phone(phone, desktop).status_code == 200
    other = app.test_client()
    sign_in_phone(other, factory.citizen())
    page = open_on_phone(other, desktop, query_string={"lang": "en"})
    assert page.status_code == 409 and "another device" in _html(page)
    assert record_of(app, desktop.code).citizen_id is None


def test_newer_code_on_the_page_cancels_the_older_one(rp, phone):
    desktop = Desktop(rp)
    old_url = desktop.qr_url
    desktop.refresh()
    assert desktop.qr_url != old_url
    assert phone.get(urlsplit(old_url).path).status_code == 410
    assert open_on_phone(phone, desktop).status_code == 200


@pytest.mark.parametrize("code", [
    "not-a-real-code-0000000000000000",
    "x" * 300,
    "%ff%fe",
    "m%C3%A3-qr",
    "..%2F..%2Flogin",
])
@pytest.mark.parametrize("lang,text", [("vi", "Mã QR này không hợp lệ"),
                                       ("en", "This QR code is not valid")])
def test_unknown_code_on_the_phone_gets_a_clear_page(phone, code, lang, text):
    page = phone.get(f"/m/qr/{code}", query_string={"lang": lang})
    assert page.status_code == 404
    assert text in _html(page)


def test_qr_code_with_a_nul_byte_refused_before_any_lookup(phone):
    """Refused by the app-wide NUL check (gateway/security.py), with the error page."""
    page = phone.get("/m/qr/%00%ff", query_string={"lang": "en"})
    assert page.status_code == 400
    assert "The request could not be processed" in _html(page)


def test_phone_not_signed_in_signs_in_then_comes_back_to_the_code(app, rp):
    desktop = Desktop(rp)
    phone = app.test_client()
    path = urlsplit(desktop.qr_url).path
    first = phone.get(path)
    assert first.status_code == 303 and urlsplit(first.headers["Location"]).path == "/login"
    assert 'data-qr-url' not in _html(phone.get("/login"))  # no QR code on the phone's sign-in
    page = phone.get("/login")
    back = phone.post("/login", data={"csrf_token": _csrf(_html(page)),
                                      "personal_id": rp.citizen["personal_id"],
                                      "password": rp.citizen["password"]})
    assert back.status_code == 303 and back.headers["Location"] == path
    assert phone.get(path).status_code == 200


def test_phone_decision_needs_the_csrf_token(app, rp, phone):
    desktop = Desktop(rp)
    open_on_phone(phone, desktop)
    forged = phone.post(urlsplit(desktop.qr_url).path, data={"decision": "approve"})
    assert forged.status_code == 400
    assert record_of(app, desktop.code).status == "scanned"


def test_complete_needs_the_csrf_token(rp, phone):
    desktop = Desktop(rp)
    decide(phone, desktop)
    response = rp.http.post("/login/qr/complete", query_string={"interaction": desktop.interaction})
    assert response.status_code == 400


def test_qr_codes_are_rate_limited_per_browser(app, rp):
    app.config["QR_LOGIN_MAX_PER_BROWSER"] = 3
    desktop = Desktop(rp)
    desktop.refresh()
    desktop.refresh()
    before = _count(app)
    desktop.refresh(lang="en")
    assert desktop.qr_url is None
    assert 'role="alert"' in desktop.html and "Too many QR codes" in desktop.html
    assert _count(app) == before  # nothing written
    # The password form is still there.
    assert 'name="password"' in desktop.html


def test_qr_codes_are_rate_limited_per_ip_address(app, client, factory):
    app.config["QR_LOGIN_MAX_PER_IP"] = 2
    registration = factory.oauth_client()
    shown = []
    for _ in range(3):
        browser = RelyingParty(app.test_client(), registration)
        shown.append(Desktop(browser).qr_url)
    assert shown[0] and shown[1] and shown[2] is None


def test_phone_decisions_are_rate_limited_per_person(app, rp, phone, factory):
    app.config["QR_LOGIN_MAX_DECISIONS"] = 1
    first = Desktop(rp)
    assert decide(phone, first, "deny").status_code == 200
    second = Desktop(RelyingParty(app.test_client(), rp.reg))
    response = decide(phone, second)
    assert response.status_code == 429
    assert 'data-testid="qr-message"' in _html(response)  # the phone's page, not a bare 429
    assert "Có quá nhiều lượt đăng nhập bằng mã QR" in _html(response)
    assert record_of(app, second.code).status == "scanned"


def test_only_decisions_made_count_against_the_limit(app, rp, phone):
    """A refused decision (a code already decided: 409) counts nothing; the limit is per person
    and counts the decisions actually made."""
    app.config["QR_LOGIN_MAX_DECISIONS"] = 2
    first = Desktop(rp)
    page = open_on_phone(phone, first)
    assert decide(phone, first, "deny").status_code == 200
    again = phone.post(urlsplit(first.qr_url).path,
                       data={"csrf_token": _csrf(_html(page)), "decision": "approve"})
    assert again.status_code == 409 and record_of(app, first.code).status == "denied"
    second = Desktop(RelyingParty(app.test_client(), rp.reg))
    assert decide(phone, second, "deny").status_code == 200  # the 409 was not counted
    third = Desktop(RelyingParty(app.test_client(), rp.reg))
    assert decide(phone, third).status_code == 429


def _step_up_phone(phone, secret, clock):
    """Enter a TOTP code on the phone: its session reaches what the person can reach."""
    page = phone.get("/login/second-factor")
    clock.advance(30)
    response = phone.post("/login/second-factor", data={
        "csrf_token": _csrf(_html(page)), "code": pyotp.TOTP(secret).at(clock.now())})
    assert response.status_code == 303


@pytest.fixture
def level2_phone(app, client, factory, clock):
    citizen = factory.citizen(assurance_level=2)
    rp = RelyingParty(client, factory.oauth_client(), citizen)
    phone = app.test_client()
    sign_in_phone(phone, citizen)
    secret, _ = enrol_totp(phone, clock)
    return rp, phone, secret


def test_desktop_level_is_capped_by_single_sign_on_reuse(level2_phone, clock, jwks):
    rp, phone, secret = level2_phone
    _step_up_phone(phone, secret, clock)  # the phone's own session is LoA2
    desktop = Desktop(rp)
    decide(phone, desktop)
    claims = _claims(rp, rp.follow_to_callback(desktop.complete()), jwks)
    assert claims["acr"] == "LoA1"  # SSO_REUSE_MAX_ACR = LoA1
    assert claims["amr"] == ["mca", "otp", "pwd"]


def test_desktop_level_follows_a_loa2_phone_when_reuse_allows(app, level2_phone, clock, jwks):
    app.config["SSO_REUSE_MAX_ACR"] = "LoA2"
    rp, phone, secret = level2_phone
    _step_up_phone(phone, secret, clock)
    desktop = Desktop(rp)
    decide(phone, desktop)
    assert _claims(rp, rp.follow_to_callback(desktop.complete()), jwks)["acr"] == "LoA2"


def test_desktop_level_never_exceeds_the_phone_session(app, level2_phone, jwks):
    app.config["SSO_REUSE_MAX_ACR"] = "LoA2"
    rp, phone, _ = level2_phone  # password-only phone session (LoA1), second factor enrolled
    desktop = Desktop(rp)
    decide(phone, desktop)
    claims = _claims(rp, rp.follow_to_callback(desktop.complete()), jwks)
    assert claims["acr"] == "LoA1" and claims["amr"] == ["mca", "pwd"]


def test_loa2_request_signed_in_by_qr_steps_up_on_the_desktop(level2_phone, clock, jwks):
    rp, phone, secret = level2_phone
    _step_up_phone(phone, secret, clock)
    desktop = Desktop(rp, acr_values="LoA2")
    decide(phone, desktop)
    response = rp.http.get(desktop.complete().headers["Location"])
    location = response.headers["Location"]
    assert urlsplit(location).path == "/login/second-factor"
    page = rp.http.get(location)
    clock.advance(30)
    response = rp.http.post(location, data={"csrf_token": _csrf(_html(page)),
                                            "code": pyotp.TOTP(secret).at(clock.now())})
    claims = _claims(rp, rp.follow_to_callback(response), jwks)
    assert claims["acr"] == "LoA2" and claims["amr"] == ["mca", "otp", "pwd"]


@pytest.mark.parametrize("lifetime", [0, -5, 91, 120, "sixty", None, True])
def test_qr_lifetime_above_90_seconds_is_refused(tmp_path, lifetime):
    with pytest.raises(ConfigurationError):
        create_app({"TESTING": True, "ISSUER": ISSUER, "SECRET_KEY": "k" * 40,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                    "QR_LOGIN_LIFETIME": lifetime})


@pytest.mark.parametrize("method,path,query", [
    ("GET", "/login/qr/status", {}),
    ("GET", "/login/qr/status", {"interaction": "x" * 5000}),
    ("GET", "/login/qr/status", "interaction=%00%FF%C0"),
    ("POST", "/login/qr/status", {}),
    ("GET", "/login/qr/complete", {}),
    ("POST", "/login/qr/complete", {}),
    ("POST", "/login/qr/complete", {"interaction": "nope"}),
    ("GET", "/m/qr/", {}),
    ("POST", "/m/qr/unknown-code", {}),
    ("GET", "/m/qr/" + "é" * 100, {}),
])
def test_malformed_qr_requests_get_a_4xx_never_a_500(phone, method, path, query):
    response = phone.open(path, method=method, query_string=query,
                          data={"decision": "approve" * 1000} if method == "POST" else None)
    assert 400 <= response.status_code < 500, (path, response.status_code)


def test_phone_with_a_second_factor_comes_back_to_the_code_after_both_steps(app, client,
                                                                             factory, clock):
    citizen = factory.citizen()
    setup = app.test_client()
    sign_in_phone(setup, citizen)
    secret, _ = enrol_totp(setup, clock)
    desktop = Desktop(RelyingParty(client, factory.oauth_client(), citizen))
    phone = app.test_client()
    path = urlsplit(desktop.qr_url).path
    assert phone.get(path).status_code == 303
    page = phone.get("/login")
    second = phone.post("/login", data={"csrf_token": _csrf(_html(page)),
                                        "personal_id": citizen["personal_id"],
                                        "password": citizen["password"]})
    assert urlsplit(second.headers["Location"]).path == "/login/second-factor"
    page = phone.get(second.headers["Location"])
    clock.advance(30)
    back = phone.post(second.headers["Location"], data={
        "csrf_token": _csrf(_html(page)), "code": pyotp.TOTP(secret).at(clock.now())})
    assert back.status_code == 303 and back.headers["Location"] == path
    assert phone.get(path).status_code == 200


def test_desktop_status_message_follows_the_language(rp, phone):
    desktop = Desktop(rp)
    desktop.refresh(lang="en")
    body = desktop.status().get_json()
    assert body == {"status": "pending", "message": "Waiting for confirmation on your phone…",
                    "expires_in": 90}


def test_desktop_signed_in_by_qr_enters_its_own_code_before_officer_pages(app, rp, clock):
    """A QR confirmation reuses the phone's session, capped like single sign-on (module
    docstring of ``qr_login``): the phone's second factor does not open the staff pages on the
    computer. Otherwise whoever gets an officer to approve a QR code (cross-device phishing)
    could raise people to level 2 without a code. A code entered on the computer opens them."""
    from gateway.identity.models import Citizen
    from gateway.identity.staff import grant_role

    with app.app_context():
        grant_role(db.session.get(Citizen, rp.citizen["id"]), "commune_officer", "29557")
        db.session.commit()
    phone = app.test_client()
    sign_in_phone(phone, rp.citizen)
    secret, _ = enrol_totp(phone, clock)
    _step_up_phone(phone, secret, clock)
    assert phone.get("/officer").status_code == 200  # the phone itself used its code
    desktop = Desktop(rp)
    decide(phone, desktop)
    assert desktop.complete().status_code == 303

    response = rp.http.get("/officer")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/login/second-factor"
    page = rp.http.get("/login/second-factor")
    clock.advance(30)
    entered = rp.http.post("/login/second-factor", data={
        "csrf_token": _csrf(_html(page)), "code": pyotp.TOTP(secret).at(clock.now())})
    assert entered.status_code == 303
    assert rp.http.get("/officer").status_code == 200
