"""Enrolment and businesses as people do them in Chromium (issue 4 §2, §3, §6).

A person registers at the gateway (level 1); the commune officer of their ward, signed in with an
authenticator app in another browser, verifies them in person (level 2). A legal representative
signing in at the province portal chooses to act for their business, and the portal shows it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

NEW_PERSON = dict(personal_id="086196007788", family_name="Huỳnh", middle_name="Ngọc",
                  given_name="Lan", birthdate="1996-09-02", gender="female", ward_code="29557",
                  password="Lan-Vinh-Long-1")
OFFICER_ID = "086180002468"
REPRESENTATIVE_ID = "086088004321"
BUSINESS_NAME = "Công ty TNHH Thương mại Phát Đạt Vĩnh Long"


def _account(demo, personal_id):
    return next(c for c in demo.citizens if c["personal_id"] == personal_id)


def _new_page(browser):
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _sign_in_at_gateway(page: Page, demo, account: dict) -> None:
    page.goto(f"{demo.gateway_url}/login")
    page.fill("input[name=personal_id]", account["personal_id"])
    page.fill("input[name=password]", account["password"])
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(f"{demo.gateway_url}/")


def test_identity_signup_then_officer_verifies_in_person_level_2(demo, browser):
    person_context, person = _new_page(browser)
    officer_context, officer = _new_page(browser)
    try:
        # 1. Self-registration from the sign-in page's "Đăng ký" link.
        person.goto(f"{demo.gateway_url}/login")
        person.get_by_role("link", name="Đăng ký").click()
        for name in ("personal_id", "family_name", "middle_name", "given_name", "birthdate"):
            person.fill(f"input[name={name}]", NEW_PERSON[name])
        person.select_option("select[name=gender]", NEW_PERSON["gender"])
        person.select_option("select[name=ward_code]", NEW_PERSON["ward_code"])
        person.fill("input[name=password]", NEW_PERSON["password"])
        person.fill("input[name=confirm]", NEW_PERSON["password"])
        person.get_by_role("button", name="Đăng ký").click()
        expect(person.get_by_test_id("level")).to_have_text("Mức độ 1")

        # 2. The officer signs in; the officer pages send her to set up an authenticator.
        _sign_in_at_gateway(officer, demo, _account(demo, OFFICER_ID))
        officer.goto(f"{demo.gateway_url}/officer")
        officer.wait_for_url("**/account/security**")
        officer.locator("form:has(input[value=start]) button").click()
        secret = officer.locator("code.secret").inner_text().strip()
        totp = pyotp.TOTP(secret)
        officer.fill("input[name=code]", totp.now())
        officer.locator("form:has(input[value=confirm]) button").click()
        expect(officer.locator("h1")).to_be_visible()

        # 3. This session has not used the authenticator yet: step up, then verify.
        officer.goto(f"{demo.gateway_url}/officer")
        officer.wait_for_url("**/login/second-factor**")
        officer.fill("input[name=code]", totp.at(time.time() + totp.interval))
        officer.locator("form:has(input[name=code]) button[type=submit]").click()
        officer.wait_for_url(f"{demo.gateway_url}/")
        officer.goto(f"{demo.gateway_url}/officer")
        officer.fill("input[name=personal_id]", NEW_PERSON["personal_id"])
        officer.get_by_role("button", name="Tìm").click()
        expect(officer.get_by_test_id("person-level")).to_have_text("Mức độ 1")
        officer.select_option("select[name=document]", "chip_id_card")
        officer.get_by_role("button", name="Đã xác thực trực tiếp: nâng lên mức độ 2").click()
        expect(officer.get_by_test_id("verified")).to_contain_text("Huỳnh Ngọc Lan")
        expect(officer.get_by_test_id("recent-verifications")).to_contain_text("Huỳnh Ngọc Lan")

        # 4. The person is now level 2.
        person.goto(f"{demo.gateway_url}/signup/done")
        expect(person.get_by_test_id("level")).to_have_text("Mức độ 2")
    finally:
        person_context.close()
        officer_context.close()


def test_identity_acting_for_business_at_province_portal(demo, page):
    account = _account(demo, REPRESENTATIVE_ID)
    page.goto(demo.province_url)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{demo.gateway_url}/**")
    page.fill("input[name=personal_id]", account["personal_id"])
    page.fill("input[name=password]", account["password"])
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Bạn thực hiện với tư cách nào?")
    page.get_by_role("button", name=BUSINESS_NAME, exact=False).click()
    allow = page.locator("button[name=decision][value=allow]")
    signed_in = page.get_by_test_id("sign-out")
    expect(signed_in.or_(allow)).to_be_visible()
    if allow.is_visible():
        allow.click()
    expect(page.get_by_test_id("claim-represents")).to_contain_text(BUSINESS_NAME)
    expect(page.get_by_test_id("claim-represents")).to_contain_text("1500456787")
    expect(page.get_by_test_id("claim-name")).to_have_text(account["name"])
