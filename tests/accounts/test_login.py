"""Sign-in: form validation, generic failure message, throttling, CSRF, session cookie
(docs/domain.md §3 personal ID numbers; OWASP ASVS V2 authentication; RFC 9700 §4.16
clickjacking)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, _csrf

GENERIC = "The personal ID number or password is wrong."


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("personal_id", "message"),
    [
        ("08609000001", "exactly 12 digits"),  # 11 digits
        ("0860900000012", "exactly 12 digits"),  # 13 digits
        ("08609000000a", "exactly 12 digits"),
        ("abcdefghijkl", "exactly 12 digits"),
        ("086-090-000-01", "exactly 12 digits"),
        ("\u0660" * 12, "exactly 12 digits"),  # Arabic-Indic digits are not digits here
        ("999090000001", "not a province code"),
        ("003090000001", "not a province code"),
        ("", "Enter your 12-digit personal ID number."),
    ],
    ids=["11_digits", "13_digits", "letter", "letters", "dashes", "non_ascii_digits",
         "unknown_province", "unused_province_code", "empty"],
)
def test_login_invalid_personal_id_400_with_message(browser, personal_id, message):
    """The form says what is wrong with the number, with 400, and never checks a password."""
    response = browser.sign_in(personal_id, PASSWORD)
    assert response.status_code == 400
    assert message in text(response)
    assert "Location" not in response.headers


def test_login_spaces_in_personal_id_accepted(browser, factory):
    """People copy the number with spaces (as printed on the card): they are removed."""
    citizen = factory.citizen()
    spaced = " ".join(citizen["personal_id"][i:i + 3] for i in range(0, 12, 3))
    response = browser.sign_in(spaced, citizen["password"])
    assert response.status_code == 303


def test_login_missing_password_400(browser, factory):
    citizen = factory.citizen()
    response = browser.sign_in(citizen["personal_id"], "")
    assert response.status_code == 400 and "Enter your password." in text(response)


def test_login_oversized_password_400(browser, factory):
    citizen = factory.citizen()
    response = browser.sign_in(citizen["personal_id"], "p" * 5000)
    assert response.status_code == 400


def test_login_wrong_password_401_generic_message(browser, factory):
    citizen = factory.citizen()
    response = browser.sign_in(citizen["personal_id"], "Wrong-password-1")
    assert response.status_code == 401
    assert GENERIC in text(response)
    assert "gw_sso=" not in response.headers.get("Set-Cookie", "")


def test_login_unknown_person_same_401_generic_message(browser, factory):
    """No account enumeration: an unknown number gets the very same answer as a wrong
    password (and the same argon2 cost, see ``passwords.check_password``)."""
    citizen = factory.citizen()
    wrong_password = browser.sign_in(citizen["personal_id"], "Wrong-password-1")
    unknown = browser.sign_in("086090999999", "Wrong-password-1")
    assert unknown.status_code == wrong_password.status_code == 401
    assert GENERIC in text(unknown)


def test_login_success_sets_session_cookie_and_goes_home(browser, factory):
    citizen = factory.citizen()
    response = browser.sign_in(citizen["personal_id"], citizen["password"])
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("gw_sso=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    home = browser.http.get("/")
    assert citizen["name"] in text(home)


def test_login_new_session_handle_each_time(browser, factory):
    """Session fixation: every sign-in issues a fresh SSO handle and ends the previous one."""
    citizen = factory.citizen()

    def handle(response):
        return [c for c in response.headers.getlist("Set-Cookie")
                if c.startswith("gw_sso=")][0].split(";")[0]

    first = handle(browser.sign_in(citizen["personal_id"], citizen["password"]))
    second = handle(browser.sign_in(citizen["personal_id"], citizen["password"]))
    assert first != second
    browser.http.set_cookie("gw_sso", first.split("=", 1)[1])
    assert citizen["name"] not in text(browser.http.get("/"))


def test_login_without_csrf_token_400(browser, factory):
    """A sign-in POST without the CSRF token (login CSRF) is refused with an error page."""
    citizen = factory.citizen()
    response = browser.sign_in(citizen["personal_id"], citizen["password"], csrf=False)
    assert response.status_code == 400
    assert "gw_sso=" not in response.headers.get("Set-Cookie", "")


def test_login_with_wrong_csrf_token_400(browser, factory):
    citizen = factory.citizen()
    browser.http.get("/login")
    response = browser.http.post("/login", data={
        "csrf_token": "forged", "personal_id": citizen["personal_id"],
        "password": citizen["password"]})
    assert response.status_code == 400


# -- throttling ---------------------------------------------------------------------------------

def test_login_throttled_after_5_failures_429(browser, factory):
    """Five failures within five minutes lock the number: even the right password gets 429."""
    citizen = factory.citizen()
    for _ in range(5):
        assert browser.sign_in(citizen["personal_id"], "Wrong-password-1").status_code == 401
    response = browser.sign_in(citizen["personal_id"], citizen["password"])
    assert response.status_code == 429
    assert "Too many failed attempts" in text(response)
    assert "gw_sso=" not in response.headers.get("Set-Cookie", "")


def test_login_throttle_lifts_after_window(sql_hot_store, browser, factory, clock):
    citizen = factory.citizen()
    for _ in range(5):
        browser.sign_in(citizen["personal_id"], "Wrong-password-1")
    clock.advance(301)
    assert browser.sign_in(citizen["personal_id"], citizen["password"]).status_code == 303


def test_login_throttle_counts_per_personal_id(browser, factory):
    """Failures for one number do not lock another."""
    victim, other = factory.citizen(), factory.citizen()
    for _ in range(5):
        browser.sign_in(victim["personal_id"], "Wrong-password-1")
    assert browser.sign_in(other["personal_id"], other["password"]).status_code == 303


def test_login_throttle_applies_to_unknown_numbers(browser):
    """Guessing unknown numbers is throttled the same way (no enumeration by status)."""
    for _ in range(5):
        assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 401
    assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 429


def test_login_throttled_per_address_when_one_password_is_sprayed(app, browser, factory):
    """Failures from one address across many numbers lock that address, not the people."""
    app.config["LOGIN_THROTTLE_ATTEMPTS_PER_ADDRESS"] = 6
    citizen = factory.citizen()
    for n in range(6):
        assert browser.sign_in(f"08609099{n:04d}", "Wrong-password-1").status_code == 401
    assert browser.sign_in(citizen["personal_id"], citizen["password"]).status_code == 429
    elsewhere = app.test_client()
    response = elsewhere.get("/login")
    response = elsewhere.post("/login", environ_base={"REMOTE_ADDR": "203.0.113.9"}, data={
        "csrf_token": _csrf(response.get_data(as_text=True)), "personal_id": citizen["personal_id"],
        "password": citizen["password"]})
    assert response.status_code == 303


def test_login_throttle_lifts_when_the_window_ends(sql_hot_store, browser, clock):
    for _ in range(5):
        browser.sign_in("086090999999", "Wrong-password-1")
    assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 429
    clock.advance(299)
    assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 429
    clock.advance(1)  # LOGIN_THROTTLE_WINDOW after the first failure
    assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 401


def test_login_throttle_keys_hold_no_personal_id_number(sql_hot_store, app, browser):
    from sqlalchemy import select

    from gateway.extensions import db
    from gateway.stores.sql import HotEntry

    browser.sign_in("086090999999", "Wrong-password-1")
    with app.app_context():
        keys = db.session.scalars(select(HotEntry.key)).all()
    assert len(keys) == 2  # per number, per address
    assert not any("086090999999" in key for key in keys)


def test_login_success_resets_failure_count(browser, factory):
    citizen = factory.citizen()
    for _ in range(4):
        browser.sign_in(citizen["personal_id"], "Wrong-password-1")
    assert browser.sign_in(citizen["personal_id"], citizen["password"]).status_code == 303
    for _ in range(4):
        assert browser.sign_in(citizen["personal_id"], "Wrong-password-1").status_code == 401
    assert browser.sign_in(citizen["personal_id"], citizen["password"]).status_code == 303


# -- pages --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/", "/logout"])
def test_pages_carry_anti_framing_and_referrer_headers(client, path):
    """RFC 9700 §4.16 (clickjacking) and §4.2 (referrer leakage) on every page for people."""
    response = client.get(path)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_login_page_language_switch(client):
    """The visible language switch: Vietnamese by default, English on request, remembered."""
    assert '<html lang="vi">' in text(client.get("/login"))
    assert '<html lang="en">' in text(client.get("/login?lang=en"))
    assert '<html lang="en">' in text(client.get("/login"))


def test_signout_with_csrf_ends_session(browser, factory):

    citizen = factory.citizen()
    browser.sign_in(citizen["personal_id"], citizen["password"])
    home = browser.http.get("/")
    response = browser.http.post("/signout", data={"csrf_token": _csrf(text(home))})
    assert response.status_code == 200
    assert citizen["name"] not in text(browser.http.get("/"))


def test_signout_without_csrf_refused(browser, factory):
    citizen = factory.citizen()
    browser.sign_in(citizen["personal_id"], citizen["password"])
    response = browser.http.post("/signout")
    assert response.status_code == 400
    assert citizen["name"] in text(browser.http.get("/"))


def test_login_with_expired_interaction_error_page(client):
    response = client.get("/login?interaction=expired-or-unknown")
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("setting", [{"RATELIMIT_ENABLED": False},
                                     {"RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True},
                                     {"RATELIMIT_STORAGE_URI": "memory://"},
                                     {"RATELIMIT_DEFAULT": "1 per day"},
                                     {"RATELIMIT_STRATEGY": "moving-window"}])
def test_flask_limiter_settings_are_refused_at_start_up(tmp_path, setting):
    """The throttles' limiter is set up in code: a ``RATELIMIT_*`` setting (which Flask-Limiter
    would read, e.g. to switch the throttles off) stops ``create_app``."""
    from gateway import create_app
    from gateway.config import ConfigurationError

    with pytest.raises(ConfigurationError, match=next(iter(setting))):
        create_app({"TESTING": True, "ISSUER": "https://id.example", "SECRET_KEY": "k" * 40,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", **setting})


def test_a_second_node_made_from_a_started_apps_config_starts(app):
    """What Flask-Limiter wrote into a started app's config is what the code set: accepted."""
    from gateway import create_app

    assert app.config["RATELIMIT_ENABLED"] is True
    other_node = create_app(dict(app.config))
    assert other_node.test_client().get("/login").status_code == 200
