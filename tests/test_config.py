"""Configuration layers and the refusal of development-only values in production."""

from __future__ import annotations

import pytest

from gateway import create_app
from gateway.config import ConfigurationError

GOOD = {
    "ENV": "production",
    "ISSUER": "https://id.vinhlong.gov.vn",
    "SECRET_KEY": "s" * 48,
    "PAIRWISE_SALT": "p" * 32,
    "SQLALCHEMY_DATABASE_URI": "sqlite://",
    "KEY_ENCRYPTION_KEY": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",  # Fernet key
}


def test_production_config_with_safe_values_starts():
    app = create_app(dict(GOOD))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["OUTBOUND_ALLOW_LOOPBACK"] is False


@pytest.mark.parametrize("override, message", [
    ({"ISSUER": "http://id.vinhlong.gov.vn"}, "https"),
    ({"ISSUER": None}, "GATEWAY_ISSUER"),
    ({"ISSUER": "https://id.vinhlong.gov.vn/?x=1"}, "query"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SESSION_COOKIE_SECURE": False}, "Secure"),
    ({"OUTBOUND_ALLOW_LOOPBACK": True}, "OUTBOUND_ALLOW_LOOPBACK"),
    ({"PAIRWISE_SALT": None}, "PAIRWISE_SALT"),
    ({"PAIRWISE_SALT": "development-pairwise-salt"}, "PAIRWISE_SALT"),
    ({"KEY_ENCRYPTION_KEY": None}, "GATEWAY_KEY_ENCRYPTION_KEY is not set"),
    ({"KEY_ENCRYPTION_KEY": "not-a-fernet-key"}, "key 1 is not a Fernet key"),
])
def test_production_config_refuses_development_values(override, message):
    with pytest.raises(ConfigurationError, match=message):
        create_app({**GOOD, **override})


def test_environment_variables_override_defaults(monkeypatch):
    monkeypatch.setenv("GATEWAY_ACCESS_TOKEN_LIFETIME", "600")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "sqlite://")
    app = create_app({k: v for k, v in GOOD.items() if k != "SQLALCHEMY_DATABASE_URI"})
    assert app.config["ACCESS_TOKEN_LIFETIME"] == 600
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"


def test_development_generates_secret_and_allows_loopback_issuer():
    app = create_app({"ENV": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ISSUER"] == "http://127.0.0.1:5000"
    assert len(app.config["SECRET_KEY"]) >= 32
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_method_not_allowed_keeps_the_allow_header(client):
    """RFC 9110 §15.5.6: a 405 names the allowed methods, on JSON and HTML endpoints alike."""
    token = client.get("/token")
    assert token.status_code == 405 and "POST" in token.headers["Allow"]
    assert token.get_json()["error"] == "invalid_request"
    page = client.put("/authorize")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_cli_help_without_settings_says_what_is_missing_not_a_traceback(tmp_path):
    """A newcomer's plain shell (no GATEWAY_* set): one clear line, and the help still shows."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_INSTANCE_PATH"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "gateway", "--help"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert "Traceback" not in result.stderr
    assert "GATEWAY_ISSUER is not set" in result.stderr
    assert "GATEWAY_ENV=development" in result.stderr
    assert "Usage:" in result.stdout and result.returncode == 0
    # The project's commands are listed, and each one's help is readable, without settings.
    for command in ("init-db", "seed-demo", "create-client", "rotate-keys", "prune-records",
                    "deliver-logouts", "db"):
        assert f"\n  {command} " in result.stdout, result.stdout
    one = subprocess.run([sys.executable, "-m", "flask", "--app", "gateway", "create-client",
                          "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert one.returncode == 0 and "--redirect-uri" in one.stdout, one.stdout + one.stderr
    # A command that would run still refuses, in one line: nothing runs unconfigured.
    run = subprocess.run([sys.executable, "-m", "flask", "--app", "gateway", "init-db"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode != 0 and "GATEWAY_ISSUER is not set" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "gateway.db").exists()
