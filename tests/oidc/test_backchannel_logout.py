"""OpenID Connect Back-Channel Logout 1.0 (``oidcc-backchannel-rp-initiated-logout-certification-
test-plan``, docs/conformance.md §2f): when the SSO session ends, each client that received
tokens in it gets a logout token POSTed to its ``backchannel_logout_uri``, retried with backoff.

The clients' endpoints are a real HTTP server on 127.0.0.1 (through the guarded outbound client).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from joserfc import jwt

from tests.conftest import ISSUER, _csrf
from tests.oidc.conftest import ALGORITHMS, bearer

EVENT = "http://schemas.openid.net/event/backchannel-logout"
REPO_ROOT = Path(__file__).resolve().parents[2]


class LogoutReceiver:
    """A relying party's ``backchannel_logout_uri``: records each POST and answers with the
    next status of ``statuses`` (the last one repeats); ``on_post``, when set, runs before it
    answers (the gateway's attempt is then in progress)."""

    def __init__(self):
        self.posts: list[dict] = []
        self.statuses = [200]
        self.on_post = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.posts.append({"path": self.path, "body": body,
                                       "content_type": self.headers.get("Content-Type")})
                if receiver.on_post is not None:
                    receiver.on_post()
                status = receiver.statuses[min(len(receiver.posts), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel-logout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def logout_tokens(self) -> list[str]:
        return [parse_qs(post["body"])["logout_token"][0] for post in self.posts]


@pytest.fixture
def receiver():
    site = LogoutReceiver()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture
def closed_port_uri():
    """A loopback URI where nothing listens (the connection is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/backchannel-logout"


@pytest.fixture
def backchannel_rp(register_rp, receiver):
    """A dynamically registered client with a ``backchannel_logout_uri`` on ``receiver``."""
    return register_rp(
        backchannel_logout_uri=receiver.uri, backchannel_logout_session_required=True,
        post_logout_redirect_uris=["https://rp.example.vn/bye"],
    )


def logout_with_hint(rp, id_token: str, state: str = "bye-1"):
    return rp.http.get("/logout", query_string={
        "id_token_hint": id_token, "state": state,
        "post_logout_redirect_uri": rp.registration["post_logout_redirect_uris"][0],
    })


def decode_logout_token(token: str, jwks, now: int):
    decoded = jwt.decode(token, jwks, algorithms=ALGORITHMS)
    return decoded.header, decoded.claims


def deliveries(runner, status=None) -> list[dict]:
    args = ["list-logout-deliveries", "--json"] + (["--status", status] if status else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_oidcc_backchannel_logout_discovery_endpoint_verification(client):
    """oidcc-backchannel-logout-discovery-endpoint-verification: Back-Channel Logout §2.1."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
    assert metadata["end_session_endpoint"] == ISSUER + "/logout"


def test_oidcc_backchannel_rp_initiated_logout_posts_logout_token(backchannel_rp, receiver,
                                                                   jwks, clock, runner):
    """oidcc-backchannel-rp-initiated-logout (Back-Channel Logout §2.4, §2.5): a signed
    ``logout+jwt`` with ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, exactly the logout event,
    the ``sub`` and ``sid`` of the ID token and no ``nonce``, POSTed form-encoded; then the
    redirect to the ``post_logout_redirect_uri`` with ``state``; ``prompt=none`` fails."""
    rp = backchannel_rp
    _, tokens = rp.tokens()
    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=ALGORITHMS).claims
    assert id_token["sid"]

    response = logout_with_hint(rp, tokens["id_token"], state="bye-42")

    assert response.status_code == 302
    assert response.headers["Location"] == "https://rp.example.vn/bye?state=bye-42"
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    assert post["path"] == "/backchannel-logout"
    assert post["content_type"] == "application/x-www-form-urlencoded"
    header, claims = decode_logout_token(receiver.logout_tokens()[0], jwks, clock.now())
    assert header["typ"] == "logout+jwt" and header["kid"]
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.reg["client_id"]
    assert claims["iat"] == clock.now() and clock.now() < claims["exp"] <= clock.now() + 300
    assert claims["jti"]
    assert claims["events"] == {EVENT: {}}
    assert claims["sid"] == id_token["sid"]
    assert claims["sub"] == id_token["sub"]
    assert "nonce" not in claims
    params, response = rp.authorize(prompt="none")
    assert rp.redirect_result(response)["error"] == "login_required"
    assert rp.http.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    [row] = deliveries(runner)
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert row["last_status_code"] == 200 and row["delivered_at"] == clock.now()


def test_backchannel_logout_token_signed_with_client_id_token_alg(register_rp, receiver, jwks,
                                                                   clock):
    """§2.4: signed as the client's ID tokens are (here ``ES256``)."""
    rp = register_rp(backchannel_logout_uri=receiver.uri, id_token_signed_response_alg="ES256",
                     post_logout_redirect_uris=["https://rp.example.vn/bye"])
    _, tokens = rp.tokens()
    logout_with_hint(rp, tokens["id_token"])
    header, _ = decode_logout_token(receiver.logout_tokens()[0], jwks, clock.now())
    assert header["alg"] == "ES256"


def test_backchannel_logout_only_to_clients_of_the_ended_session(register_rp, receiver, factory,
                                                                  client, clock, jwks):
    """§2.7: only clients that took part in the session are told, each with the ``sub`` it
    saw (pairwise subjects differ by sector, OIDC Core §8.1)."""
    first = register_rp(backchannel_logout_uri=receiver.uri,
                        redirect_uris=["https://first.example.vn/callback"],
                        post_logout_redirect_uris=["https://first.example.vn/bye"])
    second = register_rp(citizen=first.citizen, backchannel_logout_uri=receiver.uri,
                         redirect_uris=["https://second.example.vn/callback"])
    bystander = register_rp(backchannel_logout_uri=receiver.uri + "?bystander",
                            redirect_uris=["https://third.example.vn/callback"])
    _, first_tokens = first.tokens()
    _, second_tokens = second.tokens()
    assert second.pages == [] or "login" not in second.pages  # the same SSO session

    logout_with_hint(first, first_tokens["id_token"])

    assert bystander.reg["client_id"] not in {
        claims["aud"] for _, claims in
        (decode_logout_token(t, jwks, clock.now()) for t in receiver.logout_tokens())
    }
    by_client = {claims["aud"]: claims for _, claims in
                 (decode_logout_token(t, jwks, clock.now()) for t in receiver.logout_tokens())}
    assert set(by_client) == {first.reg["client_id"], second.reg["client_id"]}
    for party, tokens in ((first, first_tokens), (second, second_tokens)):
        id_token = jwt.decode(tokens["id_token"], jwks, algorithms=ALGORITHMS).claims
        assert by_client[party.reg["client_id"]]["sub"] == id_token["sub"]
        assert by_client[party.reg["client_id"]]["sid"] == id_token["sid"]
    assert by_client[first.reg["client_id"]]["sub"] != by_client[second.reg["client_id"]]["sub"]


def test_backchannel_logout_retried_with_backoff_until_delivered(backchannel_rp, receiver, clock,
                                                                 runner, app):
    """§2.8: a failed delivery is retried later: the inline attempt at logout gets a 500, the
    worker retries only when due (after ``LOGOUT_DELIVERY_BACKOFF``) and then delivers."""
    receiver.statuses = [500, 204]
    rp = backchannel_rp
    _, tokens = rp.tokens()
    logout_with_hint(rp, tokens["id_token"])
    [row] = deliveries(runner)
    backoff = app.config["LOGOUT_DELIVERY_BACKOFF"]
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["last_status_code"] == 500 and row["last_error"] == "HTTP 500"
    assert row["next_attempt_at"] == clock.now() + backoff

    result = runner.invoke(args=["deliver-logouts"])  # not due yet
    assert result.exit_code == 0 and "delivered 0" in result.output
    assert len(receiver.posts) == 1

    clock.advance(backoff)
    result = runner.invoke(args=["deliver-logouts"])
    assert result.exit_code == 0 and "delivered 1" in result.output, result.output
    [row] = deliveries(runner)
    assert row["status"] == "delivered" and row["attempts"] == 2
    assert [h["status_code"] for h in row["history"]] == [500, 204]
    assert len(set(receiver.logout_tokens())) == 2  # signed afresh: new iat, exp and jti


def test_backchannel_logout_failed_after_max_attempts(backchannel_rp, receiver, clock, runner,
                                                      app):
    """Each attempt's outcome is recorded; after ``LOGOUT_DELIVERY_MAX_ATTEMPTS`` the delivery
    is ``failed``, the delays doubling in between."""
    app.config.update(LOGOUT_DELIVERY_MAX_ATTEMPTS=4, LOGOUT_DELIVERY_BACKOFF=10)
    receiver.statuses = [503]
    rp = backchannel_rp
    _, tokens = rp.tokens()
    logout_with_hint(rp, tokens["id_token"])
    delays = []
    for _ in range(3):
        [row] = deliveries(runner)
        delays.append(row["next_attempt_at"] - clock.now())
        clock.advance(row["next_attempt_at"] - clock.now())
        assert runner.invoke(args=["deliver-logouts"]).exit_code == 0
    assert delays == [10, 20, 40]
    [row] = deliveries(runner, "failed")
    assert row["attempts"] == 4 and row["next_attempt_at"] is None
    assert [h["status_code"] for h in row["history"]] == [503] * 4
    assert len(receiver.posts) == 4
    clock.advance(3600)
    assert "delivered 0, to retry 0, failed 0" in runner.invoke(args=["deliver-logouts"]).output
    assert len(receiver.posts) == 4
    table = runner.invoke(args=["list-logout-deliveries"]).output
    assert "failed: 1" in table and rp.reg["client_id"] in table


def test_backchannel_logout_unreachable_uri_recorded_and_retried(register_rp, closed_port_uri,
                                                                  runner):
    """No answer at all (connection refused) is an attempt too, with its error recorded."""
    rp = register_rp(backchannel_logout_uri=closed_port_uri,
                     post_logout_redirect_uris=["https://rp.example.vn/bye"])
    _, tokens = rp.tokens()
    response = logout_with_hint(rp, tokens["id_token"])
    assert response.status_code == 302  # the person is not held up by a broken client
    [row] = deliveries(runner)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["last_status_code"] is None and "request failed" in row["last_error"]


def test_backchannel_logout_left_to_worker_when_inline_budget_zero(backchannel_rp, receiver,
                                                                   runner, app):
    """``LOGOUT_DELIVERY_INLINE_BUDGET = 0``: logout only queues; the worker delivers."""
    app.config["LOGOUT_DELIVERY_INLINE_BUDGET"] = 0
    rp = backchannel_rp
    _, tokens = rp.tokens()
    logout_with_hint(rp, tokens["id_token"])
    assert receiver.posts == []
    assert deliveries(runner, "pending")[0]["attempts"] == 0
    assert "delivered 1" in runner.invoke(args=["deliver-logouts"]).output
    assert len(receiver.posts) == 1


def test_deliver_logouts_skips_delivery_another_worker_claimed_during_its_pass(
        register_rp, receiver, runner, app):
    """Two workers (several nodes): while this pass posts the first delivery, another worker
    claims the second one; this pass must leave it to that worker, not post it again. (The
    claim once compared against the row as reloaded after the first commit: it always won.)"""
    from gateway.extensions import db
    from gateway.oidc import logout_outbox

    app.config["LOGOUT_DELIVERY_INLINE_BUDGET"] = 0
    first = register_rp(backchannel_logout_uri=receiver.uri,
                        redirect_uris=["https://first.example.vn/callback"],
                        post_logout_redirect_uris=["https://first.example.vn/bye"])
    second = register_rp(citizen=first.citizen, backchannel_logout_uri=receiver.uri,
                         redirect_uris=["https://second.example.vn/callback"])
    _, first_tokens = first.tokens()
    second.tokens()
    logout_with_hint(first, first_tokens["id_token"])
    pending = deliveries(runner, "pending")
    assert len(pending) == 2 and receiver.posts == []
    later = max(row["id"] for row in pending)
    claimed = []

    def other_worker_claims_the_second():
        if claimed:
            return
        with app.app_context():
            [delivery] = logout_outbox.get_due_logout_deliveries(ids=[later])
            claimed.append(logout_outbox.claim_logout_delivery(
                delivery, app.config["LOGOUT_DELIVERY_LEASE"]))
            db.session.commit()  # that worker's claim, committed before it posts
            db.session.remove()

    receiver.on_post = other_worker_claims_the_second
    output = runner.invoke(args=["deliver-logouts"]).output
    assert claimed == [True]
    assert "delivered 1," in output and "skipped 1" in output, output
    assert len(receiver.posts) == 1
    [row] = [row for row in deliveries(runner) if row["id"] == later]
    assert row["status"] == "pending" and row["attempts"] == 0


def test_backchannel_logout_on_account_sign_out(backchannel_rp, receiver, jwks, clock):
    """The person's own sign-out on the gateway's account page logs the clients out too."""
    rp = backchannel_rp
    _, tokens = rp.tokens()
    page = rp.http.get("/")
    response = rp.http.post("/signout", data={"csrf_token": _csrf(page.get_data(as_text=True))})
    assert response.status_code == 200
    _, claims = decode_logout_token(receiver.logout_tokens()[0], jwks, clock.now())
    assert claims["aud"] == rp.reg["client_id"]


def test_backchannel_logout_sent_once_per_session(backchannel_rp, receiver):
    """A second logout request for an already ended session sends nothing more."""
    rp = backchannel_rp
    _, tokens = rp.tokens()
    logout_with_hint(rp, tokens["id_token"])
    logout_with_hint(rp, tokens["id_token"])
    assert len(receiver.posts) == 1


def test_backchannel_logout_when_another_person_signs_in(backchannel_rp, receiver, factory, jwks,
                                                         clock):
    """Signing in as someone else on the same browser ends the first person's session: its
    clients are told."""
    rp = backchannel_rp
    _, tokens = rp.tokens()
    other = factory.citizen()
    params, response = rp.authorize(prompt="login")
    location = response.headers["Location"]
    rp.login(location, citizen=other)
    _, claims = decode_logout_token(receiver.logout_tokens()[0], jwks, clock.now())
    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=ALGORITHMS).claims
    assert claims["sid"] == id_token["sid"]


@pytest.fixture
def worker_env(app, tmp_path):
    """Environment for a ``flask --app gateway`` process on this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "PORTAL_"))}
    env.update(GATEWAY_ENV="development", GATEWAY_ISSUER=ISSUER,
               GATEWAY_INSTANCE_PATH=str(tmp_path),
               GATEWAY_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               GATEWAY_KEY_ENCRYPTION_KEY=app.config["KEY_ENCRYPTION_KEY"])
    if app.config.get("REDIS_URL"):  # the same hot store: sessions, codes, limits
        env.update(GATEWAY_REDIS_URL=app.config["REDIS_URL"],
                   GATEWAY_REDIS_KEY_PREFIX=app.config["REDIS_KEY_PREFIX"])
    return env


def test_deliver_logouts_loop_worker_delivers_and_stops_on_sigterm(backchannel_rp, receiver,
                                                                   runner, app, clock,
                                                                   worker_env):
    """The worker as operators run it (``deliver-logouts --loop``, a real process): it picks
    up what logout queued, delivers it, and exits cleanly on SIGTERM."""
    clock.current = int(time.time())  # the worker process reads the system clock
    app.config["LOGOUT_DELIVERY_INLINE_BUDGET"] = 0
    rp = backchannel_rp
    _, tokens = rp.tokens()
    logout_with_hint(rp, tokens["id_token"])
    assert receiver.posts == []
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "gateway", "deliver-logouts", "--loop",
         "--interval", "0.2"],
        cwd=REPO_ROOT, env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not receiver.posts and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        assert len(receiver.posts) == 1
        time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "delivered 1" in output
    [row] = deliveries(runner)
    assert row["status"] == "delivered" and row["attempts"] == 1
