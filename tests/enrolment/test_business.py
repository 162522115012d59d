"""Businesses and who acts for them (issue 4 §4; docs/domain.md §2-§3): a level-2 person registers a
business and becomes its legal representative; a legal representative or head authorises and
revokes people until a date."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from gateway.extensions import db
from gateway.identity.models import Business, Representation
from tests.people import form_post

TAX_CODE = "1500456787"


def _register(client, tax_code=TAX_CODE, name="Công ty TNHH Phát Đạt", **extra):
    return form_post(client, "/business/new", tax_code=tax_code, name=name, **extra)


def _representations(app):
    with app.app_context():
        return [(r.citizen_id, r.role, r.valid_until, r.revoked_at is not None)
                for r in db.session.scalars(select(Representation).order_by(Representation.id))]


def test_business_register_makes_legal_representative(app, client, people):
    owner = people.citizen(level=2)
    people.sign_in(owner)
    response = _register(client, ward_code="29557")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert response.headers["Location"].endswith(f"/business/{TAX_CODE}")
    page = client.get(f"/business/{TAX_CODE}").get_data(as_text=True)
    assert "Công ty TNHH Phát Đạt" in page and "Người đại diện theo pháp luật" in page
    listing = client.get("/business").get_data(as_text=True)
    assert "Công ty TNHH Phát Đạt" in listing
    with app.app_context():
        business = db.session.scalar(select(Business))
        assert (business.tax_code, business.ward_code, business.created_by_id) == (
            TAX_CODE, "29557", owner["id"])
    assert _representations(app) == [(owner["id"], "legal_representative", None, False)]


def test_business_branch_tax_code_normalised(app, client, people):
    people.sign_in(people.citizen(level=2))
    assert _register(client, tax_code="0314409058002").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Business.tax_code)) == "0314409058-002"


def test_business_register_refused_below_level_2(app, client, people):
    people.sign_in(people.citizen(level=1))
    page = client.get("/business/new")
    assert page.status_code == 403
    assert "mức độ 2" in page.get_data(as_text=True)
    response = form_post(client, "/", "/business/new", tax_code=TAX_CODE, name="X")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Business)) is None


@pytest.mark.parametrize("tax_code, name, message, status", [
    ("0100233480", "Công ty A", "Mã số thuế không hợp lệ", 400),
    ("12345", "Công ty A", "Mã số thuế không hợp lệ", 400),
    ("086088004321", "Công ty A", "Mã số thuế không hợp lệ", 400),
    ("", "Công ty A", "Vui lòng nhập mã số thuế", 400),
    (TAX_CODE, "", "Vui lòng nhập tên doanh nghiệp", 400),
])
def test_business_register_invalid_input_refused(app, client, people, tax_code, name, message,
                                                 status):
    people.sign_in(people.citizen(level=2))
    response = _register(client, tax_code=tax_code, name=name)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Business)) is None


def test_business_register_unknown_ward_refused(app, client, people):
    people.sign_in(people.citizen(level=2))
    response = _register(client, ward_code="99999")
    assert response.status_code == 400
    assert "xã, phường của tỉnh Vĩnh Long" in response.get_data(as_text=True)


def test_business_register_duplicate_refused(app, client, people, factory):
    people.sign_in(people.citizen(level=2))
    assert _register(client).status_code == 303
    response = _register(client, name="Công ty khác")
    assert response.status_code == 409
    assert "đã được đăng ký" in response.get_data(as_text=True)


def test_business_pages_need_sign_in(client):
    assert client.get("/business").status_code == 303
    assert client.get("/business/new").status_code == 303


def test_business_page_refused_to_non_members(app, client, people):
    owner = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    stranger = people.citizen(level=2)
    people.sign_in(stranger)
    assert client.get(f"/business/{TAX_CODE}").status_code == 403
    assert client.get("/business/0100233488").status_code == 404
    assert client.get("/business/not-a-code").status_code == 404


def _authorise(client, personal_id, until="2027-12-31"):
    return form_post(client, f"/business/{TAX_CODE}", f"/business/{TAX_CODE}/authorise",
                     personal_id=personal_id, valid_until=until)


def test_business_authorise_and_revoke(app, client, people):
    owner = people.citizen(level=2)
    helper = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    response = _authorise(client, helper["personal_id"])
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    page = client.get(f"/business/{TAX_CODE}").get_data(as_text=True)
    assert helper["name"] in page and "Người được ủy quyền" in page and "31/12/2027" in page
    assert _representations(app)[1] == (helper["id"], "authorised", date(2027, 12, 31), False)
    with app.app_context():
        rep_id = db.session.scalar(select(Representation.id).where(
            Representation.role == "authorised"))
    response = form_post(client, f"/business/{TAX_CODE}", f"/business/{TAX_CODE}/revoke",
                         representation_id=str(rep_id))
    assert response.status_code == 303
    assert _representations(app)[1][3] is True
    assert "Đã thu hồi" in client.get(f"/business/{TAX_CODE}").get_data(as_text=True)


@pytest.mark.parametrize("who, until, message, status", [
    ("086090099999", "2027-12-31", "Không có tài khoản định danh điện tử nào", 404),
    ("level1", "2027-12-31", "mới ở mức độ 1", 400),
    ("level2", "2020-01-01", "từ hôm nay trở đi", 400),
    ("level2", "", "Vui lòng chọn ngày hết hạn", 400),
    ("12ab", "2027-12-31", "đúng 12 chữ số", 400),
    ("owner", "2027-12-31", "đã được đại diện", 409),
])
def test_business_authorise_refused(app, client, people, who, until, message, status):
    owner = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    personal_id = {"level1": lambda: people.citizen(level=1)["personal_id"],
                   "level2": lambda: people.citizen(level=2)["personal_id"],
                   "owner": lambda: owner["personal_id"]}.get(who, lambda: who)()
    response = _authorise(client, personal_id, until)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert len(_representations(app)) == 1


def test_business_authorised_person_cannot_authorise_others(app, client, people):
    owner = people.citizen(level=2)
    helper = people.citizen(level=2)
    third = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    _authorise(client, helper["personal_id"])
    people.sign_in(helper)
    page = client.get(f"/business/{TAX_CODE}").get_data(as_text=True)
    assert "Ủy quyền cho một người" not in page
    response = form_post(client, "/", f"/business/{TAX_CODE}/authorise",
                         personal_id=third["personal_id"], valid_until="2027-12-31")
    assert response.status_code == 403
    assert len(_representations(app)) == 2


def test_business_revoke_refuses_unknown_or_legal_representative(app, client, people):
    owner = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    with app.app_context():
        legal_id = db.session.scalar(select(Representation.id))
    for value in (str(legal_id), "999", "abc", "-1", "3000000000", "9" * 25):
        response = form_post(client, f"/business/{TAX_CODE}", f"/business/{TAX_CODE}/revoke",
                             representation_id=value)
        assert response.status_code == 404, value
    assert _representations(app)[0][3] is False


def test_business_authorisation_expires_after_valid_until(app, client, people, clock):
    owner = people.citizen(level=2)
    helper = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    _authorise(client, helper["personal_id"], until="2027-01-15")  # today, in Vietnam
    people.sign_in(helper)
    assert client.get(f"/business/{TAX_CODE}").status_code == 200
    clock.advance(9 * 3600)  # 2027-01-16 00:00 in Vietnam
    people.sign_in(helper)
    assert client.get(f"/business/{TAX_CODE}").status_code == 403
    assert "chưa đại diện cho doanh nghiệp nào" in client.get("/business").get_data(as_text=True)


def _appoint_head(client, personal_id, until=""):
    return form_post(client, f"/business/{TAX_CODE}", f"/business/{TAX_CODE}/authorise",
                     personal_id=personal_id, valid_until=until, role="head")


def test_business_legal_representative_appoints_head_who_manages_without_end_date(
    app, client, people
):
    """docs/domain.md §2: the head (người đứng đầu) acts for the business and, like the legal
    representative, authorises people; appointed by the legal representative, open-ended."""
    owner = people.citizen(level=2)
    head = people.citizen(level=2)
    third = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    response = _appoint_head(client, head["personal_id"])
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert _representations(app)[1] == (head["id"], "head", None, False)
    people.sign_in(head)
    page = client.get(f"/business/{TAX_CODE}").get_data(as_text=True)
    assert "Người đứng đầu" in page and "Ủy quyền cho một người" in page
    assert _authorise(client, third["personal_id"]).status_code == 303
    assert _representations(app)[2][:2] == (third["id"], "authorised")


def test_business_only_legal_representative_appoints_or_removes_the_head(app, client, people):
    owner = people.citizen(level=2)
    head = people.citizen(level=2)
    other = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    _appoint_head(client, head["personal_id"])
    people.sign_in(head)
    response = _appoint_head(client, other["personal_id"])
    assert response.status_code == 403
    assert "Chỉ người đại diện theo pháp luật" in response.get_data(as_text=True)
    with app.app_context():
        head_id = db.session.scalar(select(Representation.id).where(Representation.role == "head"))
    response = form_post(client, f"/business/{TAX_CODE}", f"/business/{TAX_CODE}/revoke",
                         representation_id=str(head_id))
    assert response.status_code == 403
    assert len(_representations(app)) == 2 and _representations(app)[1][3] is False
    people.sign_in(owner)
    response = form_post(client, f"/business/{TAX_CODE}", f"/business/{TAX_CODE}/revoke",
                         representation_id=str(head_id))
    assert response.status_code == 303
    assert _representations(app)[1][3] is True


def test_business_unknown_role_refused(app, client, people):
    owner = people.citizen(level=2)
    people.sign_in(owner)
    _register(client)
    response = form_post(client, f"/business/{TAX_CODE}", f"/business/{TAX_CODE}/authorise",
                         personal_id=people.citizen(level=2)["personal_id"],
                         valid_until="2027-12-31", role="legal_representative")
    assert response.status_code == 400
    assert "Vui lòng chọn một vai trò" in response.get_data(as_text=True)
    assert len(_representations(app)) == 1
