"""``/healthz`` and ``/readyz``: what a load balancer or an orchestrator probes on each node."""

from __future__ import annotations

import socket
import uuid

import pytest

from gateway import create_app
from gateway.extensions import db
from tests.conftest import ISSUER


def make_app(tmp_path, **config):
    app = create_app({
        "TESTING": True, "ENV": "development", "ISSUER": ISSUER,
        "SECRET_KEY": "test-secret-key-" + "x" * 32, "SESSION_COOKIE_SECURE": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'probe.db'}", **config,
    })
    return app


@pytest.fixture
def dispose():
    apps = []
    yield apps.append
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_lists_each_check_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok",
                                   "checks": {"database": "ok", "redis": "not configured"}}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_never_cached_and_set_no_cookie(client, path):
    response = client.get(path)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert response.mimetype == "application/json"


def test_healthz_answers_when_the_database_does_not_but_readyz_says_which_check_failed(
        tmp_path, dispose):
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db")
    dispose(app)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"status": "unavailable",
                                   "checks": {"database": "failed", "redis": "not configured"}}


def test_readyz_failure_never_shows_the_database_password(tmp_path, dispose, capsys):
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    password = "dsn-password-" + uuid.uuid4().hex
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=(
        f"postgresql+psycopg://gateway:{password}@127.0.0.1:{closed_port()}/gateway"
        "?connect_timeout=2"))
    dispose(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "failed"
    assert password not in response.get_data(as_text=True)
    captured = capsys.readouterr()
    assert "the database check failed" in captured.err
    assert password not in captured.err + captured.out


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_readyz_pings_redis_when_configured(tmp_path, dispose):
    pytest.importorskip("redis", reason="redis-py is not installed")
    if not _redis_answers():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    app = make_app(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
    dispose(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_unavailable_when_redis_does_not_answer(tmp_path, dispose, capsys):
    pytest.importorskip("redis", reason="redis-py is not installed")
    password = "redis-password-" + uuid.uuid4().hex
    app = make_app(tmp_path, REDIS_URL=f"redis://:{password}@127.0.0.1:{closed_port()}/0")
    dispose(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "redis": "failed"}
    assert password not in response.get_data(as_text=True)
    assert password not in capsys.readouterr().err


def test_request_id_from_the_caller_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42:1"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42:1"


@pytest.mark.parametrize("incoming", [None, "", "x" * 129, "has space", "semi;colon", "ünicode"])
def test_request_id_is_made_when_missing_or_unsafe(client, incoming):
    headers = {"X-Request-ID": incoming} if incoming is not None else {}
    response = client.get("/healthz", headers=headers)
    made = response.headers["X-Request-ID"]
    assert made != incoming
    assert str(uuid.UUID(made)) == made


def test_request_id_is_set_on_a_request_refused_before_any_view(client):
    response = client.get("/authorize", query_string={"client_id": "a\x00b"})
    assert response.status_code == 400
    assert uuid.UUID(response.headers["X-Request-ID"])
