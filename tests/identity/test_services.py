"""Enrolling citizens (``identity.services``): validation, duplicates, hashed passwords (hashed
by the caller with ``accounts.passwords``: identity stores only the hash)."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.accounts.passwords import hash_password
from gateway.extensions import db
from gateway.identity.personal_id import InvalidPersonalID
from gateway.identity.services import (
    DuplicateCitizen,
    create_citizen,
    get_citizen_by_personal_id,
)

VALID = dict(personal_id="086090001234", family_name=" Nguyễn ", middle_name="Văn",
             given_name="An", birthdate=date(1990, 5, 12), gender="male")


def _valid(**changes):
    """``VALID`` with a freshly hashed password (in an application context)."""
    return {**VALID, "password_hash": hash_password("Correct-Horse-9"), **changes}


def test_create_citizen_stores_hash_and_opaque_subject(app):
    with app.app_context():
        citizen = create_citizen(**_valid())
        db.session.commit()
        assert citizen.password_hash.startswith("$argon2id$")
        assert "Correct-Horse-9" not in citizen.password_hash
        assert citizen.subject and citizen.personal_id not in citizen.subject  # RFC 9700 §2.6
        assert citizen.full_name == "Nguyễn Văn An"
        assert get_citizen_by_personal_id("086090001234").id == citizen.id
        assert "086090001234" not in repr(citizen)


def test_create_citizen_duplicate_refused(app):
    with app.app_context():
        create_citizen(**_valid())
        db.session.commit()
        with pytest.raises(DuplicateCitizen):
            create_citizen(**_valid())


@pytest.mark.parametrize(
    ("changes", "error"),
    [({"gender": "other"}, ValueError), ({"birthdate": date(1991, 5, 12)}, InvalidPersonalID),
     ({"gender": "female"}, InvalidPersonalID),
     ({"personal_id": "999090001234"}, InvalidPersonalID)],
    ids=["gender", "birthdate_mismatch", "sex_mismatch", "province"],
)
def test_create_citizen_invalid_refused(app, changes, error):
    with app.app_context():
        with pytest.raises(error):
            create_citizen(**_valid(**changes))


def test_short_password_refused_before_hashing(app):
    with app.app_context():
        with pytest.raises(ValueError):
            hash_password("short")


def test_create_citizen_without_password_cannot_sign_in(app, client):
    from tests.conftest import _csrf

    with app.app_context():
        create_citizen(**_valid(password_hash=None))
        db.session.commit()
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": _csrf(page.get_data(as_text=True)),
                                            "personal_id": "086090001234",
                                            "password": "Correct-Horse-9"})
    assert response.status_code == 401
