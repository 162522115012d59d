"""Sign-in while the hot store (Redis) is unreachable: the throttle cannot be checked, so the
person gets the error page with 503 and ``Retry-After`` — never a sign-in past the limit."""

from __future__ import annotations

from gateway.stores import backends, hot
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
    from gateway.stores import backends, hot
    from tests.stores.helpers import REDIS_URL, redis_store

    with redis_store() as store:
        app.config.update(REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=store.prefix)
        backends.init_app(app)
        for _ in range(5):
            assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 401
        assert browser.sign_in("086090999999", "Wrong-password-1").status_code == 429
        keys = [key.decode() for key in store.client.scan_iter(match=store.prefix + "*")]
        assert len(keys) == 2 and not any("086090999999" in key for key in keys)
        assert all(0 < store.client.pttl(key) <= 300_000 for key in keys)
        app.extensions[hot.EXTENSION].client.close()


def test_limiter_counts_in_the_configured_redis(app, browser, factory):
    """Flask-Limiter's counters — the decorated QR decision limit and the sign-in limits it
    counts mid-view — are entries of the app's hot store: with Redis, keys under its prefix
    (namespace ``limits``) holding the counts, and nothing in ``hot_entries``."""
    from sqlalchemy import func, select

    from gateway.stores.limits import key_digest, limit, limiter
    from gateway.stores.sql import HotEntry
    from tests.accounts.test_qr_login import Desktop, decide, sign_in_phone
    from tests.conftest import RelyingParty
    from tests.stores.helpers import REDIS_URL, redis_store

    with redis_store() as store:
        app.config.update(REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=store.prefix)
        backends.init_app(app)
        rp = RelyingParty(app.test_client(), factory.oauth_client(), factory.citizen())
        phone = app.test_client()
        sign_in_phone(phone, rp.citizen)
        assert decide(phone, Desktop(rp), "deny").status_code == 200
        assert browser.sign_in(rp.citizen["personal_id"], "Wrong-password-1").status_code == 401

        counters = {key.decode()[len(store.prefix):]: int(store.client.get(key))
                    for key in store.client.scan_iter(match=store.prefix + "limits:*")}
        with app.test_request_context():
            window = app.config["QR_LOGIN_RATE_WINDOW"]
            decision_key = limit(app.config["QR_LOGIN_MAX_DECISIONS"], window).key_for(
                str(rp.citizen["id"]), "qr-decisions")
            failure_key = limit(app.config["LOGIN_THROTTLE_ATTEMPTS"],
                                app.config["LOGIN_THROTTLE_WINDOW"]).key_for(
                "login-failures-id", key_digest(rp.citizen["personal_id"]))
            assert limiter.storage.get(decision_key) == 1  # read through the extension
        assert counters["limits:" + decision_key] == 1
        assert counters["limits:" + failure_key] == 1
        with app.app_context():
            from gateway.extensions import db

            assert db.session.scalar(select(func.count()).select_from(HotEntry)) == 0
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


def test_qr_decision_counted_after_the_view_answers_503_when_redis_fails_then(app, rp):
    """Flask-Limiter counts a decision after the view (``deduct_when``, an ``after_request``
    hook). If Redis fails just then, the phone still gets the 503 page with ``Retry-After``, not
    a 500; the decision itself was already made (as when the count came last in the view)."""
    from tests.accounts.test_qr_login import Desktop, open_on_phone, record_of, sign_in_phone
    from tests.conftest import _csrf

    class CountsFail:
        """The app's hot store, except that counting a limit finds Redis gone."""

        def __init__(self, store):
            self.store = store

        def __getattr__(self, name):
            return getattr(self.store, name)

        def incr(self, ns, key, ttl, amount=1):
            if ns == "limits":
                raise hot.HotStoreUnavailable("Redis is unreachable (ConnectionError)")
            return self.store.incr(ns, key, ttl, amount)

    from urllib.parse import urlsplit

    desktop, phone = Desktop(rp), app.test_client()
    sign_in_phone(phone, rp.citizen)
    page = open_on_phone(phone, desktop)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: no test-client re-raise
    app.extensions[hot.EXTENSION] = CountsFail(app.extensions[hot.EXTENSION])
    response = phone.post(urlsplit(desktop.qr_url).path, data={
        "csrf_token": _csrf(page.get_data(as_text=True)), "decision": "deny"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "Hệ thống đang gặp sự cố" in response.get_data(as_text=True)  # the 503 page
    app.extensions[hot.EXTENSION] = app.extensions[hot.EXTENSION].store
    assert record_of(app, desktop.code).status == "denied"
