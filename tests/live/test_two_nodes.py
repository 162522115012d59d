"""Two identical gateway nodes behind one issuer, as deployed beyond one machine
(docs/operations.md#several-nodes).

Two gunicorn servers with ``config/gunicorn.conf.py`` on 127.0.0.1, one PostgreSQL database
(created and dropped here, ``init-db`` run once) and one Redis key prefix, the same
``GATEWAY_SECRET_KEY``; two ``deliver-logouts --loop`` workers; a relying party's back-channel
receiver in this process. A ``requests.Session`` is the browser; every step of the flows goes to
the node named, as a load balancer might send it. Nothing but PostgreSQL, Redis and the secret
key is shared between the nodes.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import (
    PASSWORD,
    _csrf,
    connect_redis,
    create_postgresql_database,
    delete_redis_keys,
    pkce_pair,
    query_of,
)
from tests.live.conftest import HOST, REPO_ROOT, _answers, _check_port_free, _stop_process_group

pytestmark = pytest.mark.live

#: The nodes' ports: from LIVE_PORT_BASE + 100, clear of the demo's three.
NODE_PORTS = [int(os.environ.get("LIVE_PORT_BASE", "15000")) + 100 + n for n in range(2)]
ISSUER = f"http://{HOST}:{NODE_PORTS[0]}"
PERSONAL_ID = "086090001234"
START_TIMEOUT = 60
#: Bounded waits: for both logout tokens to arrive, then for any duplicate (several polls).
DELIVERY_TIMEOUT = 30
DUPLICATE_WAIT = 3
WORKER_INTERVAL = 0.3
HTTP_TIMEOUT = 15
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Receiver:
    """The relying parties' back-channel logout endpoints: records every POST, answers 200."""

    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                with receiver.lock:
                    receiver.posts.append((self.path, form))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.base = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def tokens_for(self, path: str) -> list[str]:
        with self.lock:
            return [token for p, form in self.posts if p == path
                    for token in form.get("logout_token", [])]

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.posts if p == path)


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def shared_storage():
    """(database URL, Redis key prefix): one PostgreSQL database and one prefix for both nodes."""
    connection = connect_redis()
    prefix = f"gateway-two-nodes-{secrets.token_hex(4)}:"
    try:
        for url in create_postgresql_database("gateway_two_nodes"):
            yield url, prefix
    finally:
        delete_redis_keys(connection, prefix + "*")
        connection.close()


def _environment(tmp_path: Path, database_url: str, redis_prefix: str, secret_key: str) -> dict:
    """What every node and worker process gets; the developer's own GATEWAY_* never leak in."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GATEWAY_", "GUNICORN_"))}
    environ.update({
        # development: an http issuer on loopback, and logout URIs on 127.0.0.1 allowed.
        "GATEWAY_ENV": "development",
        "GATEWAY_ISSUER": ISSUER,
        "GATEWAY_SECRET_KEY": secret_key,
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/0",
        "GATEWAY_REDIS_KEY_PREFIX": redis_prefix,
        "GATEWAY_INSTANCE_PATH": str(tmp_path / "instance"),
        # Sign-out leaves every delivery to the two workers, which must not both send one.
        "GATEWAY_LOGOUT_DELIVERY_INLINE_BUDGET": "0",
        "GATEWAY_LOGOUT_WORKER_INTERVAL": str(WORKER_INTERVAL),
        "PYTHONUNBUFFERED": "1",  # the workers' output reaches their logs as it is printed
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
    })
    return environ


def _flask(environ: dict, *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "gateway", *args], cwd=REPO_ROOT, env=environ,
        input=input, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"flask {args[0]}: {result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def nodes(tmp_path, shared_storage):
    """Start both nodes and both workers; yield ``(node URLs, environment, log paths)``."""
    for port in NODE_PORTS:
        _check_port_free(port)
    database_url, redis_prefix = shared_storage
    environ = _environment(tmp_path, database_url, redis_prefix,
                           "two-nodes-" + secrets.token_urlsafe(32))
    _flask(environ, "init-db")
    _flask(environ, "create-citizen", "--personal-id", PERSONAL_ID, "--family-name", "Nguyễn",
           "--middle-name", "Văn", "--given-name", "An", "--birthdate", "1990-01-01",
           "--gender", "male", "--password", PASSWORD)
    commands = {
        f"node{n}": [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
                     "gateway:create_app()"]
        for n in range(2)
    }
    commands.update({
        f"worker{n}": [sys.executable, "-m", "flask", "--app", "gateway", "deliver-logouts",
                       "--loop"]
        for n in range(2)
    })
    processes, logs = {}, {}
    try:
        for name, argv in commands.items():
            env = dict(environ)
            if name.startswith("node"):
                env["GUNICORN_BIND"] = f"{HOST}:{NODE_PORTS[int(name[-1])]}"
            logs[name] = tmp_path / f"{name}.log"
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        urls = [f"http://{HOST}:{port}" for port in NODE_PORTS]
        deadline = time.monotonic() + START_TIMEOUT
        waiting = {f"node{n}": url for n, url in enumerate(urls)}
        while waiting:
            for name, process in processes.items():
                if process.poll() is not None:
                    pytest.fail(f"{name} exited with {process.returncode}:\n"
                                + logs[name].read_text(errors="replace"))
            if time.monotonic() > deadline:
                pytest.fail(f"{sorted(waiting)} did not answer within {START_TIMEOUT} s:\n"
                            + "\n".join(logs[n].read_text(errors="replace") for n in waiting))
            waiting = {name: url for name, url in waiting.items()
                       if not _answers(url + "/.well-known/openid-configuration")}
            time.sleep(0.2)
        yield urls, environ, logs
    finally:
        for process in processes.values():
            _stop_process_group(process)


def _register(node: str, initial_access_token: str, receiver: Receiver, name: str,
              **metadata) -> dict:
    body = {
        "client_name": f"Two-node portal {name}",
        "redirect_uris": [f"{receiver.base}/{name}/callback"],
        "post_logout_redirect_uris": [f"{receiver.base}/{name}/bye"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid profile",
        "backchannel_logout_uri": f"{receiver.base}/{name}/backchannel-logout",
        "backchannel_logout_session_required": True,
        **metadata,
    }
    response = requests.post(f"{node}/register", json=body, timeout=HTTP_TIMEOUT,
                             headers={"Authorization": f"Bearer {initial_access_token}"})
    assert response.status_code == 201, response.text
    return response.json()


class Browser:
    """A person's browser: one cookie jar for 127.0.0.1, whichever node answers."""

    def __init__(self):
        self.http = requests.Session()

    def get(self, node: str, path: str) -> requests.Response:
        return self.http.get(node + path, allow_redirects=False, timeout=HTTP_TIMEOUT)

    def post(self, node: str, path: str, data: dict) -> requests.Response:
        return self.http.post(node + path, data=data, allow_redirects=False,
                              timeout=HTTP_TIMEOUT)


def _path(response: requests.Response) -> str:
    """The Location's path and query, to send to whichever node the step goes to."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    location = urlsplit(response.headers["Location"])
    return location.path + (f"?{location.query}" if location.query else "")


def _authorize_params(registration: dict, scope: str, **extra) -> tuple[dict, str]:
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": registration["client_id"],
              "redirect_uri": registration["redirect_uris"][0], "scope": scope,
              "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
              "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return params, verifier


def _callback(response: requests.Response, registration: dict, params: dict) -> str:
    location = response.headers.get("Location", "")
    assert location.startswith(registration["redirect_uris"][0] + "?"), (
        response.status_code, location, response.text[:500])
    result = query_of(location)
    assert result["state"] == params["state"] and result["iss"] == ISSUER, result
    return result["code"]


def _token(node: str, registration: dict, **data) -> dict:
    response = requests.post(
        f"{node}/token", data=data, timeout=HTTP_TIMEOUT,
        auth=(registration["client_id"], registration["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return response.json()


def _userinfo(node: str, access_token: str) -> requests.Response:
    return requests.get(f"{node}/userinfo", timeout=HTTP_TIMEOUT,
                        headers={"Authorization": f"Bearer {access_token}"})


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s")
        time.sleep(0.1)


def test_two_nodes_share_sessions_tokens_and_single_logout_delivered_once(nodes, receiver):
    (node_a, node_b), environ, logs = nodes
    initial = json.loads(_flask(
        environ, "issue-registration-token", "--agency-name", "Sở Tư pháp tỉnh Vĩnh Long",
        "--level", "province", "--unit-code", "86", "--json"))["initial_access_token"]
    rp1 = _register(node_a, initial, receiver, "rp1", scope="openid profile offline_access",
                    grant_types=["authorization_code", "refresh_token"])
    rp2 = _register(node_b, initial, receiver, "rp2")
    browser = Browser()

    # RP 1, authorize on node A: the real sign-in form, then consent (prompt=consent, for
    # offline access) shown by node A and answered to node B: CSRF and the pending request's
    # binding hold across nodes only with the same SECRET_KEY.
    params, verifier = _authorize_params(rp1, "openid profile offline_access",
                                         prompt="consent")
    response = browser.get(node_a, "/authorize?" + requests.compat.urlencode(params))
    login = _path(response)
    assert urlsplit(login).path == "/login"
    page = browser.get(node_a, login)
    assert page.status_code == 200
    response = browser.post(node_a, login, {"csrf_token": _csrf(page.text),
                                            "personal_id": PERSONAL_ID, "password": PASSWORD})
    response = browser.get(node_a, _path(response))  # /authorize/resume/<uid>
    consent = _path(response)
    assert urlsplit(consent).path == "/consent"
    page = browser.get(node_a, consent)
    assert page.status_code == 200
    response = browser.post(node_b, consent, {"csrf_token": _csrf(page.text),
                                              "decision": "allow"})
    while not response.headers.get("Location", "").startswith(receiver.base):
        response = browser.get(node_a, _path(response))
    code = _callback(response, rp1, params)

    # Token on node B, UserInfo on node A, refresh on node B.
    jwks = KeySet.import_key_set(requests.get(f"{node_b}/jwks", timeout=HTTP_TIMEOUT).json())
    tokens = _token(node_b, rp1, grant_type="authorization_code", code=code,
                    redirect_uri=rp1["redirect_uris"][0], code_verifier=verifier)
    id_token = jwt.decode(tokens["id_token"], jwks).claims
    assert id_token["iss"] == ISSUER and id_token["nonce"] == params["nonce"]
    sid = id_token["sid"]
    info = _userinfo(node_a, tokens["access_token"])
    assert info.status_code == 200 and info.json()["sub"] == id_token["sub"], info.text
    assert info.json()["name"] == "Nguyễn Văn An"
    refreshed = _token(node_b, rp1, grant_type="refresh_token",
                       refresh_token=tokens["refresh_token"])
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert _userinfo(node_a, refreshed["access_token"]).status_code == 200

    # RP 2 on node B: single sign-on (no sign-in page), its first consent; token on node A.
    params2, verifier2 = _authorize_params(rp2, "openid profile")
    response = browser.get(node_b, "/authorize?" + requests.compat.urlencode(params2))
    while not response.headers.get("Location", "").startswith(receiver.base):
        step = _path(response)
        assert urlsplit(step).path != "/login", "single sign-on asked for the password again"
        if urlsplit(step).path == "/consent":
            page = browser.get(node_b, step)
            response = browser.post(node_b, step, {"csrf_token": _csrf(page.text),
                                                   "decision": "allow"})
        else:
            response = browser.get(node_b, step)
    code2 = _callback(response, rp2, params2)
    tokens2 = _token(node_a, rp2, grant_type="authorization_code", code=code2,
                     redirect_uri=rp2["redirect_uris"][0], code_verifier=verifier2)
    assert jwt.decode(tokens2["id_token"], jwks).claims["sid"] == sid

    # RP-initiated logout on node B with RP 1's ID token.
    logout = {"id_token_hint": tokens["id_token"],
              "post_logout_redirect_uri": rp1["post_logout_redirect_uris"][0], "state": "bye"}
    response = browser.get(node_b, "/logout?" + requests.compat.urlencode(logout))
    if response.status_code == 200 and 'name="confirm"' in response.text:
        response = browser.post(node_b, "/logout", {"csrf_token": _csrf(response.text),
                                                    "confirm": "yes"})
    assert response.status_code in (200, 302, 303), (response.status_code, response.text[:500])
    # The session's access tokens stop working on every node (offline access goes on: api.md).
    assert _userinfo(node_a, tokens2["access_token"]).status_code == 401

    # Each participant gets exactly one logout token, from one of the two workers.
    paths = {rp1["client_id"]: "/rp1/backchannel-logout",
             rp2["client_id"]: "/rp2/backchannel-logout"}
    _wait_for(lambda: all(receiver.count(path) for path in paths.values()), DELIVERY_TIMEOUT,
              f"not every participant received a logout token: {receiver.posts!r}")
    jwks = KeySet.import_key_set(requests.get(f"{node_a}/jwks", timeout=HTTP_TIMEOUT).json())
    for client_id, path in paths.items():
        [logout_token] = receiver.tokens_for(path)
        token = jwt.decode(logout_token, jwks)
        assert token.header["typ"] == "logout+jwt"
        claims = token.claims
        assert claims["iss"] == ISSUER and claims["aud"] == client_id
        assert claims["sid"] == sid
        assert BACKCHANNEL_EVENT in claims["events"] and "nonce" not in claims
    time.sleep(DUPLICATE_WAIT)  # several polls of both workers: nothing more may arrive
    assert {path: receiver.count(path) for path in paths.values()} == {
        path: 1 for path in paths.values()}, receiver.posts
    rows = json.loads(_flask(environ, "list-logout-deliveries", "--json"))
    assert sorted((row["client_id"], row["status"], row["attempts"]) for row in rows) == sorted(
        (client_id, "delivered", 1) for client_id in paths), rows
    worker_logs = [logs[f"worker{n}"].read_text(errors="replace") for n in range(2)]
    delivered = [int(n) for log in worker_logs for n in re.findall(r"^delivered (\d+),", log, re.M)]
    assert sum(delivered) == 2, worker_logs
