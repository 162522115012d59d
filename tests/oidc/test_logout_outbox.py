"""The logout outbox's contract (``gateway/oidc/logout_outbox.py``) on SQLite and PostgreSQL
(skipped, saying why, where PostgreSQL is absent): Back-Channel Logout 1.0 §2.5 deliveries are
queued with the session's end, claimed once however many workers race, and kept with every
attempt until pruned."""

from __future__ import annotations

import threading

import pytest

from gateway.extensions import db
from gateway.oidc import logout_outbox
from tests.conftest import build_app, create_postgresql_database

CLAIMS = {"aud": "portal", "sub": "s", "sid": "sid-1"}


@pytest.fixture(params=["sqlite", "postgresql"])
def outbox_app(request, tmp_path, clock):
    if request.param == "sqlite":
        yield from build_app(f"sqlite:///{tmp_path / 'outbox.db'}", clock)
        return
    for url in create_postgresql_database("gateway_logout_outbox"):
        yield from build_app(url, clock)


def _queue(n: int = 1) -> list[int]:
    for i in range(n):
        logout_outbox.add_logout_delivery(client_id=f"portal-{i}", uri="https://p.example.vn/bc",
                                          sid="sid-1", claims=dict(CLAIMS))
    db.session.commit()
    return [d.id for d in logout_outbox.get_logout_deliveries_for_session("sid-1")]


def test_outbox_queued_delivery_is_due_at_once_and_not_before_commit(outbox_app):
    with outbox_app.app_context():
        logout_outbox.add_logout_delivery(client_id="portal", uri="https://p.example.vn/bc",
                                          sid="sid-1", claims=dict(CLAIMS))
        db.session.rollback()  # the session's ending failed: nothing is announced
        assert logout_outbox.get_due_logout_deliveries() == []
        [delivery_id] = _queue()
        [due] = logout_outbox.get_due_logout_deliveries()
        assert due.id == delivery_id and due.claims == CLAIMS and due.status == "pending"


def test_outbox_claim_takes_a_delivery_once(outbox_app, clock):
    with outbox_app.app_context():
        [due] = (_queue(), logout_outbox.get_due_logout_deliveries())[1]
        assert logout_outbox.claim_logout_delivery(due, 30) is True
        assert logout_outbox.claim_logout_delivery(due, 30) is False
        assert logout_outbox.get_due_logout_deliveries() == []
        clock.advance(31)  # the attempt died: the lease ran out, the delivery is due again
        assert [d.id for d in logout_outbox.get_due_logout_deliveries()] == [due.id]


def test_outbox_returns_values_and_leaves_the_commit_to_the_caller(outbox_app):
    with outbox_app.app_context():
        [due] = (_queue(), logout_outbox.get_due_logout_deliveries())[1]
        assert isinstance(due, logout_outbox.Delivery)
        assert logout_outbox.claim_logout_delivery(due, 30) is True
        db.session.rollback()  # the claim was never committed: the delivery is still due
        assert [d.id for d in logout_outbox.get_due_logout_deliveries()] == [due.id]


def test_outbox_concurrent_claims_one_wins(outbox_app):
    """Workers on several nodes racing for one due delivery: exactly one posts it."""
    with outbox_app.app_context():
        [delivery_id] = _queue()
    wins, barrier = [], threading.Barrier(6)

    def worker():
        with outbox_app.app_context():
            [delivery] = logout_outbox.get_due_logout_deliveries(ids=[delivery_id])
            barrier.wait()
            wins.append(logout_outbox.claim_logout_delivery(delivery, 30))
            db.session.commit()  # the caller's unit of work: the claim holds from here
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 5 + [True]


@pytest.mark.parametrize(("delivered", "retry_at", "status"), [
    (True, None, "delivered"), (False, 10, "pending"), (False, None, "failed")])
def test_outbox_attempt_recorded_with_its_outcome(outbox_app, clock, delivered, retry_at,
                                                 status):
    with outbox_app.app_context():
        [due] = (_queue(), logout_outbox.get_due_logout_deliveries())[1]
        next_attempt = None if retry_at is None else int(clock.now()) + retry_at
        logout_outbox.record_logout_attempt(due, status_code=200 if delivered else 503,
                                            error=None if delivered else "HTTP 503",
                                            delivered=delivered, next_attempt_at=next_attempt)
        [row] = logout_outbox.list_logout_deliveries()
        assert (row.status, row.attempts, len(row.history)) == (status, 1, 1)
        assert logout_outbox.count_logout_deliveries() == {status: 1}


def test_outbox_prune_keeps_pending_and_recent(outbox_app, clock):
    with outbox_app.app_context():
        ids = _queue(3)
        deliveries = {d.id: d for d in logout_outbox.list_logout_deliveries()}
        logout_outbox.record_logout_attempt(deliveries[ids[0]], status_code=200, error=None,
                                            delivered=True, next_attempt_at=None)
        logout_outbox.record_logout_attempt(deliveries[ids[1]], status_code=None,
                                            error="refused", delivered=False,
                                            next_attempt_at=None)
        clock.advance(outbox_app.config["RECORD_RETENTION_DAYS"] * 86400 + 1)
        assert logout_outbox.delete_old_logout_deliveries() == 2
        db.session.commit()
        assert [d.id for d in logout_outbox.list_logout_deliveries()] == [ids[2]]
