import pytest


@pytest.fixture(autouse=True)
def _fast_tests(fast_signing_keys, fast_sqlite, fast_password_hashing):
    """Reused keys and password hashes, fsync-free SQLite (``tests/conftest.py``)."""
