"""The person's activity log (issue 4 part 7): sign-ins written on every successful sign-in
(password, second factor, QR) and on failed attempts for an existing account; disclosures written
whenever an ID token or a UserInfo response releases claims (names only, never values)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from gateway.accounts.models import DisclosureRecord, SignInEvent
from gateway.extensions import db
from tests.accounts.test_assurance import _otp, enrol_totp
from tests.accounts.test_qr_login import Desktop, decide, sign_in_phone
from tests.conftest import PASSWORD, _csrf


def sign_ins(app, citizen) -> list[SignInEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(SignInEvent)
                                       .where(SignInEvent.citizen_id == citizen["id"])
                                       .order_by(SignInEvent.id)))
        db.session.expunge_all()
        return rows


def disclosures(app, citizen) -> list[DisclosureRecord]:
    with app.app_context():
        rows = list(db.session.scalars(select(DisclosureRecord)
                                       .where(DisclosureRecord.citizen_id == citizen["id"])
                                       .order_by(DisclosureRecord.id)))
        db.session.expunge_all()
        return rows


def test_sign_in_event_recorded_for_password_sign_in_with_client_and_origin(app, rp):
    rp.http.environ_base = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "Firefox/130"}
    rp.code_flow()
    [event] = sign_ins(app, rp.citizen)
    assert (event.outcome, event.amr, event.acr) == ("success", ["pwd"], "LoA1")
    assert event.client_id == rp.reg["client_id"]
    assert (event.ip_address, event.user_agent) == ("203.0.113.7", "Firefox/130")


def test_sign_in_event_recorded_for_wrong_password_of_existing_account(app, browser, factory):
    citizen = factory.citizen()
    assert browser.sign_in(citizen["personal_id"], "Wrong-password-1").status_code == 401
    [event] = sign_ins(app, citizen)
    assert (event.outcome, event.amr, event.client_id) == ("failure", ["pwd"], None)


def test_sign_in_event_not_recorded_for_unknown_personal_id(app, browser):
    assert browser.sign_in("086090099999", "Wrong-password-1").status_code == 401
    with app.app_context():
        assert db.session.scalars(select(SignInEvent)).all() == []


def sign_out(http) -> None:
    home = http.get("/")
    assert http.post("/signout", data={"csrf_token": _csrf(home.get_data(as_text=True))}
                     ).status_code == 200


def test_sign_in_event_recorded_for_second_factor_success_and_failure(app, rp, clock):
    rp.code_flow()
    secret, _ = enrol_totp(rp.http, clock)
    sign_out(rp.http)
    _, response = rp.authorize()
    response = rp.login(response.headers["Location"])
    location = response.headers["Location"]
    assert urlsplit(location).path == "/login/second-factor"
    page = rp.http.get(location)
    clock.advance(30)
    wrong = "000000" if _otp(secret, clock) != "000000" else "111111"
    refused = rp.http.post(location, data={"csrf_token": _csrf(page.get_data(as_text=True)),
                                           "code": wrong})
    assert refused.status_code == 401
    accepted = rp.http.post(location, data={"csrf_token": _csrf(refused.get_data(as_text=True)),
                                            "code": _otp(secret, clock)})
    assert accepted.status_code == 303
    events = sign_ins(app, rp.citizen)
    assert [(e.outcome, e.amr) for e in events] == [
        ("success", ["pwd"]), ("failure", ["otp"]), ("success", ["otp", "pwd"]),
    ]
    assert events[-1].client_id == rp.reg["client_id"]


def test_sign_in_event_recorded_for_qr_sign_in(app, rp):
    phone = app.test_client()
    sign_in_phone(phone, rp.citizen)
    desktop = Desktop(rp)
    decide(phone, desktop)
    rp.follow_to_callback(desktop.complete())
    events = sign_ins(app, rp.citizen)
    assert [(e.outcome, e.amr, e.client_id) for e in events] == [
        ("success", ["pwd"], None),  # the phone, at the gateway itself
        ("success", ["mca", "pwd"], rp.reg["client_id"]),  # the desktop, by QR
    ]


def test_disclosure_recorded_for_id_token_and_userinfo_names_only(app, rp):
    _, tokens = rp.sign_in_and_get_tokens(scope="openid profile email")
    response = rp.http.get("/userinfo",
                           headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    id_token, userinfo = disclosures(app, rp.citizen)
    assert (id_token.channel, id_token.client_id) == ("id_token", rp.reg["client_id"])
    assert id_token.claim_names == ["sub"]
    assert userinfo.channel == "userinfo"
    assert set(userinfo.claim_names) == set(response.get_json())
    assert {"name", "email", "birthdate"} <= set(userinfo.claim_names)
    assert "personal_id" not in userinfo.claim_names
    assert rp.citizen["name"] not in str(userinfo.claim_names)


def test_disclosure_lists_claims_requested_in_the_id_token(app, rp):
    """OIDC Core §5.5: claims asked for in the ``id_token`` member are released there."""
    rp.sign_in_and_get_tokens(scope="openid",
                              claims='{"id_token": {"personal_id": null, "email": null}}')
    [record] = disclosures(app, rp.citizen)
    assert record.claim_names == ["email", "personal_id", "sub"]


def test_activity_older_than_retention_pruned_when_new_entries_written(app, rp, clock, browser):
    app.config["ACTIVITY_RETENTION"] = 3600
    rp.sign_in_and_get_tokens()
    clock.advance(3601)
    assert browser.sign_in(rp.citizen["personal_id"], PASSWORD + "x").status_code == 401
    assert [e.outcome for e in sign_ins(app, rp.citizen)] == ["failure"]
    rp.http.delete_cookie("gw_sso")
    rp.sign_in_and_get_tokens()
    assert len(disclosures(app, rp.citizen)) == 1


# -- the pages -----------------------------------------------------------------------------------


def _page(http, path):
    response = http.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_history_page_newest_first_20_per_page(sql_hot_store, app, rp, browser, clock):
    rp.code_flow()  # success, for the relying party
    for _ in range(21):
        clock.advance(1)
        browser.sign_in(rp.citizen["personal_id"], "Wrong-password-1")
        clock.advance(300)  # past the throttling window
    first = _page(rp.http, "/account/history?lang=en")
    assert first.count('data-testid="sign-in-event"') == 20
    assert 'data-outcome="success"' not in first  # the 20 newest are the failures
    assert 'data-testid="page-older"' in first and 'data-testid="page-newer"' not in first
    second = _page(rp.http, "/account/history?page=2&lang=en")
    assert second.count('data-testid="sign-in-event"') == 2
    assert second.index('data-outcome="failure"') < second.index('data-outcome="success"')
    with app.app_context():
        from gateway.oidc import storage

        name = storage.get_client(rp.reg["client_id"]).client_name
    assert name in second and "password" in second
    assert 'data-testid="page-newer"' in second and 'data-testid="page-older"' not in second


def test_sharing_page_shows_which_agency_received_which_claims(app, rp):
    _, tokens = rp.sign_in_and_get_tokens(scope="openid profile email")
    rp.http.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    page = _page(rp.http, "/account/sharing?lang=en")
    assert page.count(f'data-client-id="{rp.reg["client_id"]}"') == 2
    newest = page.split('data-testid="disclosure"')[1]
    assert "on request" in newest
    claims = newest.split('data-testid="disclosure-claims"')[1].split(">", 1)[1].split("<")[0]
    assert claims.startswith("account identifier, full name, family name, given name")
    assert "email address" in claims and "personal ID number" not in claims
    assert "at sign-in" in page.split('data-testid="disclosure"')[2]
    assert "mã định danh tài khoản" in _page(rp.http, "/account/sharing?lang=vi")


def test_sharing_page_empty_before_any_release(app, rp):
    rp.code_flow()  # a code, but no token yet: nothing released
    assert "Nothing yet." in _page(rp.http, "/account/sharing?lang=en")


@pytest.mark.parametrize("page", ["0", "-1", "abc", "999999", "1.5", "", "²", "１"])
def test_activity_pages_bad_page_number_400(rp, page):
    rp.code_flow()
    for path in ("/account/history", "/account/sharing"):
        assert rp.http.get(path, query_string={"page": page}).status_code == 400
