"""Sign-in while the hot store (Redis) is unreachable: the throttle cannot be checked, so the
person gets the error page with 503 and ``Retry-After`` — never a sign-in past the limit."""

from __future__ import annotations

from gateway.stores import hot
from tests.stores.helpers import redis_down


def test_login_answers_503_page_when_redis_is_unreachable(app, browser, factory):
    citizen = factory.citizen()
    redis_down(app)
    response = browser.sign_in(citizen["personal_id"], citizen["password"])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert citizen["personal_id"] not in html
    assert "gw_sso" not in response.headers.get("Set-Cookie", "")


def test_login_outage_log_holds_no_personal_id_number(app, browser, factory, caplog):
    citizen = factory.citizen()
    redis_down(app)
    browser.sign_in(citizen["personal_id"], citizen["password"])
    assert "hot store unavailable" in caplog.text
    assert citizen["personal_id"] not in caplog.text


def test_login_throttle_holds_on_redis(app, browser):
    """The same limits, counted in Redis (keys under the prefix, the number only as a digest)."""
    from gateway.stores import hot
    from tests.stores.helpers import REDIS_URL, redis_store

    with redis_store() as store:
        app.config.update(REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=store.prefix)
        hot.init_app(app)
        for _ in range(5):
            assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 401
        assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 429
        keys = [key.decode() for key in store.client.scan_iter(match=store.prefix + "*")]
        assert len(keys) == 2 and not any("086090999999" in key for key in keys)
        assert all(0 < store.client.pttl(key) <= 300_000 for key in keys)
        app.extensions[hot.EXTENSION].client.close()


def test_qr_decision_answers_503_page_when_redis_is_unreachable(app, client, factory):
    """The phone's approval cannot be counted against its limit: nothing is decided."""
    from urllib.parse import urlsplit

    from tests.accounts.test_qr_login import Desktop, open_on_phone, record_of, sign_in_phone
    from tests.conftest import RelyingParty, _csrf

    rp = RelyingParty(client, factory.oauth_client(), factory.citizen())
    desktop = Desktop(rp)
    phone = app.test_client()
    sign_in_phone(phone, rp.citizen)
    page = open_on_phone(phone, desktop)
    working = app.extensions[hot.EXTENSION]  # where the QR record is
    redis_down(app)
    response = phone.post(urlsplit(desktop.qr_url).path, data={
        "csrf_token": _csrf(page.get_data(as_text=True)), "decision": "approve"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    app.extensions[hot.EXTENSION] = working  # back up: nothing was decided meanwhile
    assert record_of(app, desktop.code).status == "scanned"
