"""Served over https behind a TLS-terminating proxy (docs/operations.md#serving): the forms
work with ``Referrer-Policy: no-referrer`` (no ``Referer``, ``Origin: null``), a form sent from
another origin is refused by the origin check that replaces Flask-WTF's Referer check, and HSTS
is sent on https responses only (RFC 6797 §7.2). The same in a browser, through nginx:
tests/live/test_tls_proxy_browser.py."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gateway import create_app
from gateway.extensions import db
from tests.conftest import (
    REDIS_URL,
    TEST_DATABASE,
    TEST_KEY_ENCRYPTION_KEY,
    _csrf,
    build_app,
)

HTTPS_ISSUER = "https://id.example.vn"
#: What Chromium sends with a form of a page under ``Referrer-Policy: no-referrer`` (Fetch
#: standard, "serializing a request origin"): no Referer, ``Origin: null``, Fetch Metadata.
OWN_FORM = {"Origin": "null", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
#: The proxy's headers (nginx as docs/operations.md configures it); the test client is its peer.
PROXIED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
           "X-Forwarded-Host": "id.example.vn"}
HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture(autouse=True)
def _fast_tests(fast_signing_keys, fast_sqlite, fast_password_hashing):
    """Reused keys and password hashes, fsync-free SQLite (``tests/conftest.py``)."""


class ClientAt(FlaskClient):
    """A test client whose requests go to ``base_url`` (scheme and host), cookies included."""

    def __init__(self, *args, base_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.base_url = base_url

    def open(self, *args, **kwargs):
        if args and isinstance(args[0], str):
            kwargs.setdefault("base_url", self.base_url)
        return super().open(*args, **kwargs)


def client_at(app, base_url: str) -> ClientAt:
    return ClientAt(app, app.response_class, use_cookies=True, base_url=base_url)


@pytest.fixture
def app(request, tmp_path, clock):
    """The ``app`` fixture's gateway, with an https issuer, Secure cookies and one proxy."""
    config = {"ISSUER": HTTPS_ISSUER, "SESSION_COOKIE_SECURE": True, "TRUSTED_PROXY_COUNT": 1,
              "PREFERRED_URL_SCHEME": "https"}
    if TEST_DATABASE == "postgresql":
        url = request.getfixturevalue("_suite_postgresql")
        new_prefix = request.getfixturevalue("_suite_redis")
        yield from build_app(url, clock, empty=True, config={
            **config, "REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": new_prefix()})
    else:
        yield from build_app(f"sqlite:///{tmp_path / 'test.db'}", clock, config=config)


@pytest.fixture
def https(app):
    """A browser talking https to the gateway itself (no proxy)."""
    return client_at(app, HTTPS_ISSUER)


@pytest.fixture
def proxied(app):
    """A browser whose requests reach the gateway through the TLS proxy."""
    client = client_at(app, "http://127.0.0.1:8000")
    client.environ_base.update({"HTTP_" + k.upper().replace("-", "_"): v
                                for k, v in PROXIED.items()})
    return client


def _sign_in(client, citizen, headers=None, token=True):
    page = client.get("/login?lang=en")
    assert page.status_code == 200
    data = {"personal_id": citizen["personal_id"], "password": citizen["password"]}
    if token:
        data["csrf_token"] = _csrf(page.get_data(as_text=True))
    return client.post("/login?lang=en", data=data, headers=headers or {})


def _signed_in(client, citizen) -> bool:
    return citizen["name"] in client.get("/?lang=en").get_data(as_text=True)


@pytest.mark.parametrize("headers", [OWN_FORM, {}, {"Origin": HTTPS_ISSUER},
                                     {"Origin": "https://ID.example.vn:443"},
                                     {"Sec-Fetch-Site": "same-origin", "Origin": HTTPS_ISSUER},
                                     {"Referer": HTTPS_ISSUER + "/login?lang=en"}],
                         ids=["chromium_no_referrer", "no_origin_no_referer", "same_origin",
                              "same_origin_default_port", "fetch_metadata", "own_referer"])
@pytest.mark.parametrize("via", ["https", "proxied"])
def test_https_form_without_referer_signs_in(request, factory, via, headers):
    """Over https with no Referer (as ``no-referrer`` makes every form), the sign-in form works
    (Flask-WTF's ``WTF_CSRF_SSL_STRICT`` refused it: "The referrer header is missing")."""
    client = request.getfixturevalue(via)
    citizen = factory.citizen()
    response = _sign_in(client, citizen, headers)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert "gw_sso=" in response.headers.get("Set-Cookie", "")
    assert _signed_in(client, citizen)


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://id.example.vn"},  # the same host over plain http
    {"Origin": "https://id.example.vn:8443"},
    {"Origin": "https://portal.example.vn"},  # a sibling on the same site
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},  # a sandboxed frame elsewhere
    {"Referer": "https://evil.example/page"},
    {"Origin": HTTPS_ISSUER, "Referer": "https://evil.example/page"},
], ids=["foreign_origin", "http_origin", "other_port", "sibling_origin", "origin_beats_metadata",
        "cross_site", "same_site", "null_origin_cross_site", "foreign_referer",
        "foreign_referer_own_origin"])
@pytest.mark.parametrize("via", ["https", "proxied"])
def test_form_from_another_origin_refused_even_with_a_valid_token(request, factory, via,
                                                                  headers):
    client = request.getfixturevalue(via)
    citizen = factory.citizen()
    response = _sign_in(client, citizen, headers)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<html" in body and "sent from another site" in body  # the project's error page
    assert "gw_sso=" not in response.headers.get("Set-Cookie", "")
    assert not _signed_in(client, citizen)


def test_token_still_required_from_the_own_origin(https, factory):
    citizen = factory.citizen()
    response = _sign_in(https, citizen, OWN_FORM, token=False)
    assert response.status_code == 400
    assert not _signed_in(https, citizen)


def test_signout_from_another_origin_refused(https, factory):
    citizen = factory.citizen()
    assert _sign_in(https, citizen, OWN_FORM).status_code == 303
    token = _csrf(https.get("/?lang=en").get_data(as_text=True))
    response = https.post("/signout", data={"csrf_token": token},
                          headers={"Origin": "https://evil.example"})
    assert response.status_code == 400 and _signed_in(https, citizen)
    response = https.post("/signout", data={"csrf_token": token}, headers=OWN_FORM)
    assert response.status_code == 200 and not _signed_in(https, citizen)


def test_confirmed_logout_from_another_origin_refused(https, factory):
    """``/logout`` is exempt from the global check (relying parties post to it from their
    sites, and are sent on by GET) but its confirmation form is checked the same way."""
    citizen = factory.citizen()
    assert _sign_in(https, citizen, OWN_FORM).status_code == 303
    page = https.get("/logout?lang=en")
    assert page.status_code == 200
    data = {"csrf_token": _csrf(page.get_data(as_text=True)), "confirm": "yes"}
    response = https.post("/logout", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 400 and _signed_in(https, citizen)
    response = https.post("/logout", data=data, headers=OWN_FORM)
    assert response.status_code == 200 and not _signed_in(https, citizen)


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect", "/register"])
def test_protocol_endpoints_not_origin_checked(proxied, path):
    """Clients call these server to server (or from their own origin): an ``Origin`` is no
    reason to refuse; they answer their own JSON errors (no client authentication here)."""
    response = proxied.post(path, data={"token": "x", "grant_type": "authorization_code"},
                            headers={"Origin": "https://evil.example",
                                     "Sec-Fetch-Site": "cross-site"})
    assert response.is_json and response.status_code in (400, 401), response.status_code
    assert response.headers["Strict-Transport-Security"] == HSTS


def test_authorize_post_from_a_relying_party_continues_by_get(proxied):
    response = proxied.post("/authorize", data={"client_id": "x"},
                            headers={"Origin": "https://portal.example.vn",
                                     "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/authorize?client_id=x")


# -- HSTS ---------------------------------------------------------------------------------------

def _production_app(tmp_path, **config):
    return create_app({
        "ENV": "production", "ISSUER": HTTPS_ISSUER, "SECRET_KEY": "s" * 48,
        "SESSION_COOKIE_SECURE": True, "PAIRWISE_SALT": "p" * 24,
        "KEY_ENCRYPTION_KEY": TEST_KEY_ENCRYPTION_KEY, "TRUSTED_PROXY_COUNT": 1,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'production.db'}", **config,
    })


@pytest.fixture
def production(tmp_path):
    app = _production_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_hsts_on_https_through_the_proxy_only(production):
    client = client_at(production, "http://127.0.0.1:8000")
    through_proxy = client.get("/no-such-page", headers=PROXIED)
    assert through_proxy.status_code == 404
    assert through_proxy.headers["Strict-Transport-Security"] == HSTS
    # Plain http (the proxy said so, or no proxy at all): never HSTS (RFC 6797 §7.2).
    plain = client.get("/no-such-page", headers={**PROXIED, "X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers
    assert "Strict-Transport-Security" not in client.get("/no-such-page").headers
    direct = client_at(production, HTTPS_ISSUER).get("/no-such-page")
    assert direct.headers["Strict-Transport-Security"] == HSTS


def test_production_proxy_fix_gives_the_clients_address_and_the_public_url(production):
    from flask import request

    seen = {}

    @production.get("/_probe")
    def probe():
        seen.update(addr=request.remote_addr, url=request.url, secure=request.is_secure)
        return ""

    client = client_at(production, "http://127.0.0.1:8000")
    # A client's own X-Forwarded-For comes first; the proxy appends the address it saw.
    client.get("/_probe", headers={**PROXIED, "X-Forwarded-For": "10.9.9.9, 203.0.113.7"})
    assert seen == {"addr": "203.0.113.7", "url": HTTPS_ISSUER + "/_probe", "secure": True}


def test_no_proxy_trusted_by_default(tmp_path):
    app = _production_app(tmp_path, TRUSTED_PROXY_COUNT=0)
    response = client_at(app, "http://127.0.0.1:8000").get("/no-such-page",
                                                                     headers=PROXIED)
    assert "Strict-Transport-Security" not in response.headers
    with app.app_context():
        db.engine.dispose()


def test_forwarded_headers_believed_from_the_proxy_only(tmp_path):
    """``TRUSTED_PROXY_NETWORKS``: a client reaching the server directly cannot choose the
    address the throttles count, nor pretend to be https."""
    from flask import request

    app = _production_app(tmp_path, TRUSTED_PROXY_NETWORKS=["10.20.0.5"])
    seen = {}

    @app.get("/_probe")
    def probe():
        seen.update(addr=request.remote_addr, secure=request.is_secure)
        return ""

    client = client_at(app, "http://127.0.0.1:8000")
    direct = client.get("/_probe", headers=PROXIED, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert seen == {"addr": "192.0.2.1", "secure": False}
    assert "Strict-Transport-Security" not in direct.headers
    proxied = client.get("/_probe", headers=PROXIED, environ_base={"REMOTE_ADDR": "10.20.0.5"})
    assert seen == {"addr": "203.0.113.7", "secure": True}
    assert proxied.headers["Strict-Transport-Security"] == HSTS
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("networks", ["10.0.0.1", [], ["not-an-address"]])
def test_bad_trusted_proxy_networks_refused(tmp_path, networks):
    from gateway.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="TRUSTED_PROXY_NETWORKS"):
        _production_app(tmp_path, TRUSTED_PROXY_NETWORKS=networks)
