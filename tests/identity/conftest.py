"""The fast fixtures of ``tests/conftest.py``, and ``people`` (``tests/people.py``)."""

from __future__ import annotations

import pytest

from tests.people import people  # noqa: F401  (a fixture)


@pytest.fixture(autouse=True)
def _fast_tests(fast_signing_keys, fast_sqlite, fast_password_hashing):
    """Reused keys and password hashes, fsync-free SQLite (``tests/conftest.py``)."""
