"""Sign-in while the hot store (Redis) is unreachable: the throttle cannot be checked, so the
person gets the error page with 503 and ``Retry-After`` — never a sign-in past the limit."""

from __future__ import annotations

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
