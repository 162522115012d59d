"""In-person verification at ``/officer`` (issue 4 §3; docs/domain.md §2: level 2 is given in person
at the commune): staff role, authenticator required, commune scope, Verification records."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from gateway.extensions import db
from gateway.identity.models import Citizen, Verification
from tests.people import form_post

PHUOC_HAU = "29557"
LONG_CHAU = "29551"


def _officer(people, unit=PHUOC_HAU, totp=True, **overrides):
    officer = people.citizen(level=2, personal_id="086180002468", family_name="Đặng",
                             middle_name="Thị", given_name="Mai", gender="female",
                             birthdate=date(1980, 3, 8), **overrides)
    people.grant(officer, "commune_officer", unit)
    if totp:
        people.enrol_totp(officer)
    return officer


def _level(app, person):
    with app.app_context():
        return db.session.get(Citizen, person["id"]).assurance_level


def test_officer_page_requires_sign_in(client):
    response = client.get("/officer")
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")


def test_officer_page_refuses_people_without_a_staff_role(client, people):
    person = people.citizen()
    people.sign_in(person)
    assert client.get("/officer").status_code == 403


def test_officer_without_authenticator_sent_to_enrol(client, people):
    officer = _officer(people, totp=False)
    people.sign_in(officer)
    response = client.get("/officer")
    assert response.status_code == 303
    assert "/account/security" in response.headers["Location"]


def test_officer_signed_in_without_second_factor_must_step_up(client, people, app):
    officer = _officer(people, totp=False)
    people.sign_in(officer)       # password only
    people.enrol_totp(officer)    # authenticator added afterwards: this session never used it
    response = client.get("/officer")
    assert response.status_code == 303
    assert "/login/second-factor" in response.headers["Location"]


def test_officer_verifies_resident_raises_to_level_2(app, client, people, clock):
    officer = _officer(people)
    resident = people.citizen(ward_code=PHUOC_HAU)
    people.sign_in(officer)
    page = form_post(client, "/officer", personal_id=resident["personal_id"])
    assert page.status_code == 200
    assert resident["name"] in page.get_data(as_text=True)
    response = form_post(client, "/officer", "/officer/verify", personal_id=resident["personal_id"],
                         document="chip_id_card")
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:500]
    assert "đã được xác thực: mức độ 2" in body
    assert _level(app, resident) == 2
    with app.app_context():
        record = db.session.scalar(select(Verification))
        assert (record.citizen_id, record.officer_id, record.unit_code, record.method,
                record.document, record.verified_at) == (
            resident["id"], officer["id"], PHUOC_HAU, "in_person", "chip_id_card", clock.now())
    recent = client.get("/officer").get_data(as_text=True)
    assert "Các lượt xác thực gần đây" in recent and resident["name"] in recent


def test_officer_verifies_resident_recorded_under_predecessor_commune(app, client, people):
    """Xã Phước Hậu (29596, before July 2025) is now part of Phường Phước Hậu (29557)."""
    officer = _officer(people)
    resident = people.citizen(ward_code="29596")
    people.sign_in(officer)
    form_post(client, "/officer", "/officer/verify",
              personal_id=resident["personal_id"], document="id_card")
    assert _level(app, resident) == 2


def test_officer_cannot_verify_resident_of_another_commune(app, client, people):
    officer = _officer(people)
    outsider = people.citizen(ward_code=LONG_CHAU)
    people.sign_in(officer)
    page = form_post(client, "/officer", personal_id=outsider["personal_id"])
    assert page.status_code == 403
    assert "không cư trú tại xã, phường của bạn" in page.get_data(as_text=True)
    assert outsider["name"] not in page.get_data(as_text=True)  # nothing shown about them
    # A forged POST is refused the same way.
    response = form_post(client, "/", "/officer/verify",
                         personal_id=outsider["personal_id"], document="chip_id_card")
    assert response.status_code == 403
    assert _level(app, outsider) == 1
    with app.app_context():
        assert db.session.scalar(select(Verification)) is None


def test_administrator_verifies_anyone(app, client, people):
    admin = people.citizen(level=2)
    people.grant(admin, "administrator")
    people.enrol_totp(admin)
    outsider = people.citizen(ward_code=LONG_CHAU)
    people.sign_in(admin)
    response = form_post(client, "/", "/officer/verify",
                         personal_id=outsider["personal_id"], document="passport")
    assert response.status_code == 200
    assert _level(app, outsider) == 2


def test_officer_verify_refuses_bad_input(app, client, people):
    officer = _officer(people)
    resident = people.citizen(ward_code=PHUOC_HAU)
    people.sign_in(officer)
    missing = form_post(client, "/", "/officer/verify",
                        personal_id=resident["personal_id"], document="")
    assert missing.status_code == 400
    assert "Vui lòng chọn giấy tờ đã kiểm tra" in missing.get_data(as_text=True)
    odd = form_post(client, "/", "/officer/verify",
                    personal_id=resident["personal_id"], document="library_card")
    assert odd.status_code == 400
    assert "Vui lòng chọn giấy tờ đã kiểm tra" in odd.get_data(as_text=True)
    assert "Not a valid choice" not in odd.get_data(as_text=True)
    unknown = form_post(client, "/", "/officer/verify", personal_id="086090099999",
                        document="chip_id_card")
    assert unknown.status_code == 404
    assert form_post(client, "/officer", personal_id="12ab").status_code == 400
    assert form_post(client, "/officer", personal_id="086090099999").status_code == 404
    assert client.post("/officer", data={"personal_id": resident["personal_id"]}
                       ).status_code == 400  # no CSRF token
    # The search is a POST: the personal ID number never appears in a URL.
    assert 'method="post"' in client.get("/officer").get_data(as_text=True)
    assert _level(app, resident) == 1


def test_officer_verify_already_level_2_refused(app, client, people):
    officer = _officer(people)
    resident = people.citizen(level=2, ward_code=PHUOC_HAU)
    people.sign_in(officer)
    response = form_post(client, "/", "/officer/verify",
                         personal_id=resident["personal_id"], document="chip_id_card")
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(Verification)) is None


def test_officer_verify_without_csrf_refused(app, client, people):
    officer = _officer(people)
    resident = people.citizen(ward_code=PHUOC_HAU)
    people.sign_in(officer)
    response = client.post("/officer/verify", data={"personal_id": resident["personal_id"],
                                                    "document": "chip_id_card"})
    assert response.status_code == 400
    assert _level(app, resident) == 1


def test_officer_recent_list_shows_only_own_commune(app, client, people):
    officer = _officer(people)
    other = people.citizen(level=2)
    people.grant(other, "commune_officer", LONG_CHAU)
    people.enrol_totp(other)
    outsider = people.citizen(ward_code=LONG_CHAU)
    with app.app_context():
        from gateway.identity.staff import verify_in_person

        verify_in_person(db.session.get(Citizen, other["id"]),
                         db.session.get(Citizen, outsider["id"]), "chip_id_card")
        db.session.commit()
    people.sign_in(officer)
    page = client.get("/officer").get_data(as_text=True)
    assert outsider["name"] not in page and "Chưa có lượt xác thực nào" in page


def test_officer_page_counts_enrolled_residents_per_level(client, people):
    officer = _officer(people)  # no commune recorded: not counted
    people.citizen(ward_code=PHUOC_HAU)
    people.citizen(ward_code="29554")  # Phường 4, merged into Phước Hậu
    people.citizen(level=2, ward_code=PHUOC_HAU)
    people.citizen(ward_code=LONG_CHAU)
    people.sign_in(officer)
    page = client.get("/officer").get_data(as_text=True)
    row = page[page.index('data-testid="counts-29557"'):]
    row = row[:row.index("</tr>")]
    assert "<td>2</td><td>1</td>" in row


def test_officer_home_page_links_to_officer_pages_for_staff_only(client, people):
    person = people.citizen()
    people.sign_in(person)
    assert 'href="/officer"' not in client.get("/").get_data(as_text=True)
    officer = _officer(people)
    people.sign_in(officer)
    assert 'href="/officer"' in client.get("/").get_data(as_text=True)
