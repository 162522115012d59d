"""Fixtures for the sample portals' kit, in process; no gateway is needed.

Where a view must reach the gateway, ``unreachable_issuer`` names a local port that refuses
connections, so the portal's behaviour when the gateway is down is what gets tested.
"""

from __future__ import annotations

import os
import socket

import pytest

from clients.kit import create_portal_app, load_settings


@pytest.fixture
def unreachable_issuer():
    # Bound but not listening: connections are refused at once, and no other process can
    # take the port while the test runs.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def clean_environ(monkeypatch):
    """No PORTAL_* from the developer's shell: the portals read only what the test sets."""
    for name in list(os.environ):
        if name.startswith("PORTAL_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def portal_environ(unreachable_issuer) -> dict[str, str]:
    return {
        "PORTAL_ISSUER": unreachable_issuer,
        "PORTAL_CLIENT_ID": "test-portal",
        "PORTAL_CLIENT_SECRET": "test-secret",
        "PORTAL_BASE_URL": "http://127.0.0.1:5001",
        "PORTAL_SECRET_KEY": "test-secret-key",
    }


@pytest.fixture
def app(portal_environ):
    settings = load_settings(environ=portal_environ, session_cookie_name="test_portal_session")
    app = create_portal_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def signed_in(client):
    """Sign the test client in as a level-2 citizen, as /callback would have stored it."""
    claims = {"sub": "pairwise-sub-1", "name": "Nguyễn Văn An", "acr": "LoA2",
              "personal_id": "086090001234"}
    with client.session_transaction() as session:
        session["claims"] = claims
        session["id_token"] = "header.payload.signature"
        session["csrf_token"] = "known-csrf-token"
    return claims
