"""The provider on PostgreSQL, the database for deployments beyond one machine.

Creates and drops its own database on 127.0.0.1:5432; skips with a reason where none runs.
"""

from __future__ import annotations

import pytest

from tests.conftest import Factory, RelyingParty, build_app, create_postgresql_database


@pytest.fixture
def pg_database():
    yield from create_postgresql_database("gateway_test")


@pytest.fixture
def pg_app(pg_database, clock):
    yield from build_app(pg_database, clock)


def test_code_flow_and_code_replay_work_on_postgresql(pg_app):
    factory = Factory(pg_app)
    http = pg_app.test_client()
    rp = RelyingParty(http, factory.oauth_client(), factory.citizen())
    params, result = rp.code_flow()
    first = rp.token(result["code"])
    assert first.status_code == 200
    access_token = first.get_json()["access_token"]
    info = http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert info.get_json()["name"] == rp.citizen["name"]

    replay = rp.token(result["code"])
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    revoked = http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert revoked.status_code == 401


def test_prune_records_works_on_postgresql(pg_app):
    """``prune-records`` (tests/test_prune.py) on PostgreSQL: every kind's old rows go, fresh
    ones stay, in one transaction."""
    from gateway.extensions import db
    from tests.test_prune import CASES, row_key

    factory = Factory(pg_app)
    citizen = factory.citizen()
    now = pg_app.extensions["gateway.clock"].now()
    old, fresh = [], []
    for make in CASES.values():
        gone, kept = make(now, citizen["id"])
        old += gone
        fresh += kept
    with pg_app.app_context():
        db.session.add_all(old + fresh)
        db.session.commit()
        old = [row_key(row) for row in old]
        fresh = [row_key(row) for row in fresh]
    result = pg_app.test_cli_runner().invoke(args=["prune-records"])
    assert result.exit_code == 0, result.output
    with pg_app.app_context():
        assert not any(db.session.get(model, row_id) for model, row_id in old)
        assert all(db.session.get(model, row_id) for model, row_id in fresh)
