"""Command line: ``create-client``, ``rotate-keys``, ``init-db``, ``seed-demo``
(docs/contributing.md: dashed verbs; secrets shown once and stored hashed)."""

from __future__ import annotations

import json
import os
import stat

import pytest
from flask.cli import FlaskGroup
from sqlalchemy import text

from gateway.extensions import db


@pytest.fixture
def flask_command(app, runner):
    """Run a command the way ``flask --app gateway <command>`` does (FlaskGroup pushes the
    application context), rather than through ``app.cli`` directly."""
    group = FlaskGroup(create_app=lambda: app, add_default_commands=False, load_dotenv=False)

    def invoke(*args, **kwargs):
        return runner.invoke(group, list(args), **kwargs)

    return invoke


def _client_row(app, client_id):
    with app.app_context():
        return db.session.execute(
            text("SELECT client_secret, client_metadata FROM oauth2_clients "
                 "WHERE client_id = :c"), {"c": client_id},
        ).one_or_none()


def test_create_client_json_prints_secret_once_and_stores_hash(app, runner):
    result = runner.invoke(args=[
        "create-client", "--name", "Sở Tư pháp", "--redirect-uri", "https://stp.example.vn/cb",
        "--post-logout-redirect-uri", "https://stp.example.vn/", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["client_id"] and len(data["client_secret"]) >= 32
    assert data["redirect_uris"] == ["https://stp.example.vn/cb"]
    assert data["token_endpoint_auth_method"] == "client_secret_basic"
    stored_secret, metadata = _client_row(app, data["client_id"])
    assert stored_secret and data["client_secret"] not in stored_secret
    assert data["client_secret"] not in metadata


def test_create_client_registered_client_completes_flow(app, runner, client, factory):
    """The printed credentials work at the token endpoint."""
    from tests.oidc.conftest import TracingRelyingParty

    data = json.loads(runner.invoke(args=[
        "create-client", "--name", "App", "--redirect-uri", "https://app.example.vn/cb",
        "--scope", "openid profile", "--json"]).output)
    reg = {"client_id": data["client_id"], "client_secret": data["client_secret"],
           "redirect_uri": "https://app.example.vn/cb", "auth_method": "client_secret_basic"}
    TracingRelyingParty(client, reg, factory.citizen()).tokens()


def test_create_client_text_output_warns_secret_shown_once(runner):
    result = runner.invoke(args=["create-client", "--name", "App",
                                 "--redirect-uri", "https://app.example.vn/cb"])
    assert result.exit_code == 0
    assert "client_secret:" in result.output and "cannot be shown again" in result.output


def test_create_client_public_has_no_secret(app, runner):
    result = runner.invoke(args=["create-client", "--name", "SPA", "--auth-method", "none",
                                 "--redirect-uri", "http://127.0.0.1:8080/cb", "--json"])
    data = json.loads(result.output)
    assert data["client_secret"] is None
    assert _client_row(app, data["client_id"])[0] is None


@pytest.mark.parametrize(
    "args",
    [["--redirect-uri", "http://app.example.vn/cb"],  # http off loopback (RFC 9700 §2.6)
     ["--redirect-uri", "https://app.example.vn/cb#frag"],  # fragment (RFC 6749 §3.1.2)
     ["--redirect-uri", "app.example.vn/cb"],
     ["--redirect-uri", "https://app.example.vn/cb", "--grant-type", "password"],  # §2.4
     ["--redirect-uri", "https://app.example.vn/cb", "--grant-type", "implicit"],
     ["--redirect-uri", "https://app.example.vn/cb",
      "--post-logout-redirect-uri", "http://evil.example/"]],
    ids=["http", "fragment", "relative", "password_grant", "implicit_grant", "http_plru"],
)
def test_create_client_invalid_metadata_usage_error(app, runner, args):
    result = runner.invoke(args=["create-client", "--name", "App", "--json", *args])
    assert result.exit_code == 2, result.output
    with app.app_context():
        count = db.session.execute(text("SELECT count(*) FROM oauth2_clients")).scalar_one()
    assert count == 0


def test_create_client_duplicate_client_id_usage_error(runner):
    args = ["create-client", "--name", "App", "--redirect-uri", "https://a.example.vn/cb",
            "--client-id", "portal"]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and "already registered" in result.output


def test_rotate_keys_keeps_old_keys_published(client, runner):
    before = {key["kid"] for key in client.get("/jwks").get_json()["keys"]}
    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    after = {key["kid"] for key in client.get("/jwks").get_json()["keys"]}
    assert before < after and len(after) == 2 * len(before)


def test_rotate_keys_old_id_token_still_verifies_and_new_ones_use_new_key(rp, client, runner):
    """oidcc-server-rotate-keys: tokens signed before rotation verify against the new JWKS
    (``--now``: the conformance suite does not wait for ``KEY_ROTATION_DELAY``)."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    _, old = rp.tokens()
    assert runner.invoke(args=["rotate-keys", "--now"]).exit_code == 0
    jwks = KeySet.import_key_set(client.get("/jwks").get_json())
    old_token = jwt.decode(old["id_token"], jwks)
    _, new = rp.tokens()
    new_token = jwt.decode(new["id_token"], jwks)
    assert old_token.header["kid"] != new_token.header["kid"]
    _, response = rp.authorize(prompt="none", id_token_hint=old["id_token"])
    assert "code" in rp.redirect_result(response)


def test_init_db_creates_tables_and_keys_idempotent(app, flask_command):
    with app.app_context():
        db.drop_all()
    result = flask_command("init-db")
    assert result.exit_code == 0, result.output
    assert "2 new signing key(s)" in result.output
    result = flask_command("init-db")
    assert result.exit_code == 0 and "0 new signing key(s)" in result.output
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM signing_keys")).scalar_one() == 2


def test_init_db_runs_through_test_cli_runner(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output


def test_seed_demo_registers_portals_and_citizens(app, flask_command, tmp_path, client):
    out = tmp_path / "demo" / "clients.json"
    result = flask_command("seed-demo", "--write-clients", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    province, commune = data["province"], data["commune"]
    assert province["client_id"] == "province-portal" and province["client_secret"]
    assert commune["client_id"] == "commune-portal" and commune["client_secret"] is None
    assert len(data["citizens"]) == 5
    stored_secret, _ = _client_row(app, "province-portal")
    assert province["client_secret"] not in stored_secret
    # the demo accounts sign in
    from tests.conftest import _csrf

    citizen = data["citizens"][0]
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": _csrf(page.get_data(as_text=True)),
                                            "personal_id": citizen["personal_id"],
                                            "password": citizen["password"]})
    assert response.status_code == 303


def test_seed_demo_idempotent_and_resets_secret(app, flask_command, tmp_path):
    out = tmp_path / "clients.json"
    flask_command("seed-demo", "--write-clients", str(out))
    first = json.loads(out.read_text(encoding="utf-8"))["province"]["client_secret"]
    result = flask_command("seed-demo", "--write-clients", str(out),
                           "--province-url", "http://127.0.0.1:6001")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["province"]["client_secret"] != first
    with app.app_context():
        citizens = db.session.execute(text("SELECT count(*) FROM citizens")).scalar_one()
        clients = db.session.execute(text("SELECT count(*) FROM oauth2_clients")).scalar_one()
    assert (citizens, clients) == (5, 2)
    _, metadata = _client_row(app, "province-portal")
    assert "http://127.0.0.1:6001/callback" in metadata


def test_create_client_logout_uris_stored_with_session_required(runner):
    result = runner.invoke(args=[
        "create-client", "--name", "Portal", "--redirect-uri", "https://p.example.vn/cb",
        "--backchannel-logout-uri", "https://p.example.vn/backchannel-logout",
        "--frontchannel-logout-uri", "https://p.example.vn/frontchannel-logout", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["backchannel_logout_uri"] == "https://p.example.vn/backchannel-logout"
    assert data["backchannel_logout_session_required"] is True
    assert data["frontchannel_logout_session_required"] is True


def test_create_client_same_rules_as_registration_endpoint(app, runner):
    """One registry: what /register refuses (OIDC Core §8.1, pairwise subjects over several
    hosts without a sector_identifier_uri), create-client refuses too, storing nothing."""
    result = runner.invoke(args=[
        "create-client", "--name", "App", "--redirect-uri", "https://a.example.vn/cb",
        "--redirect-uri", "https://b.example.vn/cb"])
    assert result.exit_code == 2 and "sector_identifier_uri" in result.output
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM oauth2_clients")).scalar_one() == 0
