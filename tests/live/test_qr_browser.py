"""QR cross-device sign-in as a person does it: a desktop browser and a phone, in Chromium.

The business rule (issue 4 item 5, docs/domain.md §6): the desktop's sign-in page shows a QR
code; the person's phone, already signed in to the gateway, opens it, shows which agency is asking
and from where, and the person confirms; the desktop then continues by itself, without a password.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.live.conftest import BROWSER_TIMEOUT
from tests.live.test_sso_browser import ALLOW_BUTTON, PASSWORD_FIELD, SUBMIT_BUTTON

CHROMIUM = Path("/usr/bin/chromium")  # the same browser the ``browser`` fixture launches

pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

#: ``client_name`` of the province portal, as ``seed-demo`` registers it.
PROVINCE_CLIENT_NAME = "Cổng Dịch vụ công tỉnh Vĩnh Long"
#: A short QR lifetime for this module's demo, so expiry can be watched in real time.
QR_LIFETIME = 15


@pytest.fixture(scope="module", autouse=True)
def short_qr_lifetime():
    """Runs before the module's ``demo`` (autouse): the demo's gateway reads GATEWAY_*."""
    previous = os.environ.get("GATEWAY_QR_LOGIN_LIFETIME")
    os.environ["GATEWAY_QR_LOGIN_LIFETIME"] = str(QR_LIFETIME)
    yield
    if previous is None:
        del os.environ["GATEWAY_QR_LOGIN_LIFETIME"]
    else:
        os.environ["GATEWAY_QR_LOGIN_LIFETIME"] = previous


@pytest.fixture
def desktop(browser):
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(BROWSER_TIMEOUT)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(BROWSER_TIMEOUT)
    yield context.new_page()
    context.close()


def sign_in_phone_at_gateway(phone: Page, demo, citizen: dict) -> None:
    phone.goto(f"{demo.gateway_url}/login")
    form = phone.locator("form", has=phone.locator(PASSWORD_FIELD))
    form.locator("input[name=personal_id]").fill(citizen["personal_id"])
    form.locator(PASSWORD_FIELD).fill(citizen["password"])
    form.locator(SUBMIT_BUTTON).first.click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text(citizen["name"])


def open_qr_sign_in(desktop: Page, demo) -> str:
    """From the province portal to the gateway's sign-in page; returns the QR code's URL."""
    desktop.goto(demo.province_url)
    desktop.get_by_test_id("sign-in").click()
    desktop.wait_for_url(f"{demo.gateway_url}/login?**")
    expect(desktop.get_by_test_id("qr-login").locator("img")).to_be_visible()
    expect(desktop.get_by_role("heading", name="Quét mã QR để đăng nhập")).to_be_visible()
    expect(desktop.get_by_test_id("qr-status")).to_have_text("Đang chờ xác nhận trên điện thoại…")
    url = desktop.get_by_test_id("qr-url").get_attribute("data-qr-url")
    assert url and url.startswith(f"{demo.gateway_url}/m/qr/"), url
    return url


def test_qr_sign_in_from_a_phone_signs_the_desktop_in_without_a_password(demo, desktop, phone):
    citizen = demo.citizens[1]
    sign_in_phone_at_gateway(phone, demo, citizen)
    qr_url = open_qr_sign_in(desktop, demo)

    phone.goto(qr_url)
    expect(phone.get_by_test_id("qr-client-name")).to_have_text(PROVINCE_CLIENT_NAME)
    expect(phone.get_by_test_id("qr-place")).to_contain_text("127.0.0.1")
    # Phone-sized: the confirmation button fits the screen without horizontal scrolling.
    box = phone.get_by_test_id("qr-approve").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    expect(phone.get_by_test_id("qr-approve")).to_have_text("Đồng ý đăng nhập")
    phone.get_by_test_id("qr-approve").click()
    expect(phone.get_by_test_id("qr-message")).to_be_visible()

    # The desktop page noticed by itself (polling), and continues to the portal.
    signed_in = desktop.get_by_test_id("sign-out")
    allow = desktop.locator(ALLOW_BUTTON)
    expect(signed_in.or_(allow)).to_be_visible()
    if allow.is_visible():
        allow.click()
    expect(signed_in).to_be_visible()
    assert desktop.url.startswith(demo.province_url), desktop.url
    expect(desktop.get_by_test_id("claim-name")).to_have_text(citizen["name"])
    expect(desktop.get_by_test_id("claim-personal-id")).to_have_text(citizen["personal_id"])


def test_qr_refused_on_the_phone_leaves_the_desktop_on_the_password_form(demo, desktop, phone):
    citizen = demo.citizens[2]
    sign_in_phone_at_gateway(phone, demo, citizen)
    qr_url = open_qr_sign_in(desktop, demo)
    waiting = desktop.get_by_test_id("qr-status").inner_text()

    phone.goto(qr_url)
    phone.get_by_test_id("qr-deny").click()
    expect(phone.get_by_test_id("qr-message")).to_be_visible()

    expect(desktop.get_by_test_id("qr-refresh")).to_be_visible()
    assert desktop.get_by_test_id("qr-status").inner_text() != waiting
    assert urlsplit(desktop.url).path == "/login"
    expect(desktop.locator(PASSWORD_FIELD)).to_be_visible()
    # The refused code is spent: opening it again on the phone explains so, with a 4xx.
    response = phone.goto(qr_url)
    assert response is not None and response.status == 409
    expect(phone.get_by_test_id("qr-message")).to_be_visible()


def test_expired_qr_code_says_so_on_the_desktop_and_can_be_renewed(demo, desktop, phone):
    sign_in_phone_at_gateway(phone, demo, demo.citizens[0])
    old_url = open_qr_sign_in(desktop, demo)
    waiting = desktop.get_by_test_id("qr-status").inner_text()

    refresh = desktop.get_by_test_id("qr-refresh")
    expect(refresh).to_be_visible(timeout=(QR_LIFETIME + 10) * 1000)
    expect(desktop.get_by_test_id("qr-status")).to_have_text("Mã đã hết hạn.")
    assert waiting != "Mã đã hết hạn."
    response = phone.goto(old_url)
    assert response is not None and response.status == 410
    expect(phone.get_by_test_id("qr-message")).to_be_visible()

    refresh.click()
    expect(desktop.get_by_test_id("qr-login").locator("img")).to_be_visible()
    new_url = desktop.get_by_test_id("qr-url").get_attribute("data-qr-url")
    assert new_url and new_url != old_url
    phone.goto(new_url)
    expect(phone.get_by_test_id("qr-approve")).to_be_visible()
