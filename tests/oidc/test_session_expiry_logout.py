"""SSO sessions that merely run out — past ``SSO_SESSION_LIFETIME`` or idle for
``SSO_SESSION_IDLE_TIMEOUT`` — log their clients out exactly as a sign-out does (Back-Channel
Logout 1.0 §2.7): the sweep (``deliver-logouts``, ``end-expired-sessions``, ``prune-records``)
ends each one once, revokes its tokens and queues one logout token per participating client.

The clients' ``backchannel_logout_uri`` are real HTTP servers on 127.0.0.1
(``tests/oidc/test_backchannel_logout.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from joserfc import jwt
from sqlalchemy import select

from tests.conftest import Factory, build_app, create_postgresql_database
from tests.oidc.conftest import (
    ALGORITHMS,
    DynamicRelyingParty,
    basic,
    bearer,
    issue_registration_token,
    register,
)
from tests.oidc.test_backchannel_logout import (
    REPO_ROOT,
    LogoutReceiver,
    decode_logout_token,
    deliveries,
    worker_env,  # noqa: F401 (fixture)
)

IDLE = 600  # shorter than the access tokens' hour, so a revoked token is told from an expired one
LIFETIME = 1800


@pytest.fixture
def receivers():
    """Two relying parties' ``backchannel_logout_uri``."""
    sites = [LogoutReceiver(), LogoutReceiver()]
    for site in sites:
        site.thread.start()
    yield sites
    for site in sites:
        site.server.shutdown()
        site.server.server_close()


def sign_in_at_two_clients(register_rp, receivers, **first_metadata):
    """One person signs in at two clients with ``backchannel_logout_uri`` in one SSO session
    (the second flow shows no sign-in page). Returns ``[(party, tokens, id_token claims)]``."""
    first = register_rp(backchannel_logout_uri=receivers[0].uri,
                        backchannel_logout_session_required=True,
                        redirect_uris=["https://first.example.vn/callback"], **first_metadata)
    second = register_rp(citizen=first.citizen, backchannel_logout_uri=receivers[1].uri,
                         redirect_uris=["https://second.example.vn/callback"])
    signed_in = []
    for party in (first, second):
        _, tokens = party.tokens()
        signed_in.append((party, tokens, tokens["id_token"]))
    assert "login" not in second.pages  # single sign-on: the same session
    return signed_in


def id_token_claims(token: str, jwks) -> dict:
    return jwt.decode(token, jwks, algorithms=ALGORITHMS).claims


def sweep(runner) -> dict:
    result = runner.invoke(args=["end-expired-sessions", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def assert_logged_out(signed_in, receivers, jwks, clock):
    """Each client got exactly one logout token, with the ``sid`` and ``sub`` of its own ID
    token, and its access token no longer works."""
    for (party, tokens, id_token), site in zip(signed_in, receivers, strict=True):
        expected = id_token_claims(id_token, jwks)
        [token] = site.logout_tokens()
        header, claims = decode_logout_token(token, jwks, clock.now())
        assert header["typ"] == "logout+jwt"
        assert claims["aud"] == party.reg["client_id"]
        assert claims["sid"] == expected["sid"] and claims["sub"] == expected["sub"]
        assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
        assert "nonce" not in claims and "reason" not in claims
        response = party.http.get("/userinfo", headers=bearer(tokens["access_token"]))
        assert response.status_code == 401


def test_idle_session_swept_logs_out_each_client_once(register_rp, receivers, runner, app,
                                                      clock, jwks):
    app.config["SSO_SESSION_IDLE_TIMEOUT"] = IDLE
    signed_in = sign_in_at_two_clients(register_rp, receivers)
    first = signed_in[0][0]

    clock.advance(IDLE - 1)
    assert sweep(runner) == {"ended": 0, "expired": 0, "idle": 0}
    assert deliveries(runner) == []
    for party, tokens, _ in signed_in:
        response = party.http.get("/userinfo", headers=bearer(tokens["access_token"]))
        assert response.status_code == 200

    clock.advance(1)
    assert sweep(runner) == {"ended": 1, "expired": 0, "idle": 1}
    rows = deliveries(runner, "pending")
    assert len(rows) == 2 and {row["reason"] for row in rows} == {"idle"}
    result = runner.invoke(args=["deliver-logouts"])
    assert result.exit_code == 0 and "delivered 2" in result.output, result.output

    assert_logged_out(signed_in, receivers, jwks, clock)
    _, response = first.authorize(prompt="none")
    assert first.redirect_result(response)["error"] == "login_required"


def test_session_past_lifetime_swept_while_active(register_rp, receivers, runner, app, clock,
                                                  jwks):
    """Kept busy (never idle), the session still ends at ``SSO_SESSION_LIFETIME``."""
    app.config["SSO_SESSION_LIFETIME"] = LIFETIME
    signed_in = sign_in_at_two_clients(register_rp, receivers)
    first = signed_in[0][0]
    for _ in range(2):
        clock.advance(LIFETIME // 3)
        assert first.http.get("/").status_code == 200  # activity at the gateway

    clock.advance(LIFETIME - 2 * (LIFETIME // 3) - 1)
    assert sweep(runner)["ended"] == 0
    _, response = first.authorize(prompt="none")
    assert "code" in first.redirect_result(response)  # still signed in

    clock.advance(1)
    assert sweep(runner) == {"ended": 1, "expired": 1, "idle": 0}
    assert {row["reason"] for row in deliveries(runner)} == {"expired"}
    assert "delivered 2" in runner.invoke(args=["deliver-logouts"]).output
    assert_logged_out(signed_in, receivers, jwks, clock)
    _, response = first.authorize(prompt="none")
    assert first.redirect_result(response)["error"] == "login_required"


def test_session_expiry_sweep_leaves_live_sessions_untouched(register_rp, receivers, runner,
                                                             app, clock, jwks, factory):
    """Another person, signed in later on another browser at the same client, keeps their
    session, tokens and single sign-on; only the expired session's ``sid`` is sent."""
    app.config["SSO_SESSION_IDLE_TIMEOUT"] = IDLE
    signed_in = sign_in_at_two_clients(register_rp, receivers)
    first = signed_in[0][0]
    clock.advance(IDLE // 2)
    other = DynamicRelyingParty(app.test_client(), first.registration, factory.citizen())
    _, other_tokens = other.tokens()

    clock.advance(IDLE - IDLE // 2)
    assert sweep(runner)["ended"] == 1
    runner.invoke(args=["deliver-logouts"])

    [token] = receivers[0].logout_tokens()
    _, claims = decode_logout_token(token, jwks, clock.now())
    assert claims["sid"] == id_token_claims(signed_in[0][2], jwks)["sid"]
    assert claims["sid"] != id_token_claims(other_tokens["id_token"], jwks)["sid"]
    assert other.http.get("/userinfo",
                          headers=bearer(other_tokens["access_token"])).status_code == 200
    _, response = other.authorize(prompt="none")
    assert "code" in other.redirect_result(response)


def test_session_expiry_sweep_twice_queues_one_delivery_per_client(register_rp, receivers,
                                                                   runner, app, clock):
    app.config["SSO_SESSION_IDLE_TIMEOUT"] = IDLE
    sign_in_at_two_clients(register_rp, receivers)
    clock.advance(IDLE)
    assert sweep(runner)["ended"] == 1
    assert sweep(runner)["ended"] == 0
    result = runner.invoke(args=["deliver-logouts"])
    assert "ended 0 expired sessions" in result.output and "delivered 2" in result.output
    assert len(deliveries(runner)) == 2
    assert [len(site.posts) for site in receivers] == [1, 1]


def test_session_expiry_keeps_offline_access(rp, factory, runner, app, clock):
    """Offline access (a refresh token) outlives the session, as on sign-out (OIDC Core §11)."""
    app.config["SSO_SESSION_IDLE_TIMEOUT"] = IDLE
    rp.reg = factory.oauth_client(grant_types=["authorization_code", "refresh_token"])
    _, result = rp.code_flow(scope="openid profile offline_access", prompt="consent")
    tokens = rp.token(result["code"]).get_json()
    clock.advance(IDLE)
    assert sweep(runner)["ended"] == 1
    response = rp.http.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]},
                            headers=basic(rp.reg["client_id"], rp.reg["client_secret"]))
    assert response.status_code == 200, response.get_json()


def test_session_expiry_sends_no_frontchannel_logout(register_rp, runner, app, clock):
    """No browser is there when a session runs out: a client with only a
    ``frontchannel_logout_uri`` is not told (docs/agency-integration.md says so)."""
    app.config["SSO_SESSION_IDLE_TIMEOUT"] = IDLE
    party = register_rp(frontchannel_logout_uri="https://rp.example.vn/frontchannel-logout")
    _, tokens = party.tokens()
    clock.advance(IDLE)
    assert sweep(runner)["ended"] == 1
    assert deliveries(runner) == []
    assert party.http.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def test_end_expired_sessions_prints_count(register_rp, receivers, runner, app, clock):
    app.config["SSO_SESSION_IDLE_TIMEOUT"] = IDLE
    sign_in_at_two_clients(register_rp, receivers)
    clock.advance(IDLE)
    result = runner.invoke(args=["end-expired-sessions"])
    assert result.exit_code == 0, result.output
    assert result.output == "ended 1 expired sessions (0 past their lifetime, 1 idle)\n"
    assert [site.posts for site in receivers] == [[], []]  # queued for deliver-logouts


def test_end_expired_sessions_in_bounded_batches(register_rp, people_at_one_client, runner,
                                                  app, clock):
    """Batches of ``SSO_SESSION_SWEEP_BATCH``: the command sweeps until none is left."""
    from gateway.oidc import logout

    app.config.update(SSO_SESSION_IDLE_TIMEOUT=IDLE, SSO_SESSION_SWEEP_BATCH=2)
    parties = people_at_one_client(5)
    clock.advance(IDLE)
    with app.app_context():  # one batch, as each poll of ``deliver-logouts --loop`` sweeps
        assert logout.end_expired_sessions(max_batches=1) == {"expired": 0, "idle": 2,
                                                              "more": True}
    assert sweep(runner)["ended"] == 3
    assert len(deliveries(runner)) == 5
    assert {row["client_id"] for row in deliveries(runner)} == {parties[0].reg["client_id"]}


@pytest.fixture
def people_at_one_client(register_rp, receivers, app, factory):
    """``make(n)``: n people, each on their own browser, signed in at one client."""

    def make(n):
        first = register_rp(backchannel_logout_uri=receivers[0].uri)
        parties = []
        for _ in range(n):
            party = DynamicRelyingParty(app.test_client(), first.registration,
                                        factory.citizen())
            party.tokens()
            parties.append(party)
        return parties

    return make


def test_prune_records_ends_expired_session_with_logout_before_deleting(register_rp, receivers,
                                                                        runner, clock, jwks):
    """A session expired long ago and never swept (no worker ran): ``prune-records`` ends it
    with its logouts queued before it deletes the session and its participants; ``--dry-run``
    only counts it."""
    [(party, _, id_token), _] = sign_in_at_two_clients(register_rp, receivers)
    clock.advance(181 * 86400)

    result = runner.invoke(args=["prune-records", "--dry-run", "--json"])
    dry = json.loads(result.output)
    assert dry["ended_sessions"] == 1 and dry["deleted"]["session_endings"] == 0
    assert deliveries(runner) == []

    result = runner.invoke(args=["prune-records", "--json"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["ended_sessions"] == 1
    assert output["deleted"]["session_endings"] == 1  # it ran out 180 days ago
    assert output["deleted"]["session_participants"] == 2
    assert [row["reason"] for row in deliveries(runner, "pending")] == ["expired"] * 2

    assert "delivered 2" in runner.invoke(args=["deliver-logouts"]).output
    [token] = receivers[0].logout_tokens()
    _, claims = decode_logout_token(token, jwks, clock.now())
    assert claims["sid"] == id_token_claims(id_token, jwks)["sid"]
    assert claims["aud"] == party.reg["client_id"]


def test_deliver_logouts_loop_worker_sweeps_expired_sessions(register_rp, receivers, runner,
                                                             app, clock, worker_env):  # noqa: F811
    """The worker as operators run it (a real process, on the system clock): an idle session
    is ended and both clients told, with no sign-out at all."""
    clock.current = int(time.time()) - app.config["SSO_SESSION_IDLE_TIMEOUT"] - 60
    sign_in_at_two_clients(register_rp, receivers)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "gateway", "deliver-logouts", "--loop",
         "--interval", "0.2"],
        cwd=REPO_ROOT, env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while (not all(site.posts for site in receivers) and time.monotonic() < deadline
               and worker.poll() is None):
            time.sleep(0.1)
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert [len(site.posts) for site in receivers] == [1, 1], output
    assert "ended 1 expired sessions" in output
    assert {row["status"] for row in deliveries(runner)} == {"delivered"}


# -- two sweepers at once (two ``deliver-logouts --loop`` workers on two nodes) -----------------


@pytest.fixture
def pg_app(clock):
    for database_uri in create_postgresql_database("gateway_expiry"):
        yield from build_app(database_uri, clock)


def test_session_expiry_racing_sweepers_queue_one_delivery_per_client_on_postgresql(
        pg_app, receivers, clock, monkeypatch):
    """Both sweepers read the same expired session before either ends it; the compare-and-set
    lets one end it and queue its two deliveries, the other queues nothing."""
    from gateway.extensions import db
    from gateway.oidc import logout, session_store
    from gateway.oidc.models import LogoutDelivery

    pg_app.config["SSO_SESSION_IDLE_TIMEOUT"] = IDLE
    http = pg_app.test_client()
    runner = pg_app.test_cli_runner()
    token = issue_registration_token(runner)["initial_access_token"]
    citizen = Factory(pg_app).citizen()
    parties = []
    for n, site in enumerate(receivers):
        response = register(http, token, {
            "client_name": f"Cổng {n}", "redirect_uris": [f"https://rp{n}.example.vn/cb"],
            "backchannel_logout_uri": site.uri})
        assert response.status_code == 201, response.get_json()
        party = DynamicRelyingParty(http, response.get_json(), citizen)
        party.now = clock.now
        party.tokens()
        parties.append(party)
    clock.advance(IDLE)

    both_read = threading.Barrier(2, timeout=30)
    original = session_store.get_expired_user_sessions

    def read_then_wait(limit):
        found = original(limit)
        both_read.wait()
        return found

    monkeypatch.setattr(session_store, "get_expired_user_sessions", read_then_wait)
    results, errors = [], []

    def sweeper():
        try:
            with pg_app.app_context():
                results.append(logout.end_expired_sessions())
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r["idle"] for r in results) == [0, 1]
    with pg_app.app_context():
        rows = db.session.scalars(select(LogoutDelivery)).all()
        assert sorted(row.client_id for row in rows) == sorted(p.reg["client_id"]
                                                               for p in parties)


def test_sign_out_interrupted_before_its_commit_is_finished_by_the_sweep(
        register_rp, receivers, runner, app, clock, monkeypatch):
    """A node dies between signing the browser out and committing the ending (tokens revoked,
    logouts queued): the person is signed out at once, nothing half-written is left, and the
    sweep, once the session falls due, ends it with one logout per client."""
    from gateway.oidc import storage
    from tests.conftest import _csrf

    app.config["SSO_SESSION_IDLE_TIMEOUT"] = IDLE
    signed_in = sign_in_at_two_clients(register_rp, receivers)
    first = signed_in[0][0]

    def node_dies():
        raise RuntimeError("the node died before its commit")

    page = first.http.get("/")
    monkeypatch.setattr(storage, "commit", node_dies)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = first.http.post("/signout", data={"csrf_token": _csrf(page.get_data(as_text=True))})
    assert response.status_code == 500
    monkeypatch.undo()

    _, response = first.authorize(prompt="none")
    assert first.redirect_result(response)["error"] == "login_required"  # signed out at once
    assert deliveries(runner) == []
    for party, tokens, _ in signed_in:  # the ending was not committed: nothing revoked yet
        response = party.http.get("/userinfo", headers=bearer(tokens["access_token"]))
        assert response.status_code == 200

    clock.advance(IDLE)
    assert sweep(runner) == {"ended": 1, "expired": 0, "idle": 1}
    assert sorted(row["client_id"] for row in deliveries(runner, "pending")) == sorted(
        party.reg["client_id"] for party, _, _ in signed_in)
    assert sweep(runner) == {"ended": 0, "expired": 0, "idle": 0}
