"""Vietnamese by default, English by the visible switch or ``ui_locales`` (OIDC Core §3.1.2.1),
and a Vietnamese catalogue that stays complete (docs/domain.md §5: the words people expect).

The catalogue tests fail when a developer adds a string without extracting and translating it:

    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext \
        -o gateway/translations/messages.pot .
    .venv/bin/pybabel update -i gateway/translations/messages.pot -d gateway/translations
    # translate the new entries in gateway/translations/vi/LC_MESSAGES/messages.po
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.conftest import RelyingParty, _csrf

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "gateway"
TRANSLATIONS = GATEWAY / "translations"
POT = TRANSLATIONS / "messages.pot"
VI_PO = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"

#: The keywords of the documented extract command (``-k _l -k lazy_gettext``).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues():
    """Compile each ``.po`` whose ``.mo`` is missing or older (``.mo`` files are not committed).

    Written to a temporary file and renamed, so a test run in parallel never reads half a file.
    Flask-Babel caches loaded catalogues on the process-wide ``Babel`` object, across apps: a
    test that ran earlier in the session may have cached an old (or no) catalogue, so the cache
    is emptied here.
    """
    from gateway.extensions import babel

    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parent.parent.name)
        fd, tmp = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.chmod(tmp, 0o644)  # mkstemp makes it 0600; pybabel compile leaves it readable
            os.replace(tmp, mo_path)
        except BaseException:
            os.unlink(tmp)
            raise
    domain = babel.__dict__.get("domain_instance")  # a cached_property: set once first used
    if domain is not None:
        domain.cache.clear()


@pytest.fixture(autouse=True)
def _fast_keys(fast_signing_keys):
    """Reused signing keys (see ``tests/conftest.py``): these tests are about pages, not keys."""


def _page(response) -> str:
    return response.get_data(as_text=True)


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', html)
    assert match, html[:200]
    return match.group(1)


def _language_links(html: str) -> dict[str, str]:
    """``{"vi": href, "en": href}`` of the visible language switch."""
    links = re.findall(r'<a href="([^"]*)" lang="(vi|en)" hreflang', html)
    return {lang: href.replace("&amp;", "&") for href, lang in links}


def _read_catalog(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _msgid(message_id) -> str:
    return message_id[0] if isinstance(message_id, tuple | list) else message_id


# -- The sign-in page and the switch -------------------------------------------------------------

def test_sign_in_page_vietnamese_by_default(client):
    html = _page(client.get("/login"))
    assert _lang(html) == "vi"
    for words in ("Đăng nhập", "Số định danh cá nhân", "Mật khẩu",
                  "Ủy ban nhân dân tỉnh Vĩnh Long", "Định danh điện tử và đăng nhập một lần",
                  "Tương phản", "Sở Khoa học và Công nghệ"):
        assert words in html, words
    assert "Sign in" not in html and "Password" not in html


def test_lang_switch_english_remembered_on_next_page(client):
    html = _page(client.get("/login?lang=en"))
    assert _lang(html) == "en"
    assert "Sign in" in html and "Personal ID number" in html and "Password" in html
    assert "Đăng nhập" not in html

    html = _page(client.get("/"))  # no ?lang: the choice is remembered in the session
    assert _lang(html) == "en"
    assert "One electronic identity for every portal of Vinh Long" in html

    html = _page(client.get("/?lang=vi"))
    assert _lang(html) == "vi"
    assert _lang(_page(client.get("/login"))) == "vi"


def test_lang_switch_unsupported_language_ignored(client):
    html = _page(client.get("/login?lang=fr"))
    assert _lang(html) == "vi"


def test_lang_switch_marks_current_language_and_keeps_the_query(client):
    html = _page(client.get("/login?lang=en&interaction=abc"))
    links = _language_links(html)
    assert set(links) == {"vi", "en"}
    for lang, href in links.items():
        url = urlsplit(href)
        assert url.path == "/login" and not url.netloc and not url.scheme
        assert sorted(url.query.split("&")) == sorted(["interaction=abc", f"lang={lang}"])
    assert re.search(r'lang="en" hreflang="en" aria-current="true">English</a>', html)
    assert 'hreflang="vi" aria-current' not in html


@pytest.mark.parametrize(
    "query",
    ["endpoint=x", "_external=1&_scheme=javascript&a=%0Aalert(1)", "_anchor=x", "_method=POST"],
)
def test_lang_switch_query_keys_never_reach_url_for(client, query):
    """Query keys are copied into the links as data: ``?endpoint=`` once made ``url_for`` raise
    (a bare 500), and ``?_scheme=javascript&_external=1`` would have built a javascript: link."""
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    for href in _language_links(_page(response)).values():
        assert href.startswith("/?"), href


def test_lang_switch_on_unknown_path_goes_home(client):
    """``//host/x`` is a path to this gateway, never a protocol-relative link to another host."""
    response = client.get("//evil.example/x")
    assert response.status_code == 404
    for href in _language_links(_page(response)).values():
        assert href.startswith("/?lang="), href


# -- ui_locales of the authorization request -----------------------------------------------------

def _sign_in_page(rp, **params) -> str:
    _, response = rp.authorize(**params)
    assert response.status_code in (302, 303), _page(response)[:300]
    assert urlsplit(response.headers["Location"]).path == "/login"
    return _page(rp.http.get(response.headers["Location"]))


def test_ui_locales_en_shows_english_sign_in_page(rp):
    html = _sign_in_page(rp, ui_locales="en")
    assert _lang(html) == "en"
    assert "Sign in" in html and "Personal ID number" in html
    assert "asks you to sign in with your electronic identity" in html


@pytest.mark.parametrize(
    ("ui_locales", "lang"),
    [("fr vi", "vi"), ("fr-CA en-GB", "en"), ("en-US vi", "en"), ("de", "vi"), (None, "vi")],
)
def test_ui_locales_first_supported_language_wins(rp, ui_locales, lang):
    html = _sign_in_page(rp, ui_locales=ui_locales)
    assert _lang(html) == lang
    assert ("Số định danh cá nhân" in html) == (lang == "vi")


def test_ui_locales_overridden_by_the_switch(rp):
    """The person's own choice beats the relying party's hint."""
    rp.http.get("/?lang=vi")
    html = _sign_in_page(rp, ui_locales="en")
    assert _lang(html) == "vi" and "Đăng nhập" in html


def test_sign_in_page_names_the_agency_that_asks(client, factory):
    reg = factory.oauth_client(client_name="Sở Tư pháp <i>tỉnh</i>")
    html = _sign_in_page(RelyingParty(client, reg))
    assert ("<strong>Sở Tư pháp &lt;i&gt;tỉnh&lt;/i&gt;</strong> đề nghị bạn đăng nhập bằng "
            "tài khoản định danh điện tử.") in html
    assert "<i>tỉnh</i>" not in html


def test_sign_in_errors_in_vietnamese_and_tied_to_the_field(client):
    token = _csrf(_page(client.get("/login")))
    response = client.post("/login", data={"csrf_token": token, "personal_id": "12",
                                            "password": ""})
    html = _page(response)
    assert response.status_code == 400
    assert "Số định danh cá nhân phải gồm đúng 12 chữ số." in html
    assert "Vui lòng nhập mật khẩu." in html
    assert 'aria-describedby="personal_id_help personal_id_error"' in html
    assert 'id="personal_id_error" class="error" role="alert"' in html
    assert html.count('aria-invalid="true"') == 2


def test_consent_page_in_vietnamese_names_agency_and_lists_claims(rp):
    _, response = rp.authorize(scope="openid profile email personal_id")
    response = rp.login(response.headers["Location"])
    location = rp.http.get(response.headers["Location"]).headers["Location"]
    html = _page(rp.http.get(location))
    assert _lang(html) == "vi"
    assert "Đồng ý chia sẻ thông tin" in html
    assert "<strong>Agency app" in html and "đề nghị được nhận các thông tin sau của bạn" in html
    for claim in ("Mã định danh tài khoản của bạn tại cơ quan này",
                  "Họ, chữ đệm và tên; ngày, tháng, năm sinh; giới tính",
                  "Địa chỉ thư điện tử (email)", "Số định danh cá nhân"):
        assert f"<li>{claim}</li>" in html, claim
    assert "Số điện thoại" not in html  # phone was not asked for
    assert rp.citizen["name"] in html
    assert re.search(r'name="decision" value="allow"[^>]*>Đồng ý<', html)
    assert re.search(r'name="decision" value="deny"[^>]*>Từ chối<', html)


def test_consent_page_no_business_line_for_a_person_without_a_business(client, factory):
    """Issue 12: "Doanh nghiệp bạn đại diện" was listed for a person who represents no
    business (no "act for whom?" choice, so no business claim is released)."""
    reg = factory.oauth_client(scope="openid profile organisation")
    rp = RelyingParty(client, reg, factory.citizen())
    _, response = rp.authorize(scope="openid profile organisation")
    response = rp.login(response.headers["Location"])
    location = rp.http.get(response.headers["Location"]).headers["Location"]
    html = _page(rp.http.get(location))
    assert "Đồng ý chia sẻ thông tin" in html
    assert "Họ, chữ đệm và tên; ngày, tháng, năm sinh; giới tính" in html
    assert "Doanh nghiệp" not in html and "mã số thuế" not in html
    assert not re.search(r"<li[^>]*>\s*</li>", html)


def test_logout_with_nobody_signed_in_says_so_with_the_way_on(client):
    """Issue 12: GET /logout asked "Bạn muốn đăng xuất?" of a browser signed in nowhere."""
    for lang, title in (("vi", "Bạn chưa đăng nhập"), ("en", "You are not signed in")):
        html = _page(client.get(f"/logout?lang={lang}"))
        assert _lang(html) == lang
        assert f'<h1 id="page-title">{title}</h1>' in html
        assert 'name="confirm"' not in html
        assert 'href="/login"' in html and 'href="/"' in html


def test_favicon_served(client):
    """Issue 12: /favicon.ico was a 404 on every page view."""
    with client.get("/favicon.ico") as response:  # a file response: closed after reading
        assert response.status_code == 200
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file


# -- Error pages ---------------------------------------------------------------------------------

def test_error_page_unregistered_redirect_uri_vietnamese_by_default(rp):
    _, response = rp.authorize(redirect_uri="https://evil.example/cb")
    assert response.status_code == 400 and "Location" not in response.headers
    html = _page(response)
    assert _lang(html) == "vi"
    assert "Không thể xử lý yêu cầu" in html
    assert "không thể chấp nhận" in html and "không có thông tin nào của bạn" in html
    assert "Vui lòng liên hệ với cơ quan quản lý trang web đó." in html
    assert 'href="https://evil.example' not in html


def test_error_page_unregistered_redirect_uri_english_with_lang_en(rp):
    _, response = rp.authorize(redirect_uri="https://evil.example/cb", lang="en")
    assert response.status_code == 400 and "Location" not in response.headers
    html = _page(response)
    assert _lang(html) == "en"
    assert "The request could not be processed" in html
    assert "made a request this gateway cannot accept" in html
    assert "Please contact the agency that runs that site." in html


def test_error_page_unknown_client_says_so(client):
    response = client.get("/authorize", query_string={
        "response_type": "code", "client_id": "nobody", "scope": "openid",
        "redirect_uri": "https://rp.example.vn/cb"})
    html = _page(response)
    assert response.status_code == 400
    assert "chưa được đăng ký với hệ thống định danh điện tử này" in html
    assert "<code>invalid_client</code>" in html


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [("vi", "Không tìm thấy trang", "Không có trang nào ở địa chỉ này."),
     ("en", "Page not found", "There is no page at this address.")],
)
def test_error_page_not_found_in_both_languages(client, lang, title, text):
    response = client.get(f"/no-such-page?lang={lang}")
    html = _page(response)
    assert response.status_code == 404
    assert _lang(html) == lang and f"<h1 id=\"page-title\">{title}</h1>" in html and text in html


def test_error_page_expired_interaction_explains_what_to_do(client):
    html = _page(client.get("/login?interaction=expired-or-unknown"))
    assert "Trang đăng nhập này đã hết hạn hoặc được mở trên một trình duyệt khác." in html


# -- The catalogue -------------------------------------------------------------------------------

def _extract_msgids() -> set[str]:
    """What ``pybabel extract -F babel.cfg -k _l -k lazy_gettext .`` finds in the sources now."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {
        _msgid(message)
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }


def test_pot_up_to_date_with_sources():
    in_sources = _extract_msgids()
    in_pot = {_msgid(m.id) for m in _read_catalog(POT) if m.id}
    assert in_sources, "nothing extracted: is babel.cfg right?"
    assert in_sources - in_pot == set(), "new strings: re-extract messages.pot (module docstring)"
    assert in_pot - in_sources == set(), "strings gone from the sources: re-extract messages.pot"


def test_vi_po_matches_pot():
    in_pot = {_msgid(m.id) for m in _read_catalog(POT) if m.id}
    in_po = {_msgid(m.id) for m in _read_catalog(VI_PO, "vi") if m.id}
    assert in_pot - in_po == set(), "run pybabel update (module docstring)"
    assert in_po - in_pot == set(), "obsolete entries: run pybabel update"


def test_vi_po_every_msgid_translated():
    catalog = _read_catalog(VI_PO, "vi")
    assert catalog.locale_identifier == "vi"
    assert not catalog.obsolete
    untranslated = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        if message.fuzzy or not all(s and s.strip() for s in strings):
            untranslated.append(_msgid(message.id))
    assert untranslated == []


def test_vi_po_placeholders_and_markup_kept():
    """``%(name)s`` and the ``<strong>`` around it survive translation."""
    catalog = _read_catalog(VI_PO, "vi")
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert problems == []
    for message in catalog:
        if message.id:
            # A plural message (ngettext) has a tuple of forms: each keeps the markup.
            strings = message.string if isinstance(message.string, tuple | list) \
                else [message.string]
            for string in strings:
                assert re.findall(r"</?\w+>", _msgid(message.id)) == \
                    re.findall(r"</?\w+>", string), message.id


def test_compiled_catalogue_is_current():
    mo = VI_PO.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= VI_PO.stat().st_mtime


# -- What the pages may load (CSP ``default-src 'self'``) ----------------------------------------

TEMPLATES = sorted((GATEWAY / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(GATEWAY)))
def test_templates_load_nothing_inline_or_external(template):
    source = template.read_text(encoding="utf-8")
    assert not re.search(r"\sstyle\s*=", source), "style= attributes are blocked by the CSP"
    assert not re.search(r"<style", source, re.I)
    assert not re.search(r"<script(?![^>]*\bsrc=)", source, re.I), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", source, re.I), "inline event handler"
    assert not re.search(r"""(src|href)=["'](https?:)?//""", source), "external resource"
