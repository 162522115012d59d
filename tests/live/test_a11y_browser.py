"""Automated accessibility audit (issue 12 item 5): axe-core over every page of the gateway and
both portals, in Chromium.

Every page is audited in eight variants: in Vietnamese (the default) and in English (one test
each), and, after each page load, in the normal and the high-contrast mode (switched with the
page's own "contrast" control) at a desktop (1280 px) and a phone (320 px, WCAG 2.2 SC 1.4.10
"Reflow") width. A test fails when axe finds any violation of impact "serious" or "critical"
under the WCAG 2.0/2.1/2.2 A and AA rules on any page in any variant, or when a page scrolls
sideways at 320 px; the failure lists, per page and variant, each rule, its impact, its help
text and the first elements it names.

axe-core comes from npm, pinned in package.json / package-lock.json (``make test`` runs
``npm ci``); without it these tests skip, saying so. docs/accessibility.md describes the audit.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.live.conftest import BROWSER_TIMEOUT, REPO_ROOT
from tests.live.test_sso_browser import (
    ALLOW_BUTTON,
    LOGOUT_CONFIRM_BUTTON,
    PASSWORD_FIELD,
    SUBMIT_BUTTON,
)

CHROMIUM = Path("/usr/bin/chromium")  # the same browser the ``browser`` fixture launches
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def _axe_missing_reason() -> str:
    if shutil.which("npm") is None:
        return f"npm is not installed, so axe-core ({AXE}) cannot be installed: a11y audit skipped"
    return f"{AXE} is missing: run `npm ci` (make test does) to install axe-core"


pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
    pytest.mark.skipif(not AXE.exists(), reason=_axe_missing_reason()),
]

#: The WCAG rule sets axe-core tags its rules with: 2.0, 2.1 and 2.2, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = ("serious", "critical")

REPRESENTATIVE_ID = "086088004321"  # Võ Thành Phát, level 2, legal representative
SEEDED_TAX_CODE = "1500456787"
OFFICER_ID = "086180002468"  # Đặng Thị Mai, commune officer (needs TOTP for /officer)
TOTP_PERSON_ID = "086201009012"  # Lê Hoàng Cường: sets up and removes an authenticator
CONSENT_PERSON_ID = "086185005678"  # Trần Thị Bình: no business, asked for consent
PORTAL_PERSON_ID = "086090001234"  # Nguyễn Văn An: signed in at both portals

LANGUAGES = ("vi", "en")
#: Each page is audited in both contrast modes and at both widths, after one page load.
MODES = [(contrast, width) for contrast in ("normal", "high") for width in ("desktop", "phone")]
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 320, "height": 640}}

#: Runs axe-core on the page, keeps what blocks, and returns it as plain data.
RUN_AXE = """async ([tags, impacts]) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.filter(v => impacts.includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
    summary: (v.nodes[0] && v.nodes[0].failureSummary || '').split('\\n').slice(0, 3).join(' ')}));
}"""


def _set_contrast(page: Page, contrast: str) -> None:
    """With the page's own switch, as a person would: the gateway's "Tương phản" toggle
    (``html.contrast``) or the portal's "Tăng/Giảm tương phản" (``html.high-contrast``)."""
    high = contrast == "high"
    portal_switch = page.locator("button[data-contrast=more]")
    if portal_switch.count():
        page.locator(f"button[data-contrast={'more' if high else 'less'}]").click()
        active = page.evaluate("document.documentElement.classList.contains('high-contrast')")
    else:
        toggle = page.locator("button[data-contrast]")
        assert toggle.count() == 1, f"{page.url}: no contrast switch"
        if page.evaluate("document.documentElement.classList.contains('contrast')") != high:
            toggle.click()
        active = page.evaluate("document.documentElement.classList.contains('contrast')")
    assert active == high, (page.url, contrast)


class Audit:
    """The blocking violations of the pages audited in one language, page by page and mode."""

    def __init__(self, lang: str):
        self.lang = lang
        self.pages: list[str] = []
        self.failures: list[str] = []

    def check(self, page: Page, label: str) -> None:
        page.wait_for_load_state("load")
        lang = page.evaluate("document.documentElement.lang")
        assert lang == self.lang, f"{label} ({page.url}): <html lang={lang!r}>"
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        self.pages.append(label)
        for contrast, width in MODES:
            _set_contrast(page, contrast)
            page.set_viewport_size(WIDTHS[width])
            where = f"{label} [{self.lang}, {contrast} contrast, {width}] ({page.url})"
            violations = page.evaluate(RUN_AXE, [WCAG_TAGS, list(BLOCKING_IMPACTS)])
            for v in violations:
                self.failures.append(
                    f"{where}: {v['id']} [{v['impact']}] {v['help']}; {v['count']} element(s), "
                    f"e.g. {json.dumps(v['targets'], ensure_ascii=False)} - {v['summary']}")
            # SC 1.4.10 Reflow: 320 CSS px wide without scrolling sideways.
            scroll, client = page.evaluate("[document.documentElement.scrollWidth, "
                                           "document.documentElement.clientWidth]")
            if scroll > client:
                self.failures.append(f"{where}: scrolls sideways ({scroll} px in {client} px)")
        _set_contrast(page, "normal")
        page.set_viewport_size(WIDTHS["desktop"])

    def assert_clean(self) -> None:
        assert self.pages, "no page was audited"
        assert not self.failures, (
            f"{len(self.failures)} serious/critical violation(s) on {len(self.pages)} pages in "
            f"{self.lang}:\n" + "\n".join(self.failures))


def _account(demo, personal_id: str) -> dict:
    return next(c for c in demo.citizens if c["personal_id"] == personal_id)


def _new_context(browser: Browser, storage_state=None) -> BrowserContext:
    # The pages' Content-Security-Policy (script-src 'self') refuses the inline <script> that
    # add_script_tag inserts. Bypassing it lets axe-core in; the templates have no inline styles
    # or scripts for it to let in besides (tests/test_i18n.py checks), so the pages look the same.
    context = browser.new_context(locale="vi-VN", viewport=WIDTHS["desktop"], bypass_csp=True,
                                  storage_state=storage_state)
    context.set_default_timeout(BROWSER_TIMEOUT)
    return context


def _choose_language(page: Page, demo, lang: str) -> None:
    """Each site remembers the language in its session: the gateway from ``?lang=``, the
    portals from their /lang/<code> switch."""
    page.goto(f"{demo.gateway_url}/?lang={lang}")
    page.goto(f"{demo.province_url}/lang/{lang}?next=/")
    page.goto(f"{demo.commune_url}/lang/{lang}?next=/")


def _sign_in(page: Page, personal_id: str, password: str) -> None:
    form = page.locator("form", has=page.locator(PASSWORD_FIELD))
    form.locator("input[name=personal_id]").fill(personal_id)
    form.locator(PASSWORD_FIELD).fill(password)
    form.locator(SUBMIT_BUTTON).first.click()
    page.wait_for_load_state("load")


def _authorize_url(context: BrowserContext, portal_url: str, **extra: str) -> str:
    """Where the portal's "sign in" sends the browser, with ``extra`` parameters added (e.g.
    ``prompt=consent``, OIDC Core §3.1.2.1, to see the consent page again)."""
    response = context.request.get(f"{portal_url}/login", max_redirects=0)
    assert response.status == 302, (portal_url, response.status)
    location = response.headers["location"]
    return location + ("&" + urlencode(extra) if extra else "")


def _signed_in_state(browser: Browser, demo, personal_id: str) -> dict:
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(BROWSER_TIMEOUT)
    try:
        page = context.new_page()
        page.goto(f"{demo.gateway_url}/login")
        _sign_in(page, personal_id, _account(demo, personal_id)["password"])
        page.wait_for_url(f"{demo.gateway_url}/")
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope="module")
def states(browser, demo) -> dict:
    """Signed-in browser profiles (cookies) made once per module: each test starts from a
    copy, so the audit does not sign in again on every page."""
    return {pid: _signed_in_state(browser, demo, pid)
            for pid in (REPRESENTATIVE_ID, CONSENT_PERSON_ID)}


@pytest.fixture(scope="module")
def officer_state(browser, demo) -> dict:
    """Officer Mai with an authenticator set up and a level-2 session: what /officer needs."""
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(BROWSER_TIMEOUT)
    try:
        page = context.new_page()
        page.goto(f"{demo.gateway_url}/login")
        _sign_in(page, OFFICER_ID, _account(demo, OFFICER_ID)["password"])
        page.goto(f"{demo.gateway_url}/account/security")
        page.locator("form:has(input[value=start]) button").click()
        totp = pyotp.TOTP(page.locator("code.secret").inner_text().strip())
        step = int(time.time()) // totp.interval  # this step, then the next: each used once
        page.fill("input[name=code]", totp.at(step * totp.interval))
        page.locator("form:has(input[value=confirm]) button").click()
        expect(page.locator(".recovery-codes code")).to_have_count(10)
        page.goto(f"{demo.gateway_url}/officer")
        page.wait_for_url("**/login/second-factor**")
        page.fill("input[name=code]", totp.at((step + 1) * totp.interval))
        page.locator("form:has(input[name=code]) button[type=submit]").click()
        expect(page.locator("input[name=code]")).to_have_count(0)  # the code was accepted
        page.goto(f"{demo.gateway_url}/officer")
        expect(page.locator("input[name=personal_id]")).to_be_visible()
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def audit(request) -> Audit:
    return Audit(request.node.callspec.params["lang"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_gateway_pages_signed_out(demo, browser, lang, audit):
    """Home, sign-in (alone, for a portal with the QR alternative, and with errors), sign-up
    (and its errors), sign-out with nobody signed in, the error pages, and signing out at the
    gateway (the question and the signed-out page)."""
    context = _new_context(browser)
    try:
        page = context.new_page()
        _choose_language(page, demo, lang)
        page.goto(f"{demo.gateway_url}/")
        audit.check(page, "gateway home")
        page.goto(f"{demo.gateway_url}/login")
        audit.check(page, "sign-in")
        _sign_in(page, "12", "x")
        audit.check(page, "sign-in with errors")
        page.goto(f"{demo.gateway_url}/signup")
        audit.check(page, "sign-up")
        page.get_by_role("button", name="Đăng ký" if lang == "vi" else "Register").click()
        page.wait_for_load_state("load")
        audit.check(page, "sign-up with errors")
        page.goto(f"{demo.gateway_url}/logout")
        audit.check(page, "sign-out, nobody signed in")
        page.goto(f"{demo.gateway_url}/no-such-page")
        audit.check(page, "404 page")
        page.goto(f"{demo.gateway_url}/login?interaction=unknown")
        audit.check(page, "expired sign-in request")
        page.goto(_authorize_url(context, demo.province_url))
        expect(page.get_by_test_id("qr-login")).to_be_visible()
        audit.check(page, "sign-in for the province portal, QR alternative")

        # A session of its own, ended at the gateway: the question, then the signed-out page.
        person = _account(demo, PORTAL_PERSON_ID)
        page.goto(f"{demo.gateway_url}/login")
        _sign_in(page, person["personal_id"], person["password"])
        page.goto(f"{demo.gateway_url}/logout")
        audit.check(page, "sign-out question, signed in")
        page.locator(LOGOUT_CONFIRM_BUTTON).click()
        expect(page.locator(LOGOUT_CONFIRM_BUTTON)).to_have_count(0)
        audit.check(page, "signed out at the gateway")
    finally:
        context.close()
    audit.assert_clean()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_gateway_account_pages_signed_in(demo, browser, states, lang, audit):
    """Home, "my account" and its tabs, businesses, the sign-out question, the "act for whom?"
    and consent pages (a representative, and a person without a business), and the phone's
    page of a QR sign-in."""
    context = _new_context(browser, states[REPRESENTATIVE_ID])
    try:
        page = context.new_page()
        _choose_language(page, demo, lang)
        for path, label in [
            ("/", "gateway home, signed in"),
            ("/account", "account overview"),
            ("/account/agencies", "connected agencies"),
            ("/account/sharing", "data-sharing log"),
            ("/account/history", "sign-in history"),
            ("/account/sessions", "sessions"),
            ("/account/security", "sign-in security"),
            ("/business", "businesses"),
            (f"/business/{SEEDED_TAX_CODE}", "a business"),
            ("/business/new", "register a business"),
            ("/signup/done", "registration done"),
            ("/logout", "sign-out question"),
        ]:
            page.goto(f"{demo.gateway_url}{path}")
            audit.check(page, label)

        page.goto(_authorize_url(context, demo.province_url, prompt="consent"))
        expect(page.locator("button[name=acting_for]").first).to_be_visible()
        audit.check(page, "act for whom?")
        page.locator("button[name=acting_for][value=self]").click()
        expect(page.locator(ALLOW_BUTTON)).to_be_visible()
        audit.check(page, "consent (province portal)")

        # The phone's page for the QR code another browser's sign-in page shows.
        other = _new_context(browser)
        try:
            desktop = other.new_page()
            desktop.goto(_authorize_url(other, demo.province_url))
            qr_url = desktop.get_by_test_id("qr-url").get_attribute("data-qr-url")
        finally:
            other.close()
        page.goto(qr_url)
        audit.check(page, "QR sign-in, phone")
        page.get_by_test_id("qr-deny").click()
        audit.check(page, "QR sign-in refused, phone")
    finally:
        context.close()

    context = _new_context(browser, states[CONSENT_PERSON_ID])
    try:
        page = context.new_page()
        _choose_language(page, demo, lang)
        page.goto(_authorize_url(context, demo.province_url, prompt="consent"))
        expect(page.locator(ALLOW_BUTTON)).to_be_visible()
        audit.check(page, "consent, a person without a business")
    finally:
        context.close()
    audit.assert_clean()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_gateway_authenticator_pages(demo, browser, lang, audit):
    """TOTP set-up (QR code, a wrong code, recovery codes), the second-factor page of the next
    sign-in (and its error), then removing the app again (so the next language starts over)."""
    person = _account(demo, TOTP_PERSON_ID)
    context = _new_context(browser)
    try:
        page = context.new_page()
        _choose_language(page, demo, lang)
        page.goto(f"{demo.gateway_url}/login")
        _sign_in(page, person["personal_id"], person["password"])
        page.goto(f"{demo.gateway_url}/account/security")
        audit.check(page, "sign-in security, no app")
        page.locator("form:has(input[value=start]) button").click()
        expect(page.locator("code.secret")).to_be_visible()
        audit.check(page, "authenticator set-up")
        totp = pyotp.TOTP(page.locator("code.secret").inner_text().strip())
        page.fill("input[name=code]", "000000" if totp.now() != "000000" else "111111")
        page.locator("form:has(input[value=confirm]) button").click()
        audit.check(page, "authenticator set-up, wrong code")
        page.fill("input[name=code]", totp.now())
        page.locator("form:has(input[value=confirm]) button").click()
        expect(page.locator(".recovery-codes code")).to_have_count(10)
        audit.check(page, "recovery codes")
        page.goto(f"{demo.gateway_url}/account/security")
        audit.check(page, "sign-in security, app set up")

        second = _new_context(browser)
        try:
            other = second.new_page()
            _choose_language(other, demo, lang)
            other.goto(f"{demo.gateway_url}/login")
            _sign_in(other, person["personal_id"], person["password"])
            other.wait_for_url("**/login/second-factor**")
            audit.check(other, "second factor")
            other.fill("input[name=code]", "abc")
            other.locator("form:has(input[name=code]) button[type=submit]").click()
            audit.check(other, "second factor, wrong code")
        finally:
            second.close()

        page.fill("input[name=password]", person["password"])
        page.locator("form:has(input[value=remove]) button").click()
        expect(page.locator("form:has(input[value=start])")).to_be_visible()
    finally:
        context.close()
    audit.assert_clean()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_gateway_officer_pages(demo, browser, officer_state, lang, audit):
    """The commune officer's page: the search form, a person found, and an unknown number."""
    context = _new_context(browser, officer_state)
    try:
        page = context.new_page()
        _choose_language(page, demo, lang)
        page.goto(f"{demo.gateway_url}/officer")
        audit.check(page, "officer")
        page.fill("input[name=personal_id]", CONSENT_PERSON_ID)
        page.locator("form:has(input[name=personal_id]) button[type=submit]").first.click()
        expect(page.get_by_test_id("person-level").or_(page.get_by_test_id("refusal"))
               ).to_be_visible()
        audit.check(page, "officer, a person found")
        page.fill("input[name=personal_id]", "1")
        page.locator("form:has(input[name=personal_id]) button[type=submit]").first.click()
        audit.check(page, "officer, a wrong number")
    finally:
        context.close()
    audit.assert_clean()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_portal_pages(demo, browser, lang, audit):
    """Both portals signed out, signed in (single sign-on), their service and error pages, and
    the gateway's signed-out page after a portal's sign-out."""
    context = _new_context(browser)
    try:
        page = context.new_page()
        _choose_language(page, demo, lang)
        for url, label in [
            (demo.province_url, "province portal, signed out"),
            (demo.commune_url, "commune portal, signed out"),
            (f"{demo.province_url}/callback?error=access_denied&state=x", "portal error page"),
            (f"{demo.commune_url}/no-such-page", "portal 404"),
        ]:
            page.goto(url)
            audit.check(page, label)
    finally:
        context.close()

    # A sign-in of its own: the sign-out at the end ends this gateway session.
    person = _account(demo, PORTAL_PERSON_ID)
    context = _new_context(browser)
    try:
        page = context.new_page()
        _choose_language(page, demo, lang)
        page.goto(f"{demo.gateway_url}/login")
        _sign_in(page, person["personal_id"], person["password"])
        for portal_url, name in [(demo.province_url, "province"), (demo.commune_url, "commune")]:
            page.goto(f"{portal_url}/login")
            allow = page.locator(ALLOW_BUTTON)
            signed_in = page.get_by_test_id("sign-out")
            expect(allow.or_(signed_in)).to_be_visible()
            if allow.is_visible():
                allow.click()
            expect(signed_in).to_be_visible()
            audit.check(page, f"{name} portal, signed in")
        page.goto(f"{demo.province_url}/services/judicial-record")
        page.wait_for_load_state("load")
        audit.check(page, "province level-2 service, refused")
        page.goto(demo.province_url)
        page.get_by_test_id("sign-out").click()
        page.wait_for_load_state("load")
        audit.check(page, "after a portal's sign-out")
        expect(page.get_by_test_id("sign-in")).to_be_visible()
        audit.check(page, "province portal, signed out again")
    finally:
        context.close()
    audit.assert_clean()
