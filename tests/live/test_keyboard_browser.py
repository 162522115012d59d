"""Keyboard only, text at 200 %, on a 320 px wide screen (issue 12 item 5): from the province
portal, sign in at the gateway, consent, come back signed in, and sign out.

Only ``Tab``, ``Shift+Tab``, ``Enter``, ``Space`` and typing move through the pages. The 200 %
is the browser's own text size (Chromium's default font size 32 px instead of 16 px, set with the
DevTools protocol's ``Page.setFontSizes``; what a person sets in the browser's settings), not a
page zoom: every page is checked to have a 32 px root font size. At every element the focus
lands on, the test asserts (WCAG 2.2 SC 2.4.7 "Focus Visible", 2.4.11 "Focus Not Obscured") that
the element is on screen and not covered, and that its look when focused (outline, box shadow,
border, background, colour, underline) differs from its look when not focused; on every page
that nothing is wider than the screen (SC 1.4.10 "Reflow", 1.4.4 "Resize Text").

A module of its own, so its demo is fresh: the citizen meets the portal for the first time and is
asked for consent.
"""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from clients.kit.i18n import STRINGS
from tests.live.conftest import BROWSER_TIMEOUT

CHROMIUM = Path("/usr/bin/chromium")  # the same browser the ``browser`` fixture launches

pytestmark = [
    pytest.mark.live,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

WIDTH = 320
#: Chromium's default ("medium") font size is 16 px: 200 % text is 32 px.
FONT_SIZE_PX = 32
MAX_TABS = 40
SIGNED_OUT = STRINGS["vi"]["signed_out"]  # "Bạn đã đăng xuất."

#: What "looks focused" is made of, read from the computed style.
STYLE_OF = """el => { const s = getComputedStyle(el);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderTopColor,
          s.borderBottomWidth, s.backgroundColor, s.color, s.textDecorationLine].join(' | '); }"""

#: Records how the focused element looks, how every other focusable element looks unfocused,
#: and whether the focused element can be seen.
OBSERVE = """([styleOf, selector]) => {
  const style = eval(styleOf);
  const kb = window.__kb || (window.__kb = {unfocused: new Map(), focused: new Map()});
  const active = document.activeElement;
  for (const el of document.querySelectorAll(
      'a[href], button, input, select, textarea, summary, [tabindex]')) {
    if (el !== active && !kb.unfocused.has(el)) kb.unfocused.set(el, style(el));
  }
  if (!active || active === document.body) return {tag: 'body', matches: false};
  kb.focused.set(active, style(active));
  const r = active.getBoundingClientRect();
  const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
    && r.top < window.innerHeight && r.left < window.innerWidth;
  const x = Math.min(Math.max(r.left + r.width / 2, 0), window.innerWidth - 1);
  const y = Math.min(Math.max(r.top + r.height / 2, 0), window.innerHeight - 1);
  const top = document.elementFromPoint(x, y);
  return {
    tag: active.tagName.toLowerCase(),
    text: (active.innerText || active.value || active.name || '').trim().slice(0, 60),
    matches: active.matches(selector),
    onScreen, covered: !(top && (top === active || active.contains(top) || top.contains(active))),
  };
}"""

#: Every element that had the focus and has left it: looked the same both ways?
SAME_LOOK = """() => {
  const kb = window.__kb; const same = [];
  for (const [el, look] of kb.focused) {
    if (el === document.activeElement) continue;
    const plain = kb.unfocused.get(el);
    if (plain !== undefined && plain === look)
      same.push((el.tagName + ' ' + (el.innerText || el.name || '')).trim().slice(0, 60));
  }
  return same;
}"""


class KeyboardUser:
    def __init__(self, page: Page):
        self.page = page
        self.visited: list[str] = []
        self.checked = 0  # elements whose focused and unfocused looks were compared
        self.counted_here = 0

    def arrive(self, url_glob: str) -> None:
        """A new page: 200 % text, nothing wider than the screen."""
        page = self.page
        page.wait_for_url(url_glob)
        page.wait_for_load_state("load")
        font = page.evaluate("getComputedStyle(document.documentElement).fontSize")
        assert font == f"{FONT_SIZE_PX}px", (page.url, font)
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1] <= WIDTH, (page.url, "sideways scrolling", widths)
        self.visited.append(page.url)
        self.counted_here = 0

    def press(self, key: str) -> None:
        """``key`` on the focused control, which loads another page (or the same one again)."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)

    def tab_to(self, selector: str) -> None:
        """Tab until the focus is on ``selector``, checking
        every element the focus passes."""
        page = self.page
        seen = []
        for _ in range(MAX_TABS):
            state = page.evaluate(OBSERVE, [STYLE_OF, selector])
            if state["tag"] != "body":
                seen.append(f"{state['tag']} {state['text']!r}")
                assert state["onScreen"], (page.url, "focused element off screen", seen[-1])
                assert not state["covered"], (page.url, "focused element covered", seen[-1])
            if state["matches"]:
                break
            page.keyboard.press("Tab")
        else:
            pytest.fail(f"{selector} not reached with Tab on {page.url}; focus went: {seen}")
        # The element reached is compared now (as it looked before the focus came), the ones
        # passed on the way as soon as the focus left them.
        if page.evaluate("!window.__kb.unfocused.has(document.activeElement)"):
            # Focused since the page loaded (autofocus): see it unfocused once, and come back.
            page.keyboard.press("Shift+Tab")
            page.evaluate(OBSERVE, [STYLE_OF, selector])
            page.keyboard.press("Tab")
            state = page.evaluate(OBSERVE, [STYLE_OF, selector])
            assert state["matches"], (page.url, "Shift+Tab, Tab did not come back", state)
        same = page.evaluate(SAME_LOOK)
        target_plain = page.evaluate("window.__kb.unfocused.get(document.activeElement)")
        target_look = page.evaluate(f"({STYLE_OF})(document.activeElement)")
        if target_plain == target_look:
            same.append(f"{seen[-1]} (the target)")
        assert not same, (page.url, "no visible focus indicator on", same)
        self.checked += page.evaluate("window.__kb.focused.size") - self.counted_here
        self.counted_here = page.evaluate("window.__kb.focused.size")


def _keyboard_page(browser) -> Page:
    context = browser.new_context(locale="vi-VN", viewport={"width": WIDTH, "height": 640})
    context.set_default_timeout(BROWSER_TIMEOUT)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": FONT_SIZE_PX, "fixed": 26}})
    return page


def _sign_in_from_province_portal(user: KeyboardUser, demo, citizen: dict) -> None:
    page = user.page
    page.goto(demo.province_url)  # typing the address
    user.arrive(f"{demo.province_url}/")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    user.tab_to("[data-testid=sign-in]")
    user.press("Enter")

    user.arrive(f"{demo.gateway_url}/login?**")
    user.tab_to("#personal_id")
    page.keyboard.type(citizen["personal_id"])
    page.keyboard.press("Tab")
    user.tab_to("#password")
    page.keyboard.type(citizen["password"])
    user.tab_to("form:has(#password) button[type=submit]")
    user.press("Enter")


def test_keyboard_only_sign_in_consent_sign_out_at_200_percent_text_320px(demo, browser):
    citizen = demo.citizens[0]
    page = _keyboard_page(browser)
    context = page.context
    user = KeyboardUser(page)
    try:
        _sign_in_from_province_portal(user, demo, citizen)

        user.arrive(f"{demo.gateway_url}/consent?**")
        expect(page.get_by_role("heading", level=1)).to_have_text("Đồng ý chia sẻ thông tin")
        user.tab_to("button[name=decision][value=allow]")
        user.press("Space")

        user.arrive(f"{demo.province_url}/")
        expect(page.get_by_test_id("claim-name")).to_have_text(citizen["name"])
        user.tab_to("[data-testid=sign-out]")
        user.press("Enter")

        # RP-initiated logout with id_token_hint: the gateway signs out and sends the browser
        # back (through its signed-out page when a portal has a front-channel logout URI).
        # (The portal's home is the page the sign-out started from too: wait for the notice.)
        expect(page.get_by_role("status")).to_have_text(SIGNED_OUT)
        user.arrive(f"{demo.province_url}/")
        user.tab_to("[data-testid=sign-in]")
        assert len(user.visited) == 5, user.visited
        # Every element the focus went through: the header's controls, links and fields included.
        assert user.checked >= 20, user.checked
    finally:
        context.close()


def test_keyboard_only_qr_alternative_and_authenticator_set_up(demo, browser):
    """The QR sign-in's controls are reached with Tab on the sign-in page; after signing in, the
    authenticator app is set up with the keyboard alone (the key is read off the screen)."""
    citizen = demo.citizens[2]
    page = _keyboard_page(browser)
    user = KeyboardUser(page)
    try:
        page.goto(f"{demo.province_url}/login")
        user.arrive(f"{demo.gateway_url}/login?**")
        expect(page.get_by_test_id("qr-login")).to_be_visible()
        user.tab_to("[data-testid=qr-url]")
        user.tab_to("#qr-complete button")

        _sign_in_from_province_portal(user, demo, citizen)
        user.arrive(f"{demo.gateway_url}/consent?**")
        user.tab_to("button[name=decision][value=allow]")
        user.press("Enter")
        user.arrive(f"{demo.province_url}/")
        expect(page.get_by_test_id("sign-out")).to_be_visible()

        page.goto(f"{demo.gateway_url}/account/security")  # typing the address
        user.arrive(f"{demo.gateway_url}/account/security")
        user.tab_to("form:has(input[value=start]) button")
        user.press("Enter")
        user.arrive(f"{demo.gateway_url}/account/security")
        secret = page.locator("code.secret").inner_text().strip()
        user.tab_to("#code")
        page.keyboard.type(pyotp.TOTP(secret).now())
        user.press("Enter")  # submits the form the field is in
        user.arrive(f"{demo.gateway_url}/account/security")
        expect(page.locator(".recovery-codes code")).to_have_count(10)
    finally:
        page.context.close()
