""""Tài khoản của tôi" (issue 4 part 7) through the real HTTP surface: profile and level,
contact details, the second factor, connected agencies (withdrawing consent revokes the agency's
tokens and the next authorization asks again, OIDC Core §3.1.2.4), and SSO sessions."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from gateway.extensions import db
from gateway.identity.models import Citizen
from tests.accounts.test_assurance import _otp, enrol_totp
from tests.conftest import PASSWORD, RelyingParty, _csrf

ACCOUNT_PAGES = ["/account", "/account/security", "/account/agencies", "/account/sessions",
                 "/account/history", "/account/sharing"]


def html(response) -> str:
    return response.get_data(as_text=True)


def signed_in(app, citizen, user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"):
    """A fresh browser signed in at the gateway itself as ``citizen``."""
    http = app.test_client()
    http.environ_base = {"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": "198.51.100.4"}
    page = http.get("/login")
    response = http.post("/login", data={"csrf_token": _csrf(html(page)),
                                         "personal_id": citizen["personal_id"],
                                         "password": citizen["password"]})
    assert response.status_code == 303
    return http


def post_form(http, page_path, action, data=None):
    page = http.get(page_path)
    assert page.status_code == 200
    return http.post(action, data={"csrf_token": _csrf(html(page)), **(data or {})})


def citizen_row(app, citizen) -> Citizen:
    with app.app_context():
        row = db.session.get(Citizen, citizen["id"])
        db.session.expunge(row)
        return row


# -- signed-in only ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_account_page_signed_out_redirects_to_login_then_back(client, factory, path):
    citizen = factory.citizen()
    response = client.get(path)
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/login"
    page = client.get("/login")
    done = client.post("/login", data={"csrf_token": _csrf(html(page)),
                                       "personal_id": citizen["personal_id"],
                                       "password": citizen["password"]})
    assert done.status_code == 303
    assert urlsplit(done.headers["Location"]).path == path
    assert client.get(path).status_code == 200


def test_account_return_path_used_once(client, factory):
    citizen = factory.citizen()
    client.get("/account/sessions")
    page = client.get("/login")
    client.post("/login", data={"csrf_token": _csrf(html(page)),
                                "personal_id": citizen["personal_id"], "password": PASSWORD})
    home = client.get("/")
    client.post("/signout", data={"csrf_token": _csrf(html(home))})
    page = client.get("/login")
    again = client.post("/login", data={"csrf_token": _csrf(html(page)),
                                        "personal_id": citizen["personal_id"],
                                        "password": PASSWORD})
    assert urlsplit(again.headers["Location"]).path == "/"


@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_account_page_vietnamese_by_default_english_with_lang(app, factory, path):
    http = signed_in(app, factory.citizen())
    assert "Tài khoản của tôi" in html(http.get(path))
    english = html(http.get(path + "?lang=en"))
    assert "My account" in english and "Tài khoản của tôi" not in english


# -- overview ------------------------------------------------------------------------------------


def test_overview_shows_profile_and_level_1_with_how_to_reach_level_2(app, factory):
    citizen = factory.citizen(ward_code="29239")
    page = html(signed_in(app, citizen).get("/account?lang=en"))
    assert citizen["name"] in page
    assert citizen["personal_id"] in page
    assert "01/01/1990" in page
    assert "Male" in page
    assert "Level 1" in page
    assert "police of your commune or ward" in page
    assert citizen_row(app, citizen).email in page
    assert "+84901234567" in page


def test_overview_shows_level_2_without_the_visit_advice(app, factory):
    page = html(signed_in(app, factory.citizen(assurance_level=2)).get("/account?lang=en"))
    assert "Level 2" in page
    assert "To reach level 2" not in page


def test_contact_details_saved_normalised_and_marked_unverified(app, factory):
    citizen = factory.citizen()
    http = signed_in(app, citizen)
    response = post_form(http, "/account", "/account?lang=en",
                         {"email": " moi@example.vn ", "phone_number": "0912 345 678"})
    assert response.status_code == 200
    assert "Your contact details were saved." in html(response)
    row = citizen_row(app, citizen)
    assert (row.email, row.email_verified) == ("moi@example.vn", False)
    assert (row.phone_number, row.phone_number_verified) == ("+84912345678", False)


def test_contact_details_unchanged_stay_verified(app, factory):
    citizen = factory.citizen()
    http = signed_in(app, citizen)
    before = citizen_row(app, citizen)
    post_form(http, "/account", "/account", {"email": before.email,
                                             "phone_number": before.phone_number})
    assert citizen_row(app, citizen).email_verified is True


@pytest.mark.parametrize("field,value,message", [
    ("email", "not-an-address", "Enter an email address like"),
    ("email", "a@b", "Enter an email address like"),
    ("email", "x" * 250 + "@example.vn", "Field cannot be longer"),
    ("phone_number", "12345", "Enter a Vietnamese mobile number"),
    ("phone_number", "+84112345678", "Enter a Vietnamese mobile number"),
    ("phone_number", "0912abc678", "Enter a Vietnamese mobile number"),
])
def test_contact_details_invalid_400_with_message(app, factory, field, value, message):
    citizen = factory.citizen()
    http = signed_in(app, citizen)
    response = post_form(http, "/account", "/account?lang=en", {field: value})
    assert response.status_code == 400
    assert message in html(response)
    row = citizen_row(app, citizen)
    assert (row.email_verified, row.phone_number) == (True, "+84901234567")


def test_contact_details_without_csrf_400(app, factory):
    citizen = factory.citizen()
    http = signed_in(app, citizen)
    assert http.post("/account", data={"email": "x@example.vn"}).status_code == 400
    assert citizen_row(app, citizen).email != "x@example.vn"


# -- second factor -------------------------------------------------------------------------------


def test_security_shows_recovery_codes_left(app, factory, clock):
    citizen = factory.citizen()
    http = signed_in(app, citizen)
    enrol_totp(http, clock)
    page = html(http.get("/account/security?lang=en"))
    assert "Recovery codes left: 10" in page
    assert "An authenticator app is set up" in html(http.get("/account?lang=en"))


def test_remove_second_factor_needs_the_password(app, factory, clock):
    citizen = factory.citizen()
    http = signed_in(app, citizen)
    secret, _ = enrol_totp(http, clock)
    wrong = post_form(http, "/account/security", "/account/security?lang=en",
                      {"action": "remove", "password": "Wrong-password-1"})
    assert wrong.status_code == 401
    assert "The password is wrong." in html(wrong)
    assert 'aria-invalid="true" aria-describedby="password_error"' in html(wrong)
    assert '<div id="password_error" class="error" role="alert">' in html(wrong)
    missing = post_form(http, "/account/security", "/account/security",
                        {"action": "remove"})
    assert missing.status_code == 400
    done = post_form(http, "/account/security", "/account/security?lang=en",
                     {"action": "remove", "password": PASSWORD})
    assert done.status_code == 200
    assert "Set up an authenticator app" in html(done)
    signed_in(app, citizen)  # the password alone signs in again (asserts the 303 home)
    assert _otp(secret, clock)  # the old app's codes are simply no longer asked for


def test_replacing_the_authenticator_needs_removing_it_first_with_the_password(app, factory,
                                                                               clock):
    """An open session alone must not swap the second factor (and every recovery code)."""
    import pyotp

    from gateway.accounts import totp

    citizen = factory.citizen()
    http = signed_in(app, citizen)
    secret, _ = enrol_totp(http, clock)
    page = html(http.get("/account/security?lang=en"))
    assert 'name="action" value="start"' not in page
    assert "remove this one first" in page
    started = post_form(http, "/account/security", "/account/security?lang=en",
                        {"action": "start"})
    assert started.status_code == 409
    assert '<code class="secret">' not in html(started)
    other = pyotp.random_base32()
    confirmed = post_form(http, "/account/security", "/account/security",
                          {"action": "confirm", "code": pyotp.TOTP(other).at(clock.now())})
    assert confirmed.status_code == 409
    with app.app_context():
        assert totp.get_credential(citizen["id"]).secret == secret


# -- connected agencies --------------------------------------------------------------------------


def test_agencies_list_each_client_with_its_claims_and_last_use(app, rp):
    _, tokens = rp.sign_in_and_get_tokens(scope="openid profile email")
    rp.http.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    page = html(rp.http.get("/account/agencies?lang=en"))
    assert f'data-client-id="{rp.reg["client_id"]}"' in page
    with app.app_context():
        from gateway.oidc import storage

        name = storage.get_client(rp.reg["client_id"]).client_name
    assert name in page
    assert "Your full name, date of birth and sex" in page
    assert "Your email address" in page
    assert "Your personal ID number" not in page
    assert "Last received data" in page and "never" not in page


def test_agencies_words_for_every_scope_no_empty_bullet_and_plural_count(app, factory):
    """Issue 12: the ``organisation`` scope had no words (an empty bullet), and the overview
    said "1 agencies"."""
    reg = factory.oauth_client(scope="openid profile organisation")
    rp = RelyingParty(app.test_client(), reg, factory.citizen())
    rp.sign_in_and_get_tokens(scope="openid profile organisation")
    page = html(rp.http.get("/account/agencies?lang=en"))
    assert '<li data-scope="organisation">The business you act for, when you choose one' in page
    assert not re.search(r"<li[^>]*>\s*</li>", page)
    overview = html(rp.http.get("/account?lang=en"))
    assert "You share data with 1 agency." in overview
    assert "1 agencies" not in overview


def test_agencies_empty_when_no_consent(app, factory):
    page = html(signed_in(app, factory.citizen()).get("/account/agencies?lang=en"))
    assert 'data-testid="no-agencies"' in page


def test_revoke_deletes_consent_revokes_tokens_and_next_authorization_asks_consent(app, rp):
    """OIDC Core §3.1.2.4: without stored consent the provider must ask again."""
    _, tokens = rp.sign_in_and_get_tokens()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert rp.http.get("/userinfo", headers=bearer).status_code == 200
    response = post_form(rp.http, "/account/agencies",
                         f"/account/agencies/{rp.reg['client_id']}/revoke")
    assert response.status_code == 303
    listing = html(rp.http.get(response.headers["Location"] + "&lang=en"))
    assert "can no longer receive your information" in listing
    assert f'data-client-id="{rp.reg["client_id"]}"' not in listing
    assert rp.http.get("/userinfo", headers=bearer).status_code == 401
    _, again = rp.authorize()
    assert urlsplit(again.headers["Location"]).path == "/consent"


def test_revoke_leaves_other_agencies_and_people_alone(app, rp, factory):
    other_rp = RelyingParty(rp.http, factory.oauth_client(), rp.citizen)
    _, kept = other_rp.sign_in_and_get_tokens()
    rp.sign_in_and_get_tokens()
    post_form(rp.http, "/account/agencies", f"/account/agencies/{rp.reg['client_id']}/revoke")
    assert rp.http.get("/userinfo", headers={
        "Authorization": f"Bearer {kept['access_token']}"}).status_code == 200
    assert f'data-client-id="{other_rp.reg["client_id"]}"' in html(rp.http.get("/account/agencies"))


def test_revoke_unknown_or_unconsented_client_404(app, rp, factory):
    rp.code_flow()
    stranger = factory.oauth_client()
    for client_id in (stranger["client_id"], "nope", "x" * 60):
        response = post_form(rp.http, "/account/agencies", f"/account/agencies/{client_id}/revoke")
        assert response.status_code == 404


def test_revoke_without_csrf_400(app, rp):
    rp.code_flow()
    response = rp.http.post(f"/account/agencies/{rp.reg['client_id']}/revoke")
    assert response.status_code == 400
    assert f'data-client-id="{rp.reg["client_id"]}"' in html(rp.http.get("/account/agencies"))


def test_revoke_signed_out_redirects_to_login_then_to_the_overview(client, rp):
    token = _csrf(html(client.get("/login")))
    response = client.post(f"/account/agencies/{rp.reg['client_id']}/revoke",
                           data={"csrf_token": token})
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/login"
    done = client.post("/login", data={"csrf_token": token, "personal_id":
                                       rp.citizen["personal_id"], "password": PASSWORD})
    assert urlsplit(done.headers["Location"]).path == "/account"


# -- sessions ------------------------------------------------------------------------------------


def sids(http) -> list[str]:
    return re.findall(r'/account/sessions/([^/"]+)/end', html(http.get("/account/sessions")))


def current_sid(http) -> str:
    page = html(http.get("/account/sessions"))
    current = page.split('data-current="true"')[1].split("</li>")[0]
    return re.search(r'/account/sessions/([^/"]+)/end', current).group(1)


def test_sessions_list_every_device_with_this_one_marked(app, factory):
    citizen = factory.citizen()
    phone = signed_in(app, citizen, "Mozilla/5.0 (Linux; Android 14) Chrome/130.0 Mobile")
    laptop = signed_in(app, citizen, "Mozilla/5.0 (Windows NT 10.0) Firefox/131.0")
    page = html(laptop.get("/account/sessions?lang=en"))
    assert page.count('data-testid="session"') == 2
    assert "Chrome · Android" in page and "Firefox · Windows" in page
    assert "198.51.100.4" in page
    current = page.split('data-current="true"')[1].split("</li>")[0]
    assert "Firefox · Windows" in current and "this browser" in current
    assert phone


def test_sign_out_of_another_session_ends_only_that_one(app, factory):
    citizen = factory.citizen()
    phone = signed_in(app, citizen, "Android Chrome/130")
    laptop = signed_in(app, citizen, "Windows Firefox/131")
    target = current_sid(phone)
    assert target in sids(laptop)
    response = post_form(laptop, "/account/sessions", f"/account/sessions/{target}/end")
    assert response.status_code == 303
    assert sids(laptop) == [current_sid(laptop)]
    assert phone.get("/account").status_code == 303  # the phone is signed out


def test_sign_out_of_this_session_clears_the_cookie(app, factory):
    http = signed_in(app, factory.citizen())
    [sid] = sids(http)
    response = post_form(http, "/account/sessions", f"/account/sessions/{sid}/end?lang=en")
    assert response.status_code == 200
    assert "You are signed out" in html(response)
    assert "gw_sso=;" in response.headers.get("Set-Cookie", "")
    assert http.get("/account").status_code == 303


def test_sign_out_everywhere_ends_all_sessions_and_revokes_their_tokens(app, factory, rp):
    rp_tokens = rp.sign_in_and_get_tokens()[1]
    other = signed_in(app, rp.citizen)
    response = post_form(rp.http, "/account/sessions", "/account/sessions/end-all")
    assert response.status_code == 200
    assert rp.http.get("/account").status_code == 303
    assert other.get("/account").status_code == 303
    assert rp.http.get("/userinfo", headers={
        "Authorization": f"Bearer {rp_tokens['access_token']}"}).status_code == 401


def test_sign_out_of_someone_elses_session_404(app, factory):
    mine = signed_in(app, factory.citizen())
    theirs = signed_in(app, factory.citizen())
    [their_sid] = sids(theirs)
    response = post_form(mine, "/account/sessions", f"/account/sessions/{their_sid}/end")
    assert response.status_code == 404
    assert theirs.get("/account").status_code == 200


def test_sessions_end_without_csrf_400(app, factory):
    http = signed_in(app, factory.citizen())
    [sid] = sids(http)
    assert http.post(f"/account/sessions/{sid}/end").status_code == 400
    assert http.post("/account/sessions/end-all").status_code == 400
    assert http.get("/account").status_code == 200



@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_account_page_not_cached_nor_framed(app, factory, path):
    """RFC 9700 §4.16 (docs/conformance.md B18): no framing; personal data is not cached."""
    response = signed_in(app, factory.citizen()).get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
