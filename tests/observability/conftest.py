"""Helpers for the operations tests: reading ``/metrics`` the way Prometheus does."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture(autouse=True)
def _fast_tests(fast_signing_keys, fast_sqlite, fast_password_hashing):
    """Reused keys and password hashes, fsync-free SQLite (``tests/conftest.py``)."""


def scrape(client, **environ) -> dict:
    """Every sample of ``GET /metrics``: ``{(name, frozenset(labels.items())): value}``."""
    response = client.get("/metrics", environ_base=environ)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class Metrics:
    """Counts from ``/metrics`` before and after: the counters are per process, shared by
    every app a test session makes, so tests compare differences."""

    def __init__(self, client):
        self.client = client
        self.before = scrape(client)

    def delta(self, name: str, **labels) -> float:
        return value(scrape(self.client), name, **labels) - value(self.before, name, **labels)


@pytest.fixture
def metrics(client):
    return Metrics(client)


@pytest.fixture
def browser(client):
    from tests.accounts.conftest import Browser

    return Browser(client)
