"""People beyond ``factory.citizen`` for the identity and enrolment tests: levels, staff roles,
authenticators, sessions (the ``people`` fixture, imported by their ``conftest.py``), and
``form_post`` for pages with a CSRF token."""

from __future__ import annotations

import pyotp
import pytest

from tests.conftest import _csrf


def form_post(client, page_url, post_url=None, **data):
    """GET the page (for its CSRF token), then POST ``data`` to it."""
    page = client.get(page_url)
    assert page.status_code in (200, 400, 403, 404), page.status_code
    data.setdefault("csrf_token", _csrf(page.get_data(as_text=True)))
    return client.post(post_url or page_url, data=data)


class People:
    """Sets up people beyond ``factory.citizen``: levels, staff roles, authenticators, sessions."""

    def __init__(self, app, client, factory, clock):
        self.app, self.client, self.factory, self.clock = app, client, factory, clock

    def citizen(self, level=1, **overrides):
        person = self.factory.citizen(**overrides)
        if level >= 2:
            self.set_level(person, 2)
        return person

    def set_level(self, person, level):
        from gateway.extensions import db
        from gateway.identity.models import Citizen

        with self.app.app_context():
            db.session.get(Citizen, person["id"]).assurance_level = level
            db.session.commit()

    def grant(self, person, role, unit=None):
        from gateway.extensions import db
        from gateway.identity.models import Citizen
        from gateway.identity.staff import grant_role

        with self.app.app_context():
            grant_role(db.session.get(Citizen, person["id"]), role, unit)
            db.session.commit()

    def enrol_totp(self, person):
        from gateway.accounts import totp

        secret = pyotp.random_base32()
        with self.app.app_context():
            assert totp.enrol(person["id"], secret, pyotp.TOTP(secret).at(self.clock.now()))
        person["totp"] = secret
        return secret

    def sign_in(self, person, client=None):
        """Password, then the authenticator code when the person has one."""
        client = client or self.client
        response = form_post(client, "/login", personal_id=person["personal_id"],
                             password=person["password"])
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
        if person.get("totp"):
            self.clock.advance(30)  # a fresh time step: each code is accepted once
            code = pyotp.TOTP(person["totp"]).at(self.clock.now())
            response = form_post(client, "/login/second-factor", code=code)
            assert response.status_code == 303, response.get_data(as_text=True)[:300]
        return response


@pytest.fixture
def people(app, client, factory, clock):
    return People(app, client, factory, clock)
