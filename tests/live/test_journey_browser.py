"""The whole citizen journey of issue 4, as people do it in Chromium, across the gateway and the
province portal.

"Done when" (issue 4): a person can self-register, be verified to level 2 by their commune
officer, enrol TOTP, sign in by QR from a phone, and act for their business at the province
portal, all in the browser; and a service that needs level 2 steps up with TOTP
(docs/domain.md §2, §6; OIDC Core §3.1.2.1 ``acr_values``, §3.1.2.6
``unmet_authentication_requirements``).

Each module gets its own demo (``demo`` is module-scoped): officer Mai starts without an
authenticator, as ``seed-demo`` leaves her, and Phát at level 2 without one.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from stdnum.vn import mst

from tests.live.conftest import BROWSER_TIMEOUT
from tests.live.test_sso_browser import ALLOW_BUTTON, PASSWORD_FIELD, SUBMIT_BUTTON

CHROMIUM = Path("/usr/bin/chromium")  # the same browser the ``browser`` fixture launches

pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

OFFICER_ID = "086180002468"  # Đặng Thị Mai, commune officer of Phường Phước Hậu (29557)
REPRESENTATIVE_ID = "086088004321"  # Võ Thành Phát, level 2, no authenticator yet
LEVEL_1_ID = "086185005678"  # Trần Thị Bình, level 1
SEEDED_TAX_CODE = "1500456787"
#: The level-2 service of the province portal (clients/province/services.py).
SERVICE_PATH = "/services/judicial-record"
CODE_FIELD = "input[name=code]"

#: A resident of Phường Phước Hậu: born 1997, female (century/sex digit 1), province 086.
NEW_PERSON = dict(personal_id="086197004455", family_name="Phạm", middle_name="Thị Thu",
                  given_name="Trang", birthdate="1997-04-21", gender="female",
                  ward_code="29557", password="Trang-Phuoc-Hau-7")
NEW_PERSON_NAME = "Phạm Thị Thu Trang"
NEW_BUSINESS_NAME = "Công ty TNHH Nông sản Thu Trang"
#: A Vĩnh Long (15) tax code valid under stdnum.vn.mst, computed rather than copied.
NEW_TAX_CODE_BASE = "150061234"


class Authenticator:
    """The person's authenticator app, set up from the secret the enrolment page shows.

    The gateway accepts each 30 s time step once, with one step of drift either side, so each
    call gives the code of a step not used yet: the current one, else the next. A third code in
    the same step would mean waiting; that is a failure of the test's plan, not a pause."""

    def __init__(self, secret: str):
        self.totp = pyotp.TOTP(secret)
        self.last_step: int | None = None

    def code(self) -> str:
        current = int(time.time()) // self.totp.interval
        step = current if self.last_step is None or self.last_step < current else \
            self.last_step + 1
        assert step <= current + 1, "no unused TOTP time step left without waiting"
        self.last_step = step
        return self.totp.at(step * self.totp.interval)


def _assert_fits_phone(page: Page) -> None:
    """Nothing wider than the screen (a phone's, in the journey): no sideways scrolling."""
    # After a click the next page may still be loading: measure the page, not the gap between.
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width)


def _account(demo, personal_id: str) -> dict:
    return next(c for c in demo.citizens if c["personal_id"] == personal_id)


def _new_page(browser: Browser, *, phone: bool = False) -> Page:
    if phone:
        context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844},
                                      is_mobile=True, has_touch=True)
    else:
        context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(BROWSER_TIMEOUT)
    return context.new_page()


def _fill_password_form(page: Page, personal_id: str, password: str) -> None:
    form = page.locator("form", has=page.locator(PASSWORD_FIELD))
    form.locator("input[name=personal_id]").fill(personal_id)
    form.locator(PASSWORD_FIELD).fill(password)
    form.locator(SUBMIT_BUTTON).first.click()


def _sign_in_at_gateway(page: Page, demo, account: dict) -> None:
    page.goto(f"{demo.gateway_url}/login")
    _fill_password_form(page, account["personal_id"], account["password"])
    page.wait_for_url(f"{demo.gateway_url}/")


def _enter_code(page: Page, code: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Mã xác thực")
    page.fill(CODE_FIELD, code)
    page.locator(f"form:has({CODE_FIELD}) button[type=submit]").click()


def _enrol_authenticator(page: Page, demo) -> Authenticator:
    """/account/security: start, read the secret shown next to the QR code, confirm a code."""
    if urlsplit(page.url).path != "/account/security":
        page.goto(f"{demo.gateway_url}/account/security")
    page.locator("form:has(input[value=start]) button").click()
    expect(page.locator("img[src^='data:image/svg+xml']").first).to_be_visible()
    _assert_fits_phone(page)  # the QR code and the secret, on whatever screen
    authenticator = Authenticator(page.locator("code.secret").inner_text().strip())
    page.fill(CODE_FIELD, authenticator.code())
    page.locator("form:has(input[value=confirm]) button").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Đã thiết lập ứng dụng xác thực")
    expect(page.locator(".recovery-codes code")).to_have_count(10)
    return authenticator


def _act_for(page: Page, choice: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Bạn thực hiện với tư cách nào?")
    page.get_by_role("button", name=choice).click()


def _allow_consent_if_asked(page: Page, demo) -> None:
    signed_in = page.get_by_test_id("sign-out")
    allow = page.locator(ALLOW_BUTTON)
    expect(signed_in.or_(allow)).to_be_visible()
    if allow.is_visible():
        allow.click()
    expect(signed_in).to_be_visible()
    assert page.url.startswith(demo.province_url), page.url


def test_step_up_to_level_2_with_totp_at_province_portal(demo, browser):
    """A level-2 person signed in at level 1 (password only) who then set up an authenticator
    opens the province portal's level-2 service: the gateway keeps the single sign-on session
    (no password) and asks only for the TOTP code; the ID token says ``LoA2`` and the portal
    shows it. A level-1 person asking for the same service gets the gateway's refusal
    (``unmet_authentication_requirements``) explained by the portal, and is not signed in."""
    phat = _account(demo, REPRESENTATIVE_ID)
    page = _new_page(browser)
    try:
        # Signed in at the portal with the password alone: level 1, though verified in person.
        page.goto(demo.province_url)
        page.get_by_test_id("sign-in").click()
        page.wait_for_url(f"{demo.gateway_url}/**")
        _fill_password_form(page, phat["personal_id"], phat["password"])
        _act_for(page, f"Cá nhân tôi ({phat['name']})")
        _allow_consent_if_asked(page, demo)
        expect(page.get_by_test_id("claim-acr")).to_have_text("Mức độ 1")

        # He sets up an authenticator app; his gateway session stays what it was (level 1).
        authenticator = _enrol_authenticator(page, demo)

        # The level-2 service: not at level 2 yet, so the portal asks acr_values=LoA2.
        page.goto(demo.province_url)
        page.get_by_test_id("service-level-2").click()
        page.wait_for_url(f"{demo.gateway_url}/login/second-factor?**")
        expect(page.locator(PASSWORD_FIELD)).to_have_count(0)  # SSO kept: the code only
        expect(page.locator(".client-note")).to_contain_text("Cổng Dịch vụ công tỉnh Vĩnh Long")
        _enter_code(page, authenticator.code())
        _act_for(page, f"Cá nhân tôi ({phat['name']})")
        page.wait_for_url(f"{demo.province_url}{SERVICE_PATH}")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Yêu cầu cấp Phiếu lý lịch tư pháp")
        expect(page.get_by_test_id("service-acr")).to_have_text("Mức độ 2")
        expect(page.get_by_test_id("claim-name")).to_have_text(phat["name"])
        page.goto(demo.province_url)
        expect(page.get_by_test_id("claim-acr")).to_have_text("Mức độ 2")
    finally:
        page.context.close()

    binh = _account(demo, LEVEL_1_ID)
    page = _new_page(browser)
    try:
        page.goto(demo.province_url)
        page.get_by_test_id("service-level-2").click()
        page.wait_for_url(f"{demo.gateway_url}/login?**")
        _fill_password_form(page, binh["personal_id"], binh["password"])
        page.wait_for_url(f"{demo.province_url}/callback?**")
        expect(page.get_by_role("alert")).to_contain_text(
            "Dịch vụ này cần tài khoản định danh điện tử mức độ 2")
        expect(page.get_by_role("alert")).to_contain_text("unmet_authentication_requirements")
        expect(page.get_by_test_id("sign-in")).to_be_visible()
        # Signed in at the gateway now, she is refused at once, without a form: still no LoA2.
        page.goto(f"{demo.province_url}{SERVICE_PATH}")
        page.wait_for_url(f"{demo.province_url}/callback?**")
        expect(page.get_by_role("alert")).to_contain_text("unmet_authentication_requirements")
        expect(page.get_by_test_id("sign-in")).to_be_visible()
    finally:
        page.context.close()


def test_citizen_journey_signup_verify_totp_business_qr_act_for_business(demo, browser):
    """Issue 4 "done when", in order, each step by the person (or the officer) in a browser,
    ending with the level-2 service opened for her business after a TOTP step-up."""
    tax_code = NEW_TAX_CODE_BASE + mst.calc_check_digit(NEW_TAX_CODE_BASE)
    assert mst.is_valid(tax_code) and tax_code != SEEDED_TAX_CODE
    phone = _new_page(browser, phone=True)
    officer = _new_page(browser)
    desktop = _new_page(browser)
    try:
        # 1. Self-registration on the phone, from the sign-in page's "Đăng ký" link: level 1.
        phone.goto(f"{demo.gateway_url}/login")
        phone.get_by_role("link", name="Đăng ký").click()
        _assert_fits_phone(phone)
        for name in ("personal_id", "family_name", "middle_name", "given_name", "birthdate"):
            phone.fill(f"input[name={name}]", NEW_PERSON[name])
        phone.select_option("select[name=gender]", NEW_PERSON["gender"])
        phone.select_option("select[name=ward_code]", NEW_PERSON["ward_code"])
        phone.fill("input[name=password]", NEW_PERSON["password"])
        phone.fill("input[name=confirm]", NEW_PERSON["password"])
        phone.get_by_role("button", name="Đăng ký").click()
        expect(phone.get_by_test_id("level")).to_have_text("Mức độ 1")
        # Not yet level 2: no business can be registered.
        response = phone.goto(f"{demo.gateway_url}/business/new")
        assert response is not None and response.status == 403

        # 2. Officer Mai: first use of /officer sets up her authenticator, then steps up.
        _sign_in_at_gateway(officer, demo, _account(demo, OFFICER_ID))
        officer.goto(f"{demo.gateway_url}/officer")
        officer.wait_for_url("**/account/security**")
        officer_app = _enrol_authenticator(officer, demo)
        officer.goto(f"{demo.gateway_url}/officer")
        officer.wait_for_url("**/login/second-factor**")
        _enter_code(officer, officer_app.code())
        officer.wait_for_url(f"{demo.gateway_url}/")
        officer.goto(f"{demo.gateway_url}/officer")
        officer.fill("input[name=personal_id]", NEW_PERSON["personal_id"])
        officer.get_by_role("button", name="Tìm").click()
        expect(officer.get_by_test_id("person-level")).to_have_text("Mức độ 1")
        officer.select_option("select[name=document]", "chip_id_card")
        officer.get_by_role("button", name="Đã xác thực trực tiếp: nâng lên mức độ 2").click()
        expect(officer.get_by_test_id("verified")).to_contain_text(NEW_PERSON_NAME)

        # 3. The person, level 2 now, sets up an authenticator app on /account/security.
        phone.goto(f"{demo.gateway_url}/signup/done")
        expect(phone.get_by_test_id("level")).to_have_text("Mức độ 2")
        authenticator = _enrol_authenticator(phone, demo)
        _assert_fits_phone(phone)  # the recovery codes

        # 4. She registers her business with a valid tax code.
        phone.goto(f"{demo.gateway_url}/business/new")
        _assert_fits_phone(phone)
        phone.fill("input[name=tax_code]", tax_code)
        phone.fill("input[name=name]", NEW_BUSINESS_NAME)
        phone.select_option("select[name=ward_code]", NEW_PERSON["ward_code"])
        phone.get_by_role("button", name="Đăng ký").click()
        phone.wait_for_url(f"{demo.gateway_url}/business/{tax_code}")
        expect(phone.get_by_role("heading", level=1)).to_have_text(NEW_BUSINESS_NAME)

        # 5. On a computer: the province portal's sign-in, by QR code from her phone.
        desktop.goto(demo.province_url)
        desktop.get_by_test_id("sign-in").click()
        desktop.wait_for_url(f"{demo.gateway_url}/login?**")
        expect(desktop.get_by_test_id("qr-login").locator("img")).to_be_visible()
        qr_url = desktop.get_by_test_id("qr-url").get_attribute("data-qr-url")
        assert qr_url and qr_url.startswith(f"{demo.gateway_url}/m/qr/"), qr_url
        phone.goto(qr_url)  # what scanning the code opens, in the phone's signed-in browser
        expect(phone.get_by_test_id("qr-client-name")).to_have_text(
            "Cổng Dịch vụ công tỉnh Vĩnh Long")
        _assert_fits_phone(phone)
        phone.get_by_test_id("qr-approve").click()
        expect(phone.get_by_test_id("qr-message")).to_be_visible()

        # 6. The computer continues by itself (a second factor if the gateway asks one), and
        #    asks whom she acts for: her business.
        acting_for = desktop.get_by_role("heading", name="Bạn thực hiện với tư cách nào?")
        code = desktop.locator(CODE_FIELD)
        expect(acting_for.or_(code)).to_be_visible()
        if code.is_visible():
            _enter_code(desktop, authenticator.code())
        expect(desktop.locator(PASSWORD_FIELD)).to_have_count(0)
        _act_for(desktop, f"{NEW_BUSINESS_NAME} ({tax_code})")
        _allow_consent_if_asked(desktop, demo)
        expect(desktop.get_by_test_id("claim-name")).to_have_text(NEW_PERSON_NAME)
        expect(desktop.get_by_test_id("claim-personal-id")).to_have_text(
            NEW_PERSON["personal_id"])
        expect(desktop.get_by_test_id("claim-represents")).to_contain_text(NEW_BUSINESS_NAME)
        expect(desktop.get_by_test_id("claim-represents")).to_contain_text(tax_code)

        # 7. The level-2 service on the same computer: a QR sign-in counts as single sign-on
        #    (level 1 at most), so the gateway asks for her authenticator code, then she acts
        #    for her business again and the service opens at level 2.
        desktop.get_by_test_id("service-level-2").click()
        desktop.wait_for_url(f"{demo.gateway_url}/login/second-factor?**")
        _enter_code(desktop, authenticator.code())
        _act_for(desktop, f"{NEW_BUSINESS_NAME} ({tax_code})")
        desktop.wait_for_url(f"{demo.province_url}{SERVICE_PATH}")
        expect(desktop.get_by_test_id("service-acr")).to_have_text("Mức độ 2")
        expect(desktop.get_by_test_id("claim-represents")).to_contain_text(tax_code)
    finally:
        for page in (phone, officer, desktop):
            page.context.close()
