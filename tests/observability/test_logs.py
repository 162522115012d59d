"""Structured logs: one JSON object per line with the request id, an access-log line per
request, and never a password, personal ID number, code or token (OWASP Logging Cheat Sheet:
data to exclude)."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.config import ConfigurationError
from tests.conftest import ISSUER, build_app

from .test_probes import make_app


@pytest.fixture
def app(tmp_path, clock, monkeypatch):
    """The gateway logging JSON at DEBUG, the most it can say."""
    monkeypatch.setenv("GATEWAY_LOG_FORMAT", "json")
    monkeypatch.setenv("GATEWAY_LOG_LEVEL", "DEBUG")
    yield from build_app(f"sqlite:///{tmp_path / 'test.db'}", clock)


def json_lines(text: str) -> list[dict]:
    """Every line written, each of which must be one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_logs_hold_no_password_personal_id_code_or_token_but_the_request_id(rp, capsys):
    capsys.readouterr()
    personal_id, password = rp.citizen["personal_id"], rp.citizen["password"]
    assert rp.login("/login", password="Wrong-" + password).status_code == 401  # a form body
    _, result = rp.code_flow(login_hint=personal_id)   # the personal ID in a query string
    token_response = rp.token(result["code"])
    assert token_response.status_code == 200
    tokens = token_response.get_json()
    userinfo = rp.http.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "trace-me-42"})
    assert userinfo.status_code == 200
    assert userinfo.headers["X-Request-ID"] == "trace-me-42"

    output = capsys.readouterr()
    logged = output.err + output.out
    for secret in (password, personal_id, result["code"], tokens["access_token"],
                   tokens["id_token"], rp.reg["client_secret"]):
        assert secret not in logged
    lines = json_lines(output.err)
    access = [line for line in lines if line["logger"] == "gateway.access"]
    by_request = {line["request_id"]: line for line in access}
    assert by_request["trace-me-42"]["endpoint"] == "oidc.userinfo"
    token_line = by_request[token_response.headers["X-Request-ID"]]
    assert token_line["endpoint"] == "oidc.token" and token_line["status"] == 200
    assert token_line["method"] == "POST" and token_line["remote_addr"] == "127.0.0.1"
    assert isinstance(token_line["duration_ms"], float)
    assert token_line["level"] == "INFO" and token_line["timestamp"].startswith("20")
    assert {line["endpoint"] for line in access} >= {"oidc.authorize", "accounts.login",
                                                     "oidc.resume", "oidc.token"}


def test_redacting_filter_masks_personal_ids_and_tokens_in_any_message(app, capsys):
    capsys.readouterr()
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    opaque = "Zq8sV3kPZ0x9dW2mT1yN5aB7cE4fG6hJ8kL0pR2sU4w"
    logger = logging.getLogger("tests.observability")
    logger.warning("citizen %s presented %s and %s; Authorization: Bearer %s",
                   "086090000123", jwt_like, opaque, "short-secret")
    try:
        raise ValueError("lookup failed for 086090000123")
    except ValueError:
        logger.exception("while handling %s", opaque)
    text = capsys.readouterr().err
    for secret in ("086090000123", jwt_like, opaque, "short-secret"):
        assert secret not in text
    warning, error = json_lines(text)
    assert warning["message"].startswith("citizen [redacted] presented [redacted] and [redacted]")
    assert "Bearer [redacted]" in warning["message"]
    assert "ValueError: lookup failed for [redacted]" in error["exc_info"]
    # names in the traceback stay readable
    assert "in test_redacting_filter_masks_personal_ids_and_tokens_in_any" in error["exc_info"]


def test_redacting_filter_keeps_short_identifiers_and_other_numbers(app, capsys):
    capsys.readouterr()
    logging.getLogger("tests.observability").info(
        "back-channel logout 7 to client %s: attempt 2, HTTP 500 at 1800000000123, digest %s",
        "Ab" * 12, "0f" * 32)
    [line] = json_lines(capsys.readouterr().err)
    assert line["message"] == ("back-channel logout 7 to client " + "Ab" * 12
                               + ": attempt 2, HTTP 500 at 1800000000123, digest " + "0f" * 32)
    assert line["request_id"] is None


def test_development_logs_are_text_lines_with_the_request_id(tmp_path, capsys):
    app = make_app(tmp_path)
    assert app.config["LOG_FORMAT"] == "text"
    capsys.readouterr()
    response = app.test_client().get("/healthz", headers={"X-Request-ID": "dev-trace-1"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert response.headers["X-Request-ID"] == "dev-trace-1"
    assert line.endswith("INFO gateway.access [dev-trace-1] GET ops.healthz 200 "
                         + line.split(" 200 ")[1])
    assert line.split(" 200 ")[1].endswith(" ms")


def test_production_logs_are_json_by_default(tmp_path, capsys):
    app = make_app(tmp_path, ENV="production", ISSUER="https://id.vinhlong.gov.vn")
    assert app.config["LOG_FORMAT"] == "json"
    capsys.readouterr()
    app.test_client().get("/healthz")
    [line] = json_lines(capsys.readouterr().err)
    assert line["endpoint"] == "ops.healthz" and line["logger"] == "gateway.access"


@pytest.mark.parametrize("setting", [{"LOG_FORMAT": "xml"}, {"LOG_LEVEL": "LOUD"}])
def test_log_settings_out_of_range_refuse_to_start(tmp_path, setting):
    with pytest.raises(ConfigurationError, match="LOG_"):
        make_app(tmp_path, **setting)


def test_authlib_never_logs_below_info_even_at_debug(app):
    assert app.config["LOG_LEVEL"] == "DEBUG"
    assert logging.getLogger("authlib").getEffectiveLevel() == logging.INFO
    assert ISSUER  # the app under test is the usual one


def test_a_message_whose_arguments_do_not_fit_is_still_logged_redacted(app, capsys):
    capsys.readouterr()
    logging.getLogger("tests.observability").info("code %d for 086090000123", "not-a-number")
    [line] = json_lines(capsys.readouterr().err)
    assert line["message"] == "code %d for [redacted] (unformattable arguments)"
