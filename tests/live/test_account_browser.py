""""Tài khoản của tôi" as a person uses it in Chromium (issue 4 part 7).

After signing in at the province portal, the person finds the portal under "connected agencies"
with what it receives, and in the data-sharing log; withdrawing consent there ("Thu hồi") means
the portal's next sign-in asks for consent again (OIDC Core §3.1.2.4).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.live.test_sso_browser import ALLOW_BUTTON, PASSWORD_FIELD, sign_in_with_password

CHROMIUM = Path("/usr/bin/chromium")  # the same browser the ``browser`` fixture launches

pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

PROVINCE_PORTAL_NAME = "Cổng Dịch vụ công tỉnh Vĩnh Long"  # gateway/cli.py seed-demo


def test_account_shows_portal_and_its_data_sharing_then_revoke_makes_portal_ask_consent(
        demo, page):
    citizen = demo.citizens[1]
    province_client_id = demo.clients["province"]["client_id"]
    page.goto(demo.province_url)
    sign_in_with_password(page, demo, citizen, demo.province_url)

    page.goto(f"{demo.gateway_url}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tài khoản của tôi")
    expect(page.get_by_test_id("profile-name")).to_have_text(citizen["name"])

    page.get_by_role("link", name="Cơ quan đã kết nối").first.click()
    agency = page.locator(f'[data-testid=agency][data-client-id="{province_client_id}"]')
    expect(agency.get_by_test_id("agency-name")).to_have_text(PROVINCE_PORTAL_NAME)
    expect(agency.locator("li[data-scope=profile]")).to_have_count(1)

    page.get_by_role("link", name="Nhật ký chia sẻ dữ liệu").click()
    shared = page.locator(f'[data-testid=disclosure][data-client-id="{province_client_id}"]')
    expect(shared.first).to_be_visible()
    expect(shared.first.get_by_test_id("disclosure-agency")).to_have_text(PROVINCE_PORTAL_NAME)
    expect(shared.first.get_by_test_id("disclosure-claims")).to_contain_text("họ và tên")

    page.get_by_role("link", name="Cơ quan đã kết nối").first.click()
    agency.get_by_test_id("revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Đã thu hồi")
    expect(page.get_by_test_id("no-agencies")).to_be_visible()

    # The portal's next sign-in: the SSO session still stands, so no password, but consent.
    page.goto(f"{demo.province_url}/login")
    allow = page.locator(ALLOW_BUTTON)
    expect(allow.or_(page.locator(PASSWORD_FIELD))).to_be_visible()
    expect(allow).to_be_visible()
    expect(page.get_by_text(PROVINCE_PORTAL_NAME).first).to_be_visible()
    allow.click()
    expect(page.get_by_test_id("sign-out")).to_be_visible()
    assert page.url.startswith(demo.province_url), page.url
