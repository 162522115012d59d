"""Versioned schema (Alembic revisions in gateway/migrations, through Flask-Migrate) and
``init-db``, which creates or upgrades any database the gateway meets: empty, versioned, or made
by ``db.create_all`` at release 6ab3e3e before migrations existed.

The other tests build their tables with ``db.create_all`` (tests/conftest.py, for speed); these
check that the revisions produce exactly that schema, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from gateway.extensions import db
from gateway.schema import (
    RELEASE_REVISION,
    RELEASE_SCHEMA,
    alembic_config,
    current_revision,
    head_revision,
    schema_differences,
)
from tests.conftest import Factory, build_app, create_postgresql_database

RELEASE_DDL = Path(__file__).parent / "data" / "schema_6ab3e3e_sqlite.sql"


def bare_app(database_uri, clock):
    """The gateway on ``database_uri`` without tables (build_app makes them with create_all)."""
    yield from build_app(database_uri, clock, tables=False)


@pytest.fixture
def empty_app(tmp_path, clock):
    yield from bare_app(f"sqlite:///{tmp_path / 'gateway.db'}", clock)


@pytest.fixture
def pg_empty_app(clock):
    for database_uri in create_postgresql_database("gateway_migrations"):
        yield from bare_app(database_uri, clock)


def init_db(app):
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    return result.output


def columns(app):
    with app.app_context():
        inspector = inspect(db.engine)
        return {table: {c["name"] for c in inspector.get_columns(table)}
                for table in inspector.get_table_names() if table != "alembic_version"}


def test_migrations_upgrade_head_on_empty_sqlite_matches_models(empty_app):
    with empty_app.app_context():
        command.upgrade(alembic_config(), "head")
        assert current_revision() == head_revision()
        assert schema_differences() == []


def test_migrations_upgrade_head_on_empty_postgresql_matches_models(pg_empty_app):
    with pg_empty_app.app_context():
        command.upgrade(alembic_config(), "head")
        assert current_revision() == head_revision()
        assert schema_differences() == []
    assert "Database: schema at revision" in init_db(pg_empty_app)


def test_migrations_downgrade_to_base_and_upgrade_again(empty_app):
    with empty_app.app_context():
        config = alembic_config()
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
        command.upgrade(config, "head")
        assert schema_differences() == []


def test_migrations_release_revision_has_release_schema(empty_app):
    """Revision 1 is the schema of release 6ab3e3e: the one gateway.schema recognises."""
    with empty_app.app_context():
        command.upgrade(alembic_config(), RELEASE_REVISION)
    assert columns(empty_app) == {t: set(c) for t, c in RELEASE_SCHEMA.items()}


def test_migrations_release_create_all_ddl_has_release_schema(empty_app):
    """The recorded create_all DDL of 6ab3e3e (tests/data) is that same schema."""
    with empty_app.app_context():
        db.engine.raw_connection().executescript(RELEASE_DDL.read_text(encoding="utf-8"))
    assert columns(empty_app) == {t: set(c) for t, c in RELEASE_SCHEMA.items()}


def test_init_db_on_empty_database_creates_head_and_keys(empty_app):
    output = init_db(empty_app)
    assert "schema created at revision" in output and "2 new signing key(s)" in output
    with empty_app.app_context():
        assert current_revision() == head_revision()
        assert schema_differences() == []


def test_init_db_twice_is_harmless(empty_app):
    init_db(empty_app)
    output = init_db(empty_app)
    assert "nothing to do" in output and "0 new signing key(s)" in output
    with empty_app.app_context():
        assert current_revision() == head_revision()
        assert db.session.execute(text("SELECT count(*) FROM signing_keys")).scalar_one() == 2


def _insert_release_rows(app, clock):
    """A citizen, a client and an opaque access token, as release 6ab3e3e stored them."""
    from gateway.oidc.models import digest

    factory = Factory(app)
    citizen = factory.citizen()
    oauth_client = factory.oauth_client()
    access_token = secrets.token_urlsafe(32)
    with app.app_context():
        db.session.execute(
            text("INSERT INTO tokens (access_token_digest, client_id, citizen_id, token_type, "
                 "scope, issued_at, expires_in) VALUES (:d, :c, :u, 'Bearer', "
                 "'openid profile', :now, 3600)"),
            {"d": digest(access_token), "c": oauth_client["client_id"], "u": citizen["id"],
             "now": int(clock.now())},
        )
        db.session.commit()
    return citizen, oauth_client, access_token


def _assert_rows_survive(app, citizen, oauth_client, access_token):
    from gateway.identity.models import Citizen
    from gateway.oidc.claims import get_subject
    from gateway.oidc.models import OAuth2Client, Token

    with app.app_context():
        record = db.session.get(Citizen, citizen["id"])
        assert record.subject == citizen["subject"]
        registered = db.session.query(OAuth2Client).filter_by(
            client_id=oauth_client["client_id"]).one()
        subject = get_subject(record, registered)
        token = db.session.query(Token).one()
        assert token.access_token_format == "opaque" and token.family_id is None
    info = app.test_client().get("/userinfo",
                                 headers={"Authorization": f"Bearer {access_token}"})
    assert info.status_code == 200, info.get_data(as_text=True)
    assert info.get_json()["sub"] == subject


def test_init_db_upgrades_release_revision_keeping_rows(empty_app, clock):
    with empty_app.app_context():
        command.upgrade(alembic_config(), RELEASE_REVISION)
    rows = _insert_release_rows(empty_app, clock)

    output = init_db(empty_app)
    assert f"schema upgraded from revision {RELEASE_REVISION}" in output
    with empty_app.app_context():
        assert current_revision() == head_revision()
        assert schema_differences() == []
    _assert_rows_survive(empty_app, *rows)


def test_init_db_upgrades_release_revision_keeping_rows_on_postgresql(pg_empty_app, clock):
    with pg_empty_app.app_context():
        command.upgrade(alembic_config(), RELEASE_REVISION)
    rows = _insert_release_rows(pg_empty_app, clock)

    assert "schema upgraded from revision" in init_db(pg_empty_app)
    with pg_empty_app.app_context():
        assert schema_differences() == []
    _assert_rows_survive(pg_empty_app, *rows)


def test_init_db_stamps_and_upgrades_release_create_all_database(empty_app, clock):
    """A deployed database: create_all at 6ab3e3e, no alembic_version."""
    with empty_app.app_context():
        db.engine.raw_connection().executescript(RELEASE_DDL.read_text(encoding="utf-8"))
    rows = _insert_release_rows(empty_app, clock)

    output = init_db(empty_app)
    with empty_app.app_context():
        assert f"stamped at revision {RELEASE_REVISION}, upgraded to {head_revision()}" in output
        assert current_revision() == head_revision()
        assert schema_differences() == []
    _assert_rows_survive(empty_app, *rows)
    assert "nothing to do" in init_db(empty_app)


def test_init_db_stamps_and_upgrades_release_database_on_postgresql(pg_empty_app, clock):
    """Revision 1 without alembic_version stands for create_all at 6ab3e3e on PostgreSQL."""
    with pg_empty_app.app_context():
        command.upgrade(alembic_config(), RELEASE_REVISION)
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
    rows = _insert_release_rows(pg_empty_app, clock)

    assert f"stamped at revision {RELEASE_REVISION}" in init_db(pg_empty_app)
    with pg_empty_app.app_context():
        assert current_revision() == head_revision()
        assert schema_differences() == []
    _assert_rows_survive(pg_empty_app, *rows)


def test_init_db_stamps_current_create_all_database_at_head(app):
    """A database create_all made from the current models (e.g. a demo instance): stamped."""
    output = init_db(app)
    with app.app_context():
        assert f"stamped at revision {head_revision()}" in output
        assert current_revision() == head_revision()


def test_init_db_refuses_unknown_unversioned_schema_unchanged(empty_app):
    with empty_app.app_context():
        db.engine.raw_connection().executescript(RELEASE_DDL.read_text(encoding="utf-8"))
        with db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE tokens ADD COLUMN family_id VARCHAR(64)"))
    before = columns(empty_app)
    result = empty_app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1
    assert "neither that of release 6ab3e3e nor the current one" in result.output
    assert "  add_column tokens.access_token_format\n" in result.output
    assert columns(empty_app) == before


def test_flask_db_commands_available_to_operators(empty_app):
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with empty_app.app_context():
        assert current_revision() == head_revision()
    assert runner.invoke(args=["db", "check"]).exit_code == 0
