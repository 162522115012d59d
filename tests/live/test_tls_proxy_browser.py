"""The gateway deployed as docs/operations.md#serving prescribes: gunicorn with
``config/gunicorn.conf.py`` in production mode on PostgreSQL + Redis, behind nginx terminating
TLS on 127.0.0.1, and a person signing in through it in Chromium.

nginx runs with the server block of docs/operations.md (its own configuration file and prefix in
``tmp_path``, a self-signed certificate for 127.0.0.1) and ``proxy_bind 127.0.0.2``: the gateway
sees the proxy as 127.0.0.2 and the browser, as the proxy forwards it, as 127.0.0.1. Asserted:
the sign-in and consent forms work in Chromium (``Referrer-Policy: no-referrer``: no Referer,
``Origin: null``, so the origin check must be the one in ``gateway/security.py``), the code is
exchanged at /token and /userinfo answers through the proxy (no 500), every response through
the proxy carries HSTS, discovery names the public https URLs, and the address counted by the
per-address sign-in throttle (its key in Redis) and logged (the JSON access log) is the
browser's, 127.0.0.1, never the proxy's. Skipped when nginx is not installed (``make nginx``).

Ports: LIVE_PORT_BASE + 120 (nginx) and + 121 (gunicorn), clear of the demo's and two nodes'.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.conftest import (
    PASSWORD,
    TEST_KEY_ENCRYPTION_KEY,
    connect_redis,
    create_postgresql_database,
    delete_redis_keys,
    pkce_pair,
    query_of,
)
from tests.live.conftest import (
    BROWSER_TIMEOUT,
    HOST,
    REPO_ROOT,
    _answers,
    _check_port_free,
    _stop_process_group,
)
from tests.live.test_sso_browser import ALLOW_BUTTON, PASSWORD_FIELD, SUBMIT_BUTTON
from tests.live.test_two_nodes import _environment, _flask

pytestmark = pytest.mark.live

PORT_BASE = int(os.environ.get("LIVE_PORT_BASE", "15000"))
PROXY_PORT = PORT_BASE + 120
GUNICORN_PORT = PORT_BASE + 121
ISSUER = f"https://{HOST}:{PROXY_PORT}"
#: The address nginx connects to gunicorn from (``proxy_bind``): the only one trusted.
PROXY_ADDRESS = "127.0.0.2"
PERSONAL_ID = "086188004321"  # a woman born in 1988
#: A relying party's redirect URI (https: production allows nothing else). Nothing listens
#: there: Chromium's navigation to it is answered by the test (``page.route``).
REDIRECT_URI = "https://portal.example.test/callback"
START_TIMEOUT = 60
HTTP_TIMEOUT = 15
HSTS = "max-age=31536000; includeSubDomains"

#: The server block of docs/operations.md#serving, with the test's paths and ports (and
#: ``proxy_bind``, which only this test needs: browser and proxy share 127.0.0.1 here).
NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    upstream gateway {{
        server 127.0.0.1:{upstream_port};
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port} ssl;
        server_name 127.0.0.1;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 64k;

        location / {{
            proxy_pass http://gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-Host $host:$server_port;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_bind {proxy_address};
        }}
    }}
}}
"""


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found is None:
        pytest.skip("nginx is not installed (make nginx installs it): the TLS proxy test needs it")
    if os.geteuid() != 0:
        pytest.skip("nginx runs as root here (user root, proxy_bind): run the test as root")
    return found


def _self_signed_certificate(directory: Path) -> None:
    """cert.pem and key.pem for 127.0.0.1 (P-256, a day, subjectAltName IP:127.0.0.1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


@pytest.fixture
def storage():
    """(database URL, Redis connection, key prefix): a new PostgreSQL database, a Redis prefix."""
    connection = connect_redis()
    prefix = f"gateway-tls-proxy-{secrets.token_hex(4)}:"
    try:
        for url in create_postgresql_database("gateway_tls_proxy"):
            yield url, connection, prefix
    finally:
        delete_redis_keys(connection, prefix + "*")
        connection.close()


def _wait_until_answering(processes: dict, logs: dict, url: str, **kwargs) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers_https(url, **kwargs):
        for name, process in processes.items():
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n"
                            + logs[name].read_text(errors="replace"))
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer within {START_TIMEOUT} s:\n" + "\n".join(
                log.read_text(errors="replace") for log in logs.values() if log.exists()))
        time.sleep(0.2)


def _answers_https(url: str, **kwargs) -> bool:
    if url.startswith("http://"):
        return _answers(url)
    try:
        requests.get(url, timeout=2, **kwargs)
        return True
    except requests.RequestException:
        return False


@pytest.fixture
def deployment(tmp_path, storage):
    """gunicorn (production settings) behind nginx with TLS; yields (environment, logs)."""
    nginx = _nginx()
    for port in (PROXY_PORT, GUNICORN_PORT):
        _check_port_free(port)
    database_url, _, prefix = storage
    environ = _environment(tmp_path, database_url, prefix, secrets.token_urlsafe(48))
    environ.update({
        "GATEWAY_ENV": "production",
        "GATEWAY_ISSUER": ISSUER,
        "GATEWAY_SESSION_COOKIE_SECURE": "true",
        "GATEWAY_KEY_ENCRYPTION_KEY": TEST_KEY_ENCRYPTION_KEY,
        "GATEWAY_PAIRWISE_SALT": secrets.token_urlsafe(24),
        "GATEWAY_TRUSTED_PROXY_COUNT": "1",
        "GATEWAY_TRUSTED_PROXY_NETWORKS": json.dumps([PROXY_ADDRESS]),
        "GUNICORN_BIND": f"{HOST}:{GUNICORN_PORT}",
        "GUNICORN_FORWARDED_ALLOW_IPS": PROXY_ADDRESS,
    })
    _flask(environ, "init-db")
    _flask(environ, "create-citizen", "--personal-id", PERSONAL_ID, "--family-name", "Trần",
           "--middle-name", "Thị", "--given-name", "Bình", "--birthdate", "1988-03-08",
           "--gender", "female", "--password", PASSWORD)
    _self_signed_certificate(tmp_path)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / folder).mkdir()
    (tmp_path / "nginx.conf").write_text(NGINX_CONF.format(
        tmp=tmp_path, port=PROXY_PORT, upstream_port=GUNICORN_PORT,
        proxy_address=PROXY_ADDRESS))
    commands = {
        "gunicorn": [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                     "gateway:create_app()"],
        "nginx": [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
    }
    processes, logs = {}, {}
    try:
        for name, argv in commands.items():
            logs[name] = tmp_path / f"{name}.log"
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    argv, cwd=REPO_ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
        logs["nginx-error"] = tmp_path / "error.log"
        _wait_until_answering(processes, logs,
                              f"http://{HOST}:{GUNICORN_PORT}/.well-known/openid-configuration")
        _wait_until_answering(processes, logs, f"{ISSUER}/.well-known/openid-configuration",
                              verify=str(tmp_path / "cert.pem"))
        yield environ, logs
    finally:
        for process in processes.values():
            _stop_process_group(process)


def _through_proxy(response: requests.Response) -> requests.Response:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers.get("Strict-Transport-Security") == HSTS, (
        response.url, dict(response.headers))
    return response


def _access_lines(log: Path) -> list[dict]:
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "gateway.access":
                lines.append(entry)
    return lines


def test_sign_in_through_a_tls_reverse_proxy_in_chromium(deployment, storage, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from tests.live.conftest import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (make chromium installs it)")
    environ, logs = deployment
    _, redis, prefix = storage
    # Certificates checked against the test's own (self-signed, for 127.0.0.1). Passed on
    # each request: requests lets REQUESTS_CA_BUNDLE override a Session's ``verify``.
    certificate = str(tmp_path / "cert.pem")
    http = requests.Session()
    http.request = functools.partial(http.request, verify=certificate)

    # Discovery names the public https URLs (the Host and scheme the proxy forwarded).
    metadata = _through_proxy(http.get(f"{ISSUER}/.well-known/openid-configuration",
                                       timeout=HTTP_TIMEOUT)).json()
    assert metadata["issuer"] == ISSUER
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "registration_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert metadata[name].startswith(ISSUER + "/"), (name, metadata[name])

    # An agency registers its portal through the proxy (RFC 7591, initial access token).
    initial = json.loads(_flask(
        environ, "issue-registration-token", "--agency-name", "Sở Tư pháp tỉnh Vĩnh Long",
        "--level", "province", "--unit-code", "86", "--json"))["initial_access_token"]
    registration = _through_proxy(http.post(
        metadata["registration_endpoint"], timeout=HTTP_TIMEOUT,
        headers={"Authorization": f"Bearer {initial}"},
        json={"client_name": "Cổng thử nghiệm", "redirect_uris": [REDIRECT_URI],
              "token_endpoint_auth_method": "client_secret_basic",
              "scope": "openid profile"})).json()
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": registration["client_id"],
              "redirect_uri": REDIRECT_URI, "scope": "openid profile",
              "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
              "code_challenge": challenge, "code_challenge_method": "S256"}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="vi-VN", ignore_https_errors=True)
            context.set_default_timeout(BROWSER_TIMEOUT)
            expect.set_options(timeout=BROWSER_TIMEOUT)
            page = context.new_page()
            gateway_responses = []
            page.on("response", lambda r: gateway_responses.append(r)
                    if r.url.startswith(ISSUER) else None)
            page.route(REDIRECT_URI + "**", lambda route: route.fulfill(
                status=200, content_type="text/plain", body="portal"))

            page.goto(f"{metadata['authorization_endpoint']}?{urlencode(params)}")
            expect(page.locator(PASSWORD_FIELD)).to_be_visible()
            assert urlsplit(page.url).path == "/login", page.url
            # One wrong password first: the per-address throttle counts the browser's address.
            form = page.locator(f"form:has({PASSWORD_FIELD})")
            form.locator("input[name=personal_id]").fill(PERSONAL_ID)
            form.locator(PASSWORD_FIELD).fill("Wrong-password-1")
            with page.expect_response(lambda r: r.request.method == "POST") as failed:
                form.locator(SUBMIT_BUTTON).first.click()
            assert failed.value.status == 401, failed.value.status
            # What the origin check is given: under ``Referrer-Policy: no-referrer`` no Referer
            # and (Fetch standard) ``Origin: null`` (an Origin-equals-issuer check would refuse
            # it); Sec-Fetch-Site, added by the network stack, is not shown to Playwright.
            sent = failed.value.request.all_headers()
            assert "referer" not in sent and sent.get("origin") == "null", sent
            form = page.locator(f"form:has({PASSWORD_FIELD})")
            form.locator("input[name=personal_id]").fill(PERSONAL_ID)
            form.locator(PASSWORD_FIELD).fill(PASSWORD)
            form.locator(SUBMIT_BUTTON).first.click()
            page.locator(ALLOW_BUTTON).click()
            page.wait_for_url(REDIRECT_URI + "?**")
            callback = query_of(page.url)
            assert callback["state"] == params["state"] and callback["iss"] == ISSUER, callback
            for response in gateway_responses:
                assert response.status < 500, (response.url, response.status)
                assert response.headers.get("strict-transport-security") == HSTS, response.url
            assert len(gateway_responses) >= 5, [r.url for r in gateway_responses]
            cookies = {c["name"]: c for c in context.cookies(ISSUER)}
            assert cookies["gw_session"]["secure"] and cookies["gw_sso"]["secure"], cookies
        finally:
            browser.close()

    # The relying party's back end, through the proxy: code for tokens, then UserInfo.
    tokens = _through_proxy(http.post(
        metadata["token_endpoint"], timeout=HTTP_TIMEOUT,
        auth=(registration["client_id"], registration["client_secret"]),
        data={"grant_type": "authorization_code", "code": callback["code"],
              "redirect_uri": REDIRECT_URI, "code_verifier": verifier}))
    assert tokens.status_code == 200, tokens.text
    info = _through_proxy(http.get(metadata["userinfo_endpoint"], timeout=HTTP_TIMEOUT,
                                   headers={"Authorization": f"Bearer "
                                                             f"{tokens.json()['access_token']}"}))
    assert info.status_code == 200 and info.json()["name"] == "Trần Thị Bình", info.text

    # The address the per-address sign-in throttle counted (Flask-Limiter's key in Redis) is
    # the browser's, as the proxy forwarded it: never the proxy's own 127.0.0.2.
    keys = [key.decode() for key in redis.scan_iter(match=f"{prefix}*login-failures-address*")]
    assert keys and all("/127.0.0.1/" in key for key in keys), keys
    # And the access log (JSON, production) names the browser for every proxied request.
    entries = _access_lines(logs["gunicorn"])
    sign_ins = [e for e in entries if e["endpoint"] == "accounts.login" and e["method"] == "POST"]
    assert [e["status"] for e in sign_ins] == [401, 303], sign_ins
    assert {e["remote_addr"] for e in entries} == {HOST}, {e["remote_addr"] for e in entries}

    # Straight to gunicorn, not through the proxy: X-Forwarded-* are not believed (not https,
    # no HSTS, and the address is the peer's own).
    direct = requests.get(f"http://{HOST}:{GUNICORN_PORT}/.well-known/openid-configuration",
                          timeout=HTTP_TIMEOUT, headers={"X-Forwarded-For": "198.51.100.9",
                                                         "X-Forwarded-Proto": "https",
                                                         "X-Forwarded-Host": "evil.example"})
    assert "Strict-Transport-Security" not in direct.headers
    assert direct.json()["issuer"] == ISSUER
    time.sleep(0.3)
    assert _access_lines(logs["gunicorn"])[-1]["remote_addr"] == HOST
