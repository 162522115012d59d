import pytest


@pytest.fixture(autouse=True)
def _fast_keys(fast_signing_keys):
    """Reused signing keys (see ``tests/conftest.py``)."""
