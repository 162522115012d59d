"""Helpers for the sign-in tests: a browser that fetches the form and posts it back."""

from __future__ import annotations

import pytest

from tests.conftest import _csrf


@pytest.fixture(autouse=True)
def _fast_tests(fast_signing_keys, fast_sqlite, fast_password_hashing):
    """Reused keys and password hashes, fsync-free SQLite (``tests/conftest.py``)."""


class Browser:
    def __init__(self, client):
        self.http = client

    def sign_in(self, personal_id, password, path="/login?lang=en", csrf=True):
        page = self.http.get(path)
        data = {"personal_id": personal_id, "password": password}
        if csrf:
            data["csrf_token"] = _csrf(page.get_data(as_text=True))
        return self.http.post(path, data=data)


@pytest.fixture
def browser(client):
    return Browser(client)
