"""The token store's contract (``gateway/oidc/token_store.py``), on every database the gateway
runs on: SQLite and PostgreSQL (skipped, saying why, where PostgreSQL is absent). Families and
single use per RFC 6749 §6 and RFC 9700 §4.14.2; revocation per RFC 7009 §2.1."""

from __future__ import annotations

import secrets
import threading

import pytest
from sqlalchemy import text

from gateway.extensions import db
from gateway.oidc import token_store
from tests.conftest import build_app, create_postgresql_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store_app(request, tmp_path, clock):
    if request.param == "sqlite":
        yield from build_app(f"sqlite:///{tmp_path / 'tokens.db'}", clock)
        return
    for url in create_postgresql_database("gateway_token_store"):
        yield from build_app(url, clock)


@pytest.fixture
def party(store_app):
    """A person and a client, as ids (the store takes plain values)."""
    from tests.conftest import Factory

    factory = Factory(store_app)
    return {"citizen_id": factory.citizen()["id"],
            "client_id": factory.oauth_client()["client_id"]}


def _response(refresh: bool = True) -> dict:
    token = {"access_token": secrets.token_urlsafe(32), "token_type": "Bearer",
             "expires_in": 600}
    if refresh:
        token["refresh_token"] = secrets.token_urlsafe(32)
    return token


def _save(party, *, refresh=True, sid="sid-1", parent=None, code_id=None):
    response = _response(refresh)
    record = token_store.save_token(response, client_id=party["client_id"],
                                    citizen_id=party["citizen_id"], scope="openid profile",
                                    sid=sid, parent=parent, authorization_code_id=code_id)
    db.session.commit()  # the caller's unit of work
    return response, record


def test_token_store_returns_values_and_leaves_the_commit_to_the_caller(store_app, party):
    with store_app.app_context():
        response = _response(True)
        record = token_store.save_token(response, client_id=party["client_id"],
                                        citizen_id=party["citizen_id"], scope="openid")
        assert isinstance(record, token_store.StoredToken) and record.id
        db.session.rollback()
        assert token_store.get_access_token(response["access_token"]) is None


def test_token_store_finds_by_either_string_and_keeps_only_digests(store_app, party):
    with store_app.app_context():
        response, record = _save(party)
        assert token_store.get_access_token(response["access_token"]).id == record.id
        assert token_store.find_token(response["refresh_token"]) == (
            token_store.get_refresh_token(response["refresh_token"]), "refresh_token")
        assert token_store.find_token(response["access_token"], "refresh_token")[1] == (
            "access_token")
        dump = " ".join(str(v) for row in db.session.execute(text("SELECT * FROM tokens"))
                        for v in row)
        assert response["access_token"] not in dump and response["refresh_token"] not in dump


@pytest.mark.parametrize("value", [None, "", "x" * 9000, 42])
def test_token_store_unknown_or_malformed_string_is_none(store_app, party, value):
    with store_app.app_context():
        assert token_store.find_token(value) is None
        assert token_store.get_refresh_token(value) is None


def test_token_store_refresh_token_rotates_once(store_app, party):
    with store_app.app_context():
        response, record = _save(party)
        assert token_store.check_refresh_token_usable(record)
        assert token_store.rotate_refresh_token(record) is True
        db.session.commit()
        assert token_store.rotate_refresh_token(record) is False
        stored = token_store.get_refresh_token(response["refresh_token"])
        assert stored.refresh_token_used_at is not None
        assert not token_store.check_refresh_token_usable(stored)


def test_token_store_concurrent_rotations_one_wins(store_app, party):
    """Of N requests exchanging one refresh token at once, exactly one wins (compare-and-set)."""
    with store_app.app_context():
        response, _ = _save(party)
    wins, barrier = [], threading.Barrier(6)

    def exchange():
        with store_app.app_context():
            row = token_store.get_refresh_token(response["refresh_token"])
            barrier.wait()
            won = token_store.rotate_refresh_token(row)
            db.session.commit()
            wins.append(won)
            db.session.remove()

    threads = [threading.Thread(target=exchange) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 5 + [True]


def test_token_store_family_revoked_whole(store_app, party):
    with store_app.app_context():
        first_response, first = _save(party)
        second_response, second = _save(party, parent=first)
        assert second.family_id == first.family_id
        assert token_store.revoke_token_family(first.family_id) == 2
        for response in (first_response, second_response):
            assert token_store.get_access_token(response["access_token"]).is_revoked()


def test_token_store_revoking_an_access_token_leaves_the_family(store_app, party):
    with store_app.app_context():
        response, record = _save(party)
        sibling_response, _ = _save(party, parent=record)
        token_store.revoke_token(record, "access_token")
        db.session.commit()
        assert token_store.get_access_token(response["access_token"]).is_revoked()
        assert not token_store.get_access_token(sibling_response["access_token"]).is_revoked()


def test_token_store_session_end_spares_offline_access(store_app, party):
    """OIDC Core §11: tokens holding a refresh token outlive the session."""
    with store_app.app_context():
        online_response, _ = _save(party, refresh=False, sid="s")
        offline_response, _ = _save(party, refresh=True, sid="s")
        token_store.revoke_session_tokens("s")
        db.session.commit()
        assert token_store.get_access_token(online_response["access_token"]).is_revoked()
        assert not token_store.get_access_token(offline_response["access_token"]).is_revoked()


def test_token_store_consent_withdrawal_revokes_everything_of_the_client(store_app, party):
    with store_app.app_context():
        _save(party, refresh=False)
        _save(party, refresh=True)
        assert token_store.revoke_tokens_for(party["citizen_id"], party["client_id"]) == 2
        assert token_store.revoke_tokens_for(party["citizen_id"], party["client_id"]) == 0


def test_token_store_refresh_token_expires_after_idle_lifetime(store_app, party, clock):
    with store_app.app_context():
        _, record = _save(party)
        clock.advance(store_app.config["REFRESH_TOKEN_IDLE_SECONDS"] + 1)
        assert not token_store.check_refresh_token_usable(record)


def test_token_store_dead_families_pruned_live_ones_kept(store_app, party, clock):
    with store_app.app_context():
        online_response, _ = _save(party, refresh=False)
        offline_response, _ = _save(party, refresh=True)
        db.session.commit()
        clock.advance(601)  # both access tokens expired; the refresh token lives on
        assert token_store.delete_dead_tokens() == 1
        db.session.commit()
        assert token_store.get_access_token(online_response["access_token"]) is None
        assert token_store.get_access_token(offline_response["access_token"]) is not None
