"""Single sign-on across the province and commune portals, as a person does it in Chromium.

The business rule (docs/domain.md §1): one electronic identity that works seamlessly across every
level of government, so signing in once at the province portal signs the person in at the
commune portal without typing the password again; signing out (OpenID Connect RP-Initiated
Logout 1.0) ends the gateway session too.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from clients.kit.i18n import STRINGS

CHROMIUM = Path("/usr/bin/chromium")  # the same browser the ``browser`` fixture launches

pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

PASSWORD_FIELD = "input[name=password]"
ALLOW_BUTTON = "button[name=decision][value=allow]"
LOGOUT_CONFIRM_BUTTON = "button[name=confirm][value=yes]"
SUBMIT_BUTTON = "button:not([type=button]):not([type=reset]), input[type=submit]"


def sign_in_with_password(page: Page, demo, citizen: dict, portal_url: str) -> None:
    """From a portal's home page: through the gateway's sign-in form and back, signed in."""
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{demo.gateway_url}/**")
    form = page.locator("form", has=page.locator(PASSWORD_FIELD))
    form.locator("input[name=personal_id]").fill(citizen["personal_id"])
    form.locator(PASSWORD_FIELD).fill(citizen["password"])
    form.locator(SUBMIT_BUTTON).first.click()
    allow_consent_if_asked(page, portal_url)


def allow_consent_if_asked(page: Page, portal_url: str) -> None:
    """The gateway asks for consent the first time a citizen meets a client; then remembers."""
    signed_in = page.get_by_test_id("sign-out")
    allow = page.locator(ALLOW_BUTTON)
    expect(signed_in.or_(allow)).to_be_visible()
    if allow.is_visible():
        allow.click()
    expect(signed_in).to_be_visible()
    assert page.url.startswith(portal_url), page.url


def test_sso_signed_in_at_province_is_signed_in_at_commune_without_password_form(demo, page):
    citizen = demo.citizens[0]

    page.goto(demo.province_url)
    sign_in_with_password(page, demo, citizen, demo.province_url)
    expect(page.get_by_test_id("claim-name")).to_have_text(citizen["name"])
    expect(page.get_by_test_id("claim-personal-id")).to_have_text(citizen["personal_id"])

    visited: list[str] = []  # pages shown
    requested: list[str] = []  # every top-level navigation, redirect hops included
    page.on("framenavigated",
            lambda frame: visited.append(frame.url) if frame == page.main_frame else None)
    page.on("request",
            lambda request: requested.append(request.url)
            if request.is_navigation_request() else None)
    page.goto(demo.commune_url)
    page.get_by_test_id("sign-in").click()
    signed_in = page.get_by_test_id("sign-out")
    allow = page.locator(ALLOW_BUTTON)
    password = page.locator(PASSWORD_FIELD)
    expect(signed_in.or_(allow).or_(password)).to_be_visible()
    assert not password.is_visible(), "the gateway asked for the password again"
    allow_consent_if_asked(page, demo.commune_url)

    expect(page.get_by_test_id("claim-name")).to_have_text(citizen["name"])
    # The commune portal did not ask for scope personal_id, so the number is not released.
    expect(page.get_by_test_id("claim-personal-id")).to_have_count(0)
    gateway_pages = [urlsplit(url) for url in visited if url.startswith(demo.gateway_url)]
    assert all(url.path != "/login" for url in gateway_pages), visited
    gateway_requests = [urlsplit(url) for url in requested if url.startswith(demo.gateway_url)]
    authorize_queries = [parse_qs(u.query) for u in gateway_requests if "code_challenge" in u.query]
    assert authorize_queries, f"no authorization request with PKCE seen: {requested}"
    assert all(q["code_challenge_method"] == ["S256"] and q.get("nonce") for q in authorize_queries)


def test_sign_out_at_province_ends_gateway_session(demo, page):
    citizen = demo.citizens[0]
    page.goto(demo.province_url)
    sign_in_with_password(page, demo, citizen, demo.province_url)

    page.get_by_test_id("sign-out").click()
    sign_in = page.get_by_test_id("sign-in")
    confirm = page.locator(LOGOUT_CONFIRM_BUTTON)
    expect(sign_in.or_(confirm)).to_be_visible()
    if confirm.is_visible():
        confirm.click()
    expect(sign_in).to_be_visible()
    assert page.url.startswith(demo.province_url), page.url
    expect(page.get_by_role("status")).to_have_text(STRINGS["vi"]["signed_out"])

    sign_in.click()
    expect(page.locator(PASSWORD_FIELD)).to_be_visible()
    assert page.url.startswith(demo.gateway_url), page.url
