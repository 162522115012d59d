"""Signing-key rotation that signs nobody out (next → active → retired → gone, by times), and
private keys encrypted at rest (``KEY_ENCRYPTION_KEY``), through HTTP and the CLI."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import Fernet
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import text

from gateway import create_app
from gateway.extensions import db
from tests.conftest import ISSUER, TEST_KEY_ENCRYPTION_KEY
from tests.oidc.conftest import TracingRelyingParty, basic, bearer

OFFLINE = {"scope": "openid profile offline_access", "prompt": "consent"}


def _cli(runner, *args):
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _keys(runner) -> dict:
    """``list-keys --json`` by kid."""
    return {key["kid"]: key for key in json.loads(_cli(runner, "list-keys", "--json"))}


def _published(client) -> set[str]:
    return {key["kid"] for key in client.get("/jwks").get_json()["keys"]}


def _key_set(client) -> KeySet:
    return KeySet.import_key_set(client.get("/jwks").get_json())


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _active(runner, kty) -> str:
    [kid] = [kid for kid, key in _keys(runner).items()
             if key["kty"] == kty and key["state"] == "active"]
    return kid


def _refresh(party, refresh_token):
    return party.http.post("/token", data={"grant_type": "refresh_token",
                                           "refresh_token": refresh_token},
                           headers=basic(party.reg["client_id"], party.reg["client_secret"]))


@pytest.fixture
def resource_server(runner) -> dict:
    output = _cli(runner, "create-client", "--name", "API Sở Tư pháp", "--redirect-uri",
                  "https://api.stp.vinhlong.gov.vn/callback", "--resource-server", "--json")
    return json.loads(output)


def _introspect(client, server, token) -> dict:
    return client.post("/introspect", data={"token": token},
                       headers=basic(server["client_id"], server["client_secret"])).get_json()


def test_key_rotation_mid_session_keeps_everyone_signed_in_and_every_token_valid(
        app, client, factory, runner, clock, resource_server):
    delay = app.config["KEY_ROTATION_DELAY"]
    citizen = factory.citizen()
    offline = dict(grant_types=["authorization_code", "refresh_token"])
    opaque_rp = TracingRelyingParty(client, factory.oauth_client(**offline), citizen)
    jwt_rp = TracingRelyingParty(client, factory.oauth_client(
        access_token_format="jwt", id_token_signed_response_alg="ES256", **offline), citizen)
    third_rp = TracingRelyingParty(client, factory.oauth_client(), citizen)
    old_rsa, old_ec = _active(runner, "RSA"), _active(runner, "EC")
    assert _published(client) == {old_rsa, old_ec}

    # The operator publishes the next keys; they do not sign yet.
    output = _cli(runner, "rotate-keys")
    assert "New key ids: " in output and "next" in output
    keys = _keys(runner)
    [new_rsa] = [k for k, v in keys.items() if v["kty"] == "RSA" and v["state"] == "next"]
    [new_ec] = [k for k, v in keys.items() if v["kty"] == "EC" and v["state"] == "next"]
    assert keys[new_rsa]["activates_at"] == clock.now() + delay
    assert keys[old_rsa]["state"] == "active" and keys[old_rsa]["retires_at"] == clock.now() + delay
    assert _published(client) == {old_rsa, old_ec, new_rsa, new_ec}

    # Shortly before the switch a person signs in at two agencies: tokens by the old keys.
    clock.advance(delay - 60)
    _, opaque = opaque_rp.tokens(**OFFLINE)
    assert opaque_rp.pages == ["login", "consent"]
    _, jwt_tokens = jwt_rp.tokens(**OFFLINE)
    assert jwt_rp.pages == ["consent"]
    assert _kid(opaque["id_token"]) == old_rsa and _kid(jwt_tokens["id_token"]) == old_ec
    assert _kid(jwt_tokens["access_token"]) == old_rsa

    # The switch: every node picks the new keys by the time alone.
    clock.advance(120)
    keys = _keys(runner)
    assert (keys[new_rsa]["state"], keys[old_rsa]["state"]) == ("active", "retired")
    assert (keys[new_ec]["state"], keys[old_ec]["state"]) == ("active", "retired")
    assert _published(client) == {old_rsa, old_ec, new_rsa, new_ec}

    # Single sign-on continues: a code without any page, its ID token by the new key.
    _, third = third_rp.tokens()
    assert third_rp.pages == ["consent"]
    assert _kid(third["id_token"]) == new_rsa
    jwt.decode(third["id_token"], _key_set(client), algorithms=["RS256"])

    # Tokens signed before the switch still verify and still work.
    jwks = _key_set(client)
    assert jwt.decode(opaque["id_token"], jwks, algorithms=["RS256"]).claims["iss"] == ISSUER
    jwt.decode(jwt_tokens["id_token"], jwks, algorithms=["ES256"])
    jwt.decode(jwt_tokens["access_token"], jwks, algorithms=["RS256"])
    for access_token in (opaque["access_token"], jwt_tokens["access_token"]):
        assert client.get("/userinfo", headers=bearer(access_token)).status_code == 200
        assert _introspect(client, resource_server, access_token)["active"] is True
    _, again = opaque_rp.authorize(prompt="none", id_token_hint=opaque["id_token"])
    assert "code" in opaque_rp.redirect_result(again)

    # Refreshing gives tokens by the new keys.
    refreshed = _refresh(opaque_rp, opaque["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert _kid(refreshed.get_json()["id_token"]) == new_rsa
    refreshed = _refresh(jwt_rp, jwt_tokens["refresh_token"]).get_json()
    assert _kid(refreshed["id_token"]) == new_ec and _kid(refreshed["access_token"]) == new_rsa
    jwt.decode(refreshed["id_token"], _key_set(client), algorithms=["ES256"])

    # Once everything the old keys signed has expired they leave the JWKS, then the table.
    unpublish_at = keys[old_rsa]["unpublish_at"]
    assert unpublish_at == keys[new_rsa]["activates_at"] + (
        app.config["SSO_SESSION_LIFETIME"] + app.config["KEY_RETENTION_MARGIN"])
    clock.current = unpublish_at - 1
    assert _published(client) == {old_rsa, old_ec, new_rsa, new_ec}
    clock.current = unpublish_at
    assert _published(client) == {new_rsa, new_ec}
    with pytest.raises(JoseError):
        jwt.decode(opaque["id_token"], _key_set(client), algorithms=["RS256"])
    assert _keys(runner)[old_rsa]["state"] == "expired"
    counts = json.loads(_cli(runner, "prune-records", "--json"))["deleted"]
    assert counts["signing_keys"] == 2
    assert set(_keys(runner)) == {new_rsa, new_ec}


def test_rotate_keys_twice_keeps_the_pending_keys(runner, clock):
    _cli(runner, "rotate-keys")
    pending = {k: v for k, v in _keys(runner).items() if v["state"] == "next"}
    clock.advance(3600)
    output = json.loads(_cli(runner, "rotate-keys", "--json"))
    assert output["made"] == []
    assert {k: v for k, v in _keys(runner).items() if v["state"] == "next"} == pending


def test_rotate_keys_now_signs_at_once_and_drops_pending_keys(rp, client, runner):
    old_rsa = _active(runner, "RSA")
    _cli(runner, "rotate-keys")
    pending = {k for k, v in _keys(runner).items() if v["state"] == "next"}
    _, before = rp.tokens()
    output = json.loads(_cli(runner, "rotate-keys", "--now", "--json"))
    assert len(output["made"]) == 2
    states = {key["kid"]: key["state"] for key in output["keys"]}
    assert {states[kid] for kid in output["made"]} == {"active"}
    assert states[old_rsa] == "retired" and not pending & set(states)
    assert _published(client) == set(states) and not pending & _published(client)
    _, after = rp.tokens()
    assert _kid(after["id_token"]) in output["made"]
    jwt.decode(before["id_token"], _key_set(client), algorithms=["RS256"])


def test_list_keys_readable_table_shows_states_and_times(runner, clock):
    _cli(runner, "rotate-keys")
    lines = _cli(runner, "list-keys").splitlines()
    assert lines[0].split()[:3] == ["kid", "kty", "state"]
    assert sum(" next " in line for line in lines) == 2
    assert sum(" active " in line and " from the start " in line for line in lines) == 2
    assert all(line.rstrip().endswith("yes") for line in lines[1:])


def test_key_switch_seen_by_another_node_without_restart(app, client, runner, rp, clock):
    """Two processes on one database: the one that did not rotate switches at the same time
    (nothing but the parsed keys is cached, by kid)."""
    other = create_app({**{k: app.config[k] for k in (
        "TESTING", "ENV", "ISSUER", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI",
        "SESSION_COOKIE_SECURE", "KEY_ENCRYPTION_KEY")}, "CLOCK": clock})
    other_rp = TracingRelyingParty(other.test_client(), rp.reg, rp.citizen)
    _, first = other_rp.tokens()
    _cli(runner, "rotate-keys")
    clock.advance(app.config["KEY_ROTATION_DELAY"])
    _, second = other_rp.tokens()
    assert _kid(second["id_token"]) != _kid(first["id_token"])
    assert _kid(second["id_token"]) == _active(runner, "RSA")
    with other.app_context():
        db.engine.dispose()


# -- encryption at rest ---------------------------------------------------------------------------


def _rows(app) -> list:
    with app.app_context():
        return db.session.execute(
            text("SELECT kid, private_jwk, encrypted FROM signing_keys")).all()


def test_private_keys_stored_encrypted_never_the_d_parameter(app, runner):
    _cli(runner, "rotate-keys", "--now")
    fernet = Fernet(TEST_KEY_ENCRYPTION_KEY)
    rows = _rows(app)
    assert len(rows) == 4
    for kid, stored, encrypted in rows:
        assert encrypted and '"d"' not in stored and "kty" not in stored
        private = json.loads(fernet.decrypt(stored.encode()))
        assert private["kid"] == kid and private["d"] not in stored


def _without_key_encryption_key(app, runner) -> str:
    """A development database made without a key-encryption key: plaintext keys, marked."""
    app.config["KEY_ENCRYPTION_KEY"] = None
    with app.app_context():
        db.session.execute(text("DELETE FROM signing_keys"))
        db.session.commit()
    return _cli(runner, "init-db")


def test_init_db_warns_when_keys_stay_unencrypted_in_development(app, client, runner):
    output = _without_key_encryption_key(app, runner)
    assert "private keys are stored unencrypted (development only)" in output
    assert "2 new signing key(s)" in output
    assert all('"d"' in stored and not encrypted for _, stored, encrypted in _rows(app))
    assert len(_published(client)) == 2


def test_init_db_encrypts_plaintext_keys_once(app, client, runner):
    key_encryption_key = app.config["KEY_ENCRYPTION_KEY"]
    _without_key_encryption_key(app, runner)
    published = _published(client)

    app.config["KEY_ENCRYPTION_KEY"] = key_encryption_key
    output = _cli(runner, "init-db")
    assert "Private keys: 2 encrypted, 0 re-encrypted" in output
    assert "unencrypted" not in output
    assert all(encrypted and '"d"' not in stored for _, stored, encrypted in _rows(app))
    assert "Private keys:" not in _cli(runner, "init-db")
    assert _published(client) == published


def test_init_db_re_encrypts_under_a_new_key_encryption_key(app, client, runner):
    old = app.config["KEY_ENCRYPTION_KEY"]
    new = Fernet.generate_key().decode()
    published = _published(client)
    app.config["KEY_ENCRYPTION_KEY"] = f"{new},{old}"
    assert "Private keys: 0 encrypted, 2 re-encrypted" in _cli(runner, "init-db")
    assert "Private keys:" not in _cli(runner, "init-db")

    app.config["KEY_ENCRYPTION_KEY"] = new
    _cli(runner, "init-db")
    for _, stored, _ in _rows(app):
        json.loads(Fernet(new).decrypt(stored.encode()))
    assert _published(client) == published

    app.config["KEY_ENCRYPTION_KEY"] = old
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 1 and "cannot be decrypted" in result.output


@pytest.mark.parametrize("command", [["init-db"], ["rotate-keys"], ["rotate-keys", "--now"]])
def test_cli_wrong_key_encryption_key_clear_error_and_nothing_changed(app, runner, command):
    before = _rows(app)
    app.config["KEY_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    result = runner.invoke(args=command)
    assert result.exit_code == 1
    assert "cannot be decrypted with GATEWAY_KEY_ENCRYPTION_KEY" in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert _rows(app) == before


def test_cli_missing_key_encryption_key_for_encrypted_keys_clear_error(app, runner):
    app.config["KEY_ENCRYPTION_KEY"] = None
    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 1
    assert "is encrypted, but GATEWAY_KEY_ENCRYPTION_KEY is not set" in result.output
    assert "Traceback" not in result.output


def test_stored_key_swapped_between_rows_refused(app, runner):
    with app.app_context():
        db.session.execute(text(
            "UPDATE signing_keys SET private_jwk = (SELECT private_jwk FROM signing_keys "
            "WHERE kty = 'EC') WHERE kty = 'RSA'"))
        db.session.commit()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 1 and "the stored key is another key" in result.output


def test_production_config_without_key_encryption_key_refuses(tmp_path):
    from gateway.config import ConfigurationError

    production = {"ENV": "production", "ISSUER": "https://id.vinhlong.gov.vn",
                  "SECRET_KEY": "s" * 48, "PAIRWISE_SALT": "p" * 32,
                  "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"}
    with pytest.raises(ConfigurationError, match="GATEWAY_KEY_ENCRYPTION_KEY is not set"):
        create_app(production)
    with pytest.raises(ConfigurationError, match="key 2 is not a Fernet key"):
        create_app({**production, "KEY_ENCRYPTION_KEY": f"{TEST_KEY_ENCRYPTION_KEY},oops"})
    app = create_app({**production, "KEY_ENCRYPTION_KEY": f"{TEST_KEY_ENCRYPTION_KEY},"})
    assert app.config["KEY_ENCRYPTION_KEY"]


# -- migration 0004 ----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_uri(request, tmp_path):
    from tests.conftest import create_postgresql_database

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
    else:
        yield from create_postgresql_database("gateway_keys")


def test_migration_0004_keeps_active_key_signing_and_retires_inactive_ones(database_uri, clock):
    from datetime import UTC, datetime

    from alembic import command

    from gateway.oidc import keys
    from gateway.schema import alembic_config
    from tests.conftest import build_app

    def jwk(kty):
        key = keys._generate(kty)
        return key.thumbprint(), json.dumps({**key.as_dict(private=True),
                                             "kid": key.thumbprint(), "use": "sig"})

    def when(seconds):  # as SQLite and PostgreSQL (whatever its time zone) read it: UTC
        offset = "" if database_uri.startswith("sqlite") else "+00:00"
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + offset

    day = 86400
    rotated = clock.now() - 3600  # an hour ago: the old key is still published
    (old, old_jwk), (new, new_jwk), (ec, ec_jwk) = jwk("RSA"), jwk("RSA"), jwk("EC")
    for app in build_app(database_uri, clock, tables=False):
        with app.app_context():
            command.upgrade(alembic_config(), "0003")
            insert = text("INSERT INTO signing_keys (kid, kty, private_jwk, active, created_at, "
                          "retired_at) VALUES (:kid, :kty, :jwk, :active, :created, :retired)")
            for kid, kty, data, active, created, retired in [
                (old, "RSA", old_jwk, False, rotated - 30 * day, rotated),
                (new, "RSA", new_jwk, True, rotated, None),
                (ec, "EC", ec_jwk, True, rotated - 30 * day, None),
            ]:
                db.session.execute(insert, {"kid": kid, "kty": kty, "jwk": data, "active": active,
                                            "created": when(created),
                                            "retired": retired and when(retired)})
            db.session.commit()
        runner = app.test_cli_runner()
        output = _cli(runner, "init-db")
        assert "schema upgraded from revision 0003" in output
        assert "Private keys: 3 encrypted" in output and "0 new signing key(s)" in output
        states = {kid: key for kid, key in _keys(runner).items()}
        assert {kid: key["state"] for kid, key in states.items()} == {
            old: "retired", new: "active", ec: "active"}
        assert states[old]["retires_at"] == rotated
        assert _published(app.test_client()) == {old, new, ec}
        assert all(encrypted and '"d"' not in stored for _, stored, encrypted in _rows(app))
        with app.app_context():
            assert keys.get_signing_key("RS256").kid == new
            assert keys.get_signing_key("ES256").kid == ec
        clock.current = states[old]["unpublish_at"]
        assert _published(app.test_client()) == {new, ec}


def test_migration_0004_downgrade_decrypts_and_upgrade_restores_states(database_uri, clock):
    from alembic import command

    from gateway.schema import alembic_config
    from tests.conftest import build_app

    for app in build_app(database_uri, clock, tables=False):
        runner = app.test_cli_runner()
        _cli(runner, "init-db")
        _cli(runner, "rotate-keys", "--now")
        before = {kid: key["state"] for kid, key in _keys(runner).items()}
        with app.app_context():
            command.downgrade(alembic_config(), "0003")
            rows = db.session.execute(text("SELECT kid, private_jwk, active FROM signing_keys")
                                      ).all()
            db.session.commit()
        assert {kid for kid, _, active in rows if active} == {
            kid for kid, state in before.items() if state == "active"}
        assert all(json.loads(stored)["kid"] == kid for kid, stored, _ in rows)
        assert "Private keys: 4 encrypted" in _cli(runner, "init-db")
        assert {kid: key["state"] for kid, key in _keys(runner).items()} == before
