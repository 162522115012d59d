"""Self-registration at ``/signup`` (issue 4 §2; docs/domain.md §2-§3): level 1, rules on the ID
number, minimum age, duplicates, one transaction, then signed in."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from gateway.extensions import db
from gateway.identity.models import Citizen
from tests.people import form_post

# The frozen clock (tests/conftest.py) is 2027-01-15 in Vietnam.
GOOD = dict(personal_id="086095001122", family_name="Phạm", middle_name="Minh",
            given_name="Tâm", birthdate="1995-04-30", gender="male", ward_code="29557",
            email="tam@example.vn", phone_number="0901234567", password="Mat-khau-2025",
            confirm="Mat-khau-2025")


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Citizen.id)))


def test_signup_page_in_vietnamese_and_english(client):
    vi = client.get("/signup").get_data(as_text=True)
    assert "Đăng ký" in vi and "Số định danh cá nhân" in vi and "Phường Phước Hậu" in vi
    en = client.get("/signup?lang=en").get_data(as_text=True)
    assert "Register an electronic identity" in en


def test_login_page_links_to_signup(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/signup"' in page and "Đăng ký" in page


def test_signup_creates_level_1_and_signs_in(app, client):
    response = form_post(client, "/signup", **GOOD)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("/signup/done")
    done = client.get("/signup/done").get_data(as_text=True)
    assert "Phạm Minh Tâm" in done and "Mức độ 1" in done
    with app.app_context():
        citizen = db.session.scalar(select(Citizen).where(Citizen.personal_id == GOOD[
            "personal_id"]))
        assert citizen.assurance_level == 1 and citizen.ward_code == "29557"
        assert citizen.birthdate == date(1995, 4, 30) and citizen.gender == "male"
        assert citizen.password_hash.startswith("$argon2id$")
    assert "Phạm Minh Tâm" in client.get("/").get_data(as_text=True)


def test_signup_during_authorization_returns_to_it(client, factory):
    from tests.conftest import RelyingParty

    rp = RelyingParty(client, factory.oauth_client())
    _, response = rp.authorize()
    interaction = response.headers["Location"].split("interaction=")[1]
    signup_url = f"/signup?interaction={interaction}"
    response = form_post(client, signup_url, **GOOD)
    assert response.status_code == 303
    assert f"/authorize/resume/{interaction}" in response.headers["Location"]
    assert "code" in rp.follow_to_callback(response)  # consent, then back to the client


@pytest.mark.parametrize("change, message", [
    ({"personal_id": "08609500112"}, "đúng 12 chữ số"),
    ({"personal_id": "x"}, "đúng 12 chữ số"),
    ({"personal_id": "086"}, "đúng 12 chữ số"),
    ({"personal_id": "999095001122"}, "mã tỉnh"),
    ({"personal_id": "086096001122"}, "năm sinh"),
    ({"personal_id": "086195001122"}, "giới tính"),
    ({"gender": "female"}, "giới tính"),
    ({"birthdate": "2030-01-01", "personal_id": "086230001122"}, "tương lai"),
    ({"birthdate": "2013-06-01", "personal_id": "086213001122"}, "ít nhất 14 tuổi"),
    ({"birthdate": ""}, "ngày sinh"),
    ({"birthdate": "x"}, "ngày có thật"),
    ({"birthdate": "1995-02-30"}, "ngày có thật"),
    ({"gender": "other"}, "Vui lòng chọn giới tính"),
    ({"ward_code": "12345"}, "danh sách"),
    ({"ward_code": ""}, "xã, phường"),
    ({"family_name": "  "}, "họ"),
    ({"email": "not-an-email"}, "email"),
    ({"phone_number": "12345"}, "số điện thoại"),
    ({"password": "short", "confirm": "short"}, "ít nhất 8 ký tự"),
    ({"confirm": "Something-else-1"}, "không giống nhau"),
])
def test_signup_invalid_input_refused_nothing_created(app, client, change, message):
    before = _count(app)
    response = form_post(client, "/signup", **{**GOOD, **change})
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:500]
    assert message in body.lower() or message in body, body[body.find('class="error"'):][:600]
    assert _count(app) == before
    assert client.get_cookie("gw_sso") is None


def test_signup_minimum_age_is_14_on_the_birthday(app, client, clock):
    """Decree 69/2024: a person registers their own account from 14 (docs/domain.md §2)."""
    # 2027-01-15 in Vietnam: born 2013-01-15 is exactly 14, born 2013-01-16 is not yet.
    young = {**GOOD, "personal_id": "086213001122", "birthdate": "2013-01-16"}
    assert form_post(client, "/signup", **young).status_code == 400
    ok = {**GOOD, "personal_id": "086213001122", "birthdate": "2013-01-15"}
    assert form_post(client, "/signup", **ok).status_code == 303


def test_signup_duplicate_id_refused(app, client, factory):
    existing = factory.citizen(personal_id="086095001122", birthdate=date(1995, 4, 30))
    response = form_post(client, "/signup", **GOOD)
    assert response.status_code == 400
    assert "đã có tài khoản" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Citizen, existing["id"]).given_name != "Tâm"


def test_signup_in_english_explains_the_age_rule(client):
    young = {**GOOD, "personal_id": "086213001122", "birthdate": "2013-06-01"}
    body = form_post(client, "/signup?lang=en", **young).get_data(as_text=True)
    assert "at least 14 years old" in body


def test_signup_without_csrf_refused(app, client):
    response = client.post("/signup", data=GOOD)
    assert response.status_code == 400
    assert _count(app) == 0
