"""Single logout as a person does it in Chromium, against the demo as real processes (gateway,
both portals and the back-channel logout worker, ``clients/demo.py``).

Signed in at the province portal, then silently at the commune portal; signing out at the
commune portal (RP-Initiated Logout 1.0) ends the gateway session, and the gateway tells the
province portal by Back-Channel Logout 1.0 (``oidcc-backchannel-rp-initiated-logout``): its page
shows the person signed out, and the delivery is recorded as delivered. Signing out at the
province portal instead shows Front-Channel Logout 1.0 at work: the commune portal registered a
``frontchannel_logout_uri``, which the gateway's signed-out page loads in a frame.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.live.conftest import REPO_ROOT
from tests.live.test_sso_browser import (
    ALLOW_BUTTON,
    LOGOUT_CONFIRM_BUTTON,
    PASSWORD_FIELD,
    allow_consent_if_asked,
    sign_in_with_password,
)

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


def list_logout_deliveries(demo) -> list[dict]:
    """``flask --app gateway list-logout-deliveries --json`` on the demo's instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "PORTAL_"))}
    env.update(GATEWAY_ENV="development", GATEWAY_INSTANCE_PATH=str(demo.instance),
               GATEWAY_ISSUER=demo.gateway_url)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "gateway", "list-logout-deliveries", "--json"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_oidcc_backchannel_rp_initiated_logout_signs_out_other_portal(demo, page):
    citizen = demo.citizens[1]
    page.goto(demo.province_url)
    sign_in_with_password(page, demo, citizen, demo.province_url)
    expect(page.get_by_test_id("claim-name")).to_have_text(citizen["name"])

    page.goto(demo.commune_url)
    page.get_by_test_id("sign-in").click()
    signed_in = page.get_by_test_id("sign-out")
    password = page.locator(PASSWORD_FIELD)
    expect(signed_in.or_(page.locator(ALLOW_BUTTON)).or_(password)).to_be_visible()
    assert not password.is_visible(), "the gateway asked for the password again"
    allow_consent_if_asked(page, demo.commune_url)

    page.get_by_test_id("sign-out").click()
    sign_in = page.get_by_test_id("sign-in")
    confirm = page.locator(LOGOUT_CONFIRM_BUTTON)
    expect(sign_in.or_(confirm)).to_be_visible()
    if confirm.is_visible():
        confirm.click()
    expect(sign_in).to_be_visible()
    assert page.url.startswith(demo.commune_url), page.url

    # The province portal's own cookie is still there; its server ended the session on the
    # gateway's back-channel logout (inline at sign-out, or by the worker soon after).
    for _ in range(20):
        page.goto(demo.province_url)
        if page.get_by_test_id("sign-in").is_visible():
            break
        page.wait_for_timeout(500)
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.get_by_test_id("claim-name")).to_have_count(0)

    deliveries = {row["client_id"]: row for row in list_logout_deliveries(demo)}
    province = demo.clients["province"]["client_id"]
    commune = demo.clients["commune"]["client_id"]
    assert deliveries[province]["status"] == "delivered", deliveries
    assert deliveries[province]["uri"] == demo.province_url + "/backchannel-logout"
    assert deliveries[province]["last_status_code"] == 200
    assert deliveries[commune]["status"] == "delivered", deliveries

    # And the gateway session is gone: signing in again asks for the password.
    page.get_by_test_id("sign-in").click()
    expect(page.locator(PASSWORD_FIELD)).to_be_visible()


def test_oidcc_frontchannel_rp_initiated_logout_loads_commune_frame_then_returns(demo, page):
    """oidcc-frontchannel-rp-initiated-logout: signing out at the province portal, the
    gateway's signed-out page loads the commune portal's ``frontchannel_logout_uri`` (it
    registered one, with ``iss`` and ``sid``) in a hidden frame, then continues by itself to
    the province portal's ``post_logout_redirect_uri``."""
    citizen = demo.citizens[2]
    page.goto(demo.province_url)
    sign_in_with_password(page, demo, citizen, demo.province_url)
    page.goto(demo.commune_url)
    page.get_by_test_id("sign-in").click()
    allow_consent_if_asked(page, demo.commune_url)

    frames: list[tuple[str, int]] = []
    page.on("response", lambda response: frames.append((response.url, response.status))
            if response.url.startswith(demo.commune_url + "/frontchannel-logout") else None)
    main_urls: list[str] = []
    page.on("framenavigated",
            lambda frame: main_urls.append(frame.url) if frame == page.main_frame else None)
    page.goto(demo.province_url)
    page.get_by_test_id("sign-out").click()
    sign_in = page.get_by_test_id("sign-in")
    confirm = page.locator(LOGOUT_CONFIRM_BUTTON)
    expect(sign_in.or_(confirm)).to_be_visible()
    if confirm.is_visible():
        confirm.click()
    expect(sign_in).to_be_visible()
    assert page.url.startswith(demo.province_url), page.url

    assert any(url.startswith(demo.gateway_url + "/logout") for url in main_urls), main_urls
    [(url, status)] = frames
    assert url.startswith(demo.commune_url + "/frontchannel-logout?"), frames
    query = parse_qs(urlsplit(url).query)
    assert query["iss"] == [demo.gateway_url] and query["sid"][0]
    assert status == 200
    page.goto(demo.commune_url)
    expect(page.get_by_test_id("sign-in")).to_be_visible()
