"""``/metrics``: Prometheus text exposition, only from ``METRICS_ALLOWED_NETWORKS``; requests by
endpoint (never by path), sign-ins by method and result, tokens by grant type, back-channel
logout deliveries by outcome."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.extensions import db
from tests.accounts.test_assurance import enrol_totp, run_flow
from tests.accounts.test_qr_login import Desktop, decide, sign_in_phone
from tests.conftest import PASSWORD, RelyingParty
from tests.oidc.test_backchannel_logout import LogoutReceiver
from tests.oidc.test_token_refresh import OFFLINE, refresh

from .conftest import scrape, value
from .test_probes import make_app

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_metrics_answers_in_the_prometheus_text_format_from_this_machine(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    names = {family.name for family in
             text_string_to_metric_families(response.get_data(as_text=True))}
    assert {"gateway_http_requests", "gateway_http_request_duration_seconds",
            "gateway_sign_ins", "gateway_tokens_issued",
            "gateway_backchannel_logout_deliveries"} <= names


@pytest.mark.parametrize("address", ["203.0.113.5", "10.1.2.3", "2001:db8::1", "::ffff:10.0.0.1"])
def test_metrics_is_not_found_from_outside_the_default_networks(client, address):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 404
    assert "gateway_" not in response.get_data(as_text=True)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_metrics_answers_loopback_by_default(client, address):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == 200


def test_metrics_answers_only_the_configured_networks(tmp_path):
    app = make_app(tmp_path, METRICS_ALLOWED_NETWORKS=["10.20.0.0/24"])
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.0.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.1.7"}).status_code == 404
    assert client.get("/metrics").status_code == 404  # loopback no longer listed


def test_metrics_is_not_found_for_an_outside_client_behind_the_proxy(tmp_path):
    """Behind a load balancer on this machine the peer is loopback; the client is who counts."""
    app = make_app(tmp_path, TRUSTED_PROXY_COUNT=1)
    client = app.test_client()
    outside = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert outside.status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_metrics_setting_with_a_bad_network_refuses_to_start(tmp_path):
    from gateway.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="METRICS_ALLOWED_NETWORKS"):
        make_app(tmp_path, METRICS_ALLOWED_NETWORKS=["not-a-network"])


def test_requests_counted_by_endpoint_never_by_path(client, metrics):
    code = "q" * 40
    client.get(f"/m/qr/{code}")
    client.get("/no/such/page/086090000001")
    client.open("/healthz", method="BREW")
    client.post("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert code not in body and "086090000001" not in body and "/no/such" not in body
    # /m/qr/<code> without a session: redirect to the sign-in page
    assert metrics.delta("gateway_http_requests_total", endpoint="qr_login.phone", method="GET",
                         status="3xx") == 1
    assert metrics.delta("gateway_http_requests_total", endpoint="unmatched", method="GET",
                         status="4xx") == 1
    assert metrics.delta("gateway_http_requests_total", endpoint="unmatched", method="other",
                         status="4xx") == 1
    assert metrics.delta("gateway_http_requests_total", endpoint="unmatched", method="POST",
                         status="4xx") == 1
    assert metrics.delta("gateway_http_request_duration_seconds_count",
                         endpoint="qr_login.phone", method="GET") == 1


def test_password_sign_ins_counted_by_result(app, browser, factory, metrics):
    citizen = factory.citizen()
    app.config["LOGIN_THROTTLE_ATTEMPTS"] = 2
    assert browser.sign_in(citizen["personal_id"], "wrong-password").status_code == 401
    assert browser.sign_in(citizen["personal_id"], "wrong-password").status_code == 401
    assert browser.sign_in(citizen["personal_id"], PASSWORD).status_code == 429
    other = factory.citizen()
    assert browser.sign_in(other["personal_id"], PASSWORD).status_code == 303
    assert metrics.delta("gateway_sign_ins_total", method="password", result="failure") == 2
    assert metrics.delta("gateway_sign_ins_total", method="password", result="throttled") == 1
    assert metrics.delta("gateway_sign_ins_total", method="password", result="success") == 1


def test_second_factor_sign_ins_counted_as_totp_or_recovery_code(rp, clock, metrics):
    rp.code_flow()  # password only; then each flow below checks the password first
    secret, recovery_codes = enrol_totp(rp.http, clock)
    run_flow(rp, clock, secret, prompt="login")
    run_flow(rp, clock, code=recovery_codes[0], prompt="login")
    with pytest.raises(AssertionError):  # the used recovery code is refused: the page stays
        run_flow(rp, clock, code=recovery_codes[0], prompt="login")
    assert metrics.delta("gateway_sign_ins_total", method="totp", result="success") == 1
    assert metrics.delta("gateway_sign_ins_total", method="recovery_code", result="success") == 1
    assert metrics.delta("gateway_sign_ins_total", method="recovery_code", result="failure") == 1
    assert metrics.delta("gateway_sign_ins_total", method="password", result="success") == 4


def test_qr_sign_ins_counted_by_result(app, rp, metrics):
    phone = app.test_client()
    sign_in_phone(phone, rp.citizen)
    refused = Desktop(rp)
    assert refused.complete().status_code >= 400  # not confirmed on the phone yet
    desktop = Desktop(rp)
    assert decide(phone, desktop).status_code == 200
    assert desktop.complete().status_code == 303
    assert metrics.delta("gateway_sign_ins_total", method="qr", result="success") == 1
    assert metrics.delta("gateway_sign_ins_total", method="qr", result="failure") == 1


def test_tokens_issued_counted_by_grant_type(client, factory, metrics):
    party = RelyingParty(client, factory.oauth_client(
        grant_types=["authorization_code", "refresh_token"]), factory.citizen())
    _, tokens = party.sign_in_and_get_tokens(**OFFLINE)
    assert refresh(party, tokens["refresh_token"]).status_code == 200
    assert party.token("not-a-code").status_code == 400
    assert metrics.delta("gateway_tokens_issued_total", grant_type="authorization_code") == 1
    assert metrics.delta("gateway_tokens_issued_total", grant_type="refresh_token") == 1


@pytest.fixture
def receiver():
    site = LogoutReceiver()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


def _with_backchannel_logout(app, client_id: str, uri: str) -> None:
    """As an administrator changes a client: through the registry (its rules apply)."""
    from gateway.oidc.registry import get_client_registry

    with app.app_context():
        registry = get_client_registry()
        registry.update(client_id, {**registry.get(client_id).metadata,
                                    "backchannel_logout_uri": uri}, administrator=True)
        db.session.commit()


def _sign_in_then_out(app, client, factory, receiver):
    party = RelyingParty(client, factory.oauth_client(), factory.citizen())
    _with_backchannel_logout(app, party.reg["client_id"], receiver.uri)
    _, tokens = party.sign_in_and_get_tokens()
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": party.reg["post_logout_redirect_uri"]})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_backchannel_logout_deliveries_counted_by_outcome(app, client, factory, receiver,
                                                          metrics):
    _sign_in_then_out(app, client, factory, receiver)
    receiver.statuses = [200, 500]
    _sign_in_then_out(app, client, factory, receiver)
    app.config["LOGOUT_DELIVERY_MAX_ATTEMPTS"] = 1
    _sign_in_then_out(app, client, factory, receiver)
    assert len(receiver.posts) == 3
    assert metrics.delta("gateway_backchannel_logout_deliveries_total", outcome="delivered") == 1
    assert metrics.delta("gateway_backchannel_logout_deliveries_total", outcome="retry") == 1
    assert metrics.delta("gateway_backchannel_logout_deliveries_total", outcome="failed") == 1


SERVE_ONE_REQUEST = textwrap.dedent("""
    import sys
    from gateway import create_app
    app = create_app({"TESTING": True, "ENV": "development", "ISSUER": "http://localhost",
                      "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": sys.argv[2]})
    response = app.test_client().get(sys.argv[1])
    assert response.status_code == 200, response.status_code
    sys.stdout.write(response.get_data(as_text=True))
""")


def test_metrics_sum_every_worker_process_in_multiprocess_mode(tmp_path):
    """With ``PROMETHEUS_MULTIPROC_DIR``, ``/metrics`` in one process counts the others'."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared),
           "GATEWAY_INSTANCE_PATH": str(tmp_path / "instance")}
    database = f"sqlite:///{tmp_path / 'mp.db'}"

    def worker(path: str) -> str:
        done = subprocess.run([sys.executable, "-c", SERVE_ONE_REQUEST, path, database],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    worker("/healthz")
    worker("/healthz")
    exposition = worker("/metrics")
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in text_string_to_metric_families(exposition)
               for s in family.samples}
    assert value(samples, "gateway_http_requests_total", endpoint="ops.healthz", method="GET",
                 status="2xx") == 2


def test_scrape_helper_reads_this_process(client):
    """The helper the other tests use sees the request just made (a guard for the guards)."""
    before = value(scrape(client), "gateway_http_requests_total", endpoint="ops.healthz",
                   method="GET", status="2xx")
    client.get("/healthz")
    assert value(scrape(client), "gateway_http_requests_total", endpoint="ops.healthz",
                 method="GET", status="2xx") == before + 1


