"""``flask --app gateway prune-records``: expired protocol records and old logs go, each kind by
its own rule; replay detection (RFC 6749 §4.1.2, RFC 9700 §4.14.2) keeps working; people,
clients and active keys are never touched (docs/operations.md, "Routine"; expired signing
keys: tests/oidc/test_key_rotation.py)."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from sqlalchemy import func, select, text

from gateway.accounts.models import (
    Consent,
    DisclosureRecord,
    SignInEvent,
)
from gateway.extensions import db
from gateway.identity.models import Verification
from gateway.oidc.models import (
    AuthorizationCode,
    LogoutDelivery,
    SessionEnding,
    SessionParticipant,
    Token,
)
from tests.conftest import RelyingParty

DAY = 86400
HOUR = 3600
#: Defaults (gateway/config.py): 90 days absolute refresh lifetime, 180 days record retention,
#: one year of activity, 600 s QR rate window.
ABSOLUTE = 90 * DAY
RETENTION = 180 * DAY
ACTIVITY = 365 * DAY


@pytest.fixture(autouse=True)
def _fast_tests(fast_signing_keys, fast_sqlite, fast_password_hashing):
    """Reused keys and password hashes, fsync-free SQLite (``tests/conftest.py``)."""


def _random() -> str:
    return secrets.token_hex(16)


def token(issued: int, *, citizen_id, expires_in=HOUR, refresh=False, family=None,
          family_issued=None, code_id=None, parent_id=None, used=None):
    return Token(access_token_digest=_random(), refresh_token_digest=_random() if refresh else None,
                 client_id="c", citizen_id=citizen_id, issued_at=issued, expires_in=expires_in,
                 family_id=family or _random(), family_issued_at=family_issued or issued,
                 authorization_code_id=code_id, parent_id=parent_id,
                 refresh_token_used_at=used)


def code(issued: int, *, citizen_id):
    return AuthorizationCode(code_digest=_random(), client_id="c", citizen_id=citizen_id,
                             auth_time=issued, amr=["pwd"], issued_at=issued,
                             expires_at=issued + 60, used_at=issued + 5)


def ending(*, citizen_id, at):
    return SessionEnding(sid=_random(), citizen_id=citizen_id, reason="logout", ended_at=at)


def delivery(status: str, *, at: int):
    return LogoutDelivery(client_id="c", uri="https://rp.example.vn/bc", sid=_random(),
                          claims={}, status=status, attempts=1, created_at=at,
                          last_attempt_at=at, delivered_at=at if status == "delivered" else None,
                          next_attempt_at=at if status == "pending" else None, history=[])


def sign_in(at: int, *, citizen_id):
    return SignInEvent(citizen_id=citizen_id, at=at, amr=["pwd"], outcome="success")


def disclosure(at: int, *, citizen_id):
    return DisclosureRecord(citizen_id=citizen_id, client_id="c", claim_names=["name"],
                            channel="id_token", at=at)


#: kind -> (rows the command deletes, rows it keeps), built from (now, citizen id).
CASES = {
    "sign_in_events": lambda now, cid: (
        [sign_in(now - ACTIVITY - 1, citizen_id=cid)], [sign_in(now - ACTIVITY, citizen_id=cid)]),
    "disclosure_records": lambda now, cid: (
        [disclosure(now - ACTIVITY - 1, citizen_id=cid)],
        [disclosure(now - ACTIVITY, citizen_id=cid)]),
    "logout_deliveries": lambda now, cid: (
        [delivery("delivered", at=now - RETENTION), delivery("failed", at=now - RETENTION)],
        [delivery("delivered", at=now - RETENTION + 1), delivery("failed", at=now - DAY),
         delivery("pending", at=now - 2 * RETENTION)]),
    "session_endings": lambda now, cid: (
        # Sessions ended (signed out, or run out and swept) more than the retention ago.
        [ending(citizen_id=cid, at=now - RETENTION),
         ending(citizen_id=cid, at=now - 2 * RETENTION)],
        [ending(citizen_id=cid, at=now - RETENTION + 1), ending(citizen_id=cid, at=now - HOUR)]),
    "tokens": lambda now, cid: (
        # Access token expired, no refresh token; a refresh family past its absolute lifetime.
        [token(now - HOUR, citizen_id=cid),
         token(now - ABSOLUTE, citizen_id=cid, refresh=True, used=now - ABSOLUTE + DAY)],
        # Access token live; revoked refresh token within the absolute lifetime (reuse
        # detection); rotated and idle refresh tokens likewise.
        [token(now - HOUR + 1, citizen_id=cid),
         token(now - ABSOLUTE + 1, citizen_id=cid, refresh=True),
         token(now - 30 * DAY, citizen_id=cid, refresh=True, used=now - 29 * DAY)]),
}


def row_key(row) -> tuple:
    """``(model, primary key)`` of a stored row, read now so it can be used after the context."""
    return type(row), row.id if hasattr(type(row), "id") else row.sid


def _store(app, rows):
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()
        return [row_key(row) for row in rows]


def _exists(app, model, row_id) -> bool:
    with app.app_context():
        return db.session.get(model, row_id) is not None


def _prune(runner, *args) -> dict:
    result = runner.invoke(args=["prune-records", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("kind", CASES)
def test_prune_records_deletes_old_and_keeps_fresh(kind, app, runner, factory, clock):
    citizen = factory.citizen()
    old, fresh = CASES[kind](clock.now(), citizen["id"])
    old_ids, fresh_ids = _store(app, old), _store(app, fresh)
    output = _prune(runner)
    assert output["dry_run"] is False
    assert output["deleted"][kind] == len(old_ids), output
    assert sum(output["deleted"].values()) == len(old_ids), output
    assert not any(_exists(app, model, row_id) for model, row_id in old_ids)
    assert all(_exists(app, model, row_id) for model, row_id in fresh_ids)


def _hot_entries(app) -> list[str]:
    from gateway.stores.sql import HotEntry

    with app.app_context():
        return sorted(db.session.scalars(select(HotEntry.key)))


def test_prune_records_purges_expired_hot_entries(sql_hot_store, app, runner, clock):
    from gateway.stores.hot import get_hot_store

    with app.app_context():
        store = get_hot_store()
        store.put("ns", "expired", "v", 10)
        store.incr("limits", "window-over", 10)
        store.put("ns", "live", "v", 11)
    clock.advance(10)
    assert _prune(runner, "--dry-run")["deleted"]["hot_entries"] == 2
    assert _hot_entries(app) == ["expired", "live", "window-over"]
    assert _prune(runner)["deleted"]["hot_entries"] == 2
    assert _hot_entries(app) == ["live"]


def test_prune_records_deletes_session_participants_with_their_session(app, runner, factory,
                                                                       clock):
    """Participants go with their session's ending, once it is older than the retention; those
    of sessions ended lately, or not ended (live in the hot store), stay."""
    citizen = factory.citizen()
    now = clock.now()
    old, recent = (ending(citizen_id=citizen["id"], at=now - 2 * RETENTION),
                   ending(citizen_id=citizen["id"], at=now - DAY))
    sids = [old.sid, old.sid, recent.sid, "a-live-session"]
    _store(app, [old, recent])
    participants = _store(app, [
        SessionParticipant(sid=sid, client_id=f"c{n}", citizen_id=citizen["id"], created_at=now)
        for n, sid in enumerate(sids)])
    deleted = _prune(runner)["deleted"]
    assert deleted["session_endings"] == 1 and deleted["session_participants"] == 2
    assert [_exists(app, *p) for p in participants] == [False, False, True, True]


def test_prune_records_keeps_token_family_while_one_member_is_alive(app, runner, factory, clock):
    """RFC 9700 §4.14.2: a rotated refresh token's row stays while its family can be used, so
    reusing it still revokes the family; and the family's first token links it to its code."""
    citizen = factory.citizen()
    now = clock.now()
    first = token(now - 20 * DAY, citizen_id=citizen["id"], family="f")
    _store(app, [first])
    child = token(now - 10 * DAY, citizen_id=citizen["id"], family="f",
                  family_issued=now - 20 * DAY, refresh=True, parent_id=first.id)
    ids = _store(app, [child])
    assert _prune(runner)["deleted"]["tokens"] == 0
    clock.advance(ABSOLUTE)
    assert _prune(runner)["deleted"]["tokens"] == 2
    assert not _exists(app, *ids[0])


def test_prune_records_authorization_code_kept_while_its_tokens_exist(app, runner, factory,
                                                                      clock):
    citizen = factory.citizen()
    now = clock.now()
    bare, with_token, recent = (code(now - ABSOLUTE - 60, citizen_id=citizen["id"]),
                                code(now - ABSOLUTE - 60, citizen_id=citizen["id"]),
                                code(now - ABSOLUTE + 1, citizen_id=citizen["id"]))
    codes = _store(app, [bare, with_token, recent])
    # An offline family that started late (refreshed just now, so alive).
    _store(app, [token(now - 60, citizen_id=citizen["id"], refresh=True,
                       family_issued=now - DAY, code_id=codes[1][1])])
    assert _prune(runner)["deleted"]["authorization_codes"] == 1
    assert [_exists(app, *c) for c in codes] == [False, True, True]


def _refresh(client, registration, refresh_token):
    raw = f"{registration['client_id']}:{registration['client_secret']}".encode()
    return client.post("/token", data={"grant_type": "refresh_token",
                                       "refresh_token": refresh_token},
                       headers={"Authorization": "Basic " + base64.b64encode(raw).decode()})


def test_prune_records_replayed_code_still_revokes_live_tokens(app, client, runner, factory,
                                                                 clock):
    """RFC 6749 §4.1.2, RFC 9700 §4.2.4: after pruning, replaying a used code still revokes the
    tokens issued from it, including those refreshed since (their family)."""
    registration = factory.oauth_client(grant_types=["authorization_code", "refresh_token"])
    party = RelyingParty(client, registration, factory.citizen())
    params, result = party.code_flow(scope="openid profile offline_access", prompt="consent")
    first = party.token(result["code"]).get_json()
    verifier = party.verifier
    clock.advance(2 * DAY)  # the first access token and the code expire; the refresh token lives
    refreshed = _refresh(client, registration, first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    clock.advance(2 * HOUR)  # the second access token expires too: only refresh tokens live
    assert _prune(runner)["deleted"]["tokens"] == 0

    replay = party.token(result["code"], verifier=verifier)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    with app.app_context():
        states = db.session.execute(select(Token.revoked_at)).scalars().all()
    assert len(states) == 2 and all(at is not None for at in states)
    again = _refresh(client, registration, refreshed.get_json()["refresh_token"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_prune_records_dry_run_deletes_nothing(app, runner, factory, clock):
    citizen = factory.citizen()
    rows = []
    for make in CASES.values():
        old, _fresh = make(clock.now(), citizen["id"])
        rows += old
    stored = _store(app, rows)
    result = runner.invoke(args=["prune-records", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would delete (dry run):" in result.output and "  tokens: 2" in result.output
    counts = _prune(runner, "--dry-run")
    assert counts["dry_run"] is True
    assert sum(counts["deleted"].values()) == len(stored)
    assert all(_exists(app, *row) for row in stored)
    assert _prune(runner)["deleted"] == counts["deleted"]
    assert not any(_exists(app, *row) for row in stored)


NEVER = ["citizens", "businesses", "representations", "verifications", "role_assignments",
         "consents", "totp_credentials", "recovery_codes", "oauth2_clients", "signing_keys",
         "initial_access_tokens"]


def test_prune_records_never_deletes_people_clients_or_keys(app, runner, factory, clock):
    import pyotp

    from gateway.accounts import totp
    from gateway.identity.businesses import create_business
    from gateway.identity.models import Citizen
    from gateway.identity.staff import grant_role
    from gateway.oidc.storage import create_initial_access_token

    person = factory.citizen()
    registration = factory.oauth_client()
    now = clock.now()
    with app.app_context():
        citizen = db.session.get(Citizen, person["id"])
        citizen.assurance_level = 2
        create_business(citizen, tax_code="1500456787", name="Công ty TNHH Phát Đạt")
        grant_role(citizen, "commune_officer", "29557")
        db.session.add(Verification(citizen_id=citizen.id, document="chip_id_card",
                                    verified_at=now))
        db.session.add(Consent(citizen_id=citizen.id, client_id=registration["client_id"],
                               scope="openid", granted_at=now))
        db.session.commit()
        create_initial_access_token(agency_name="Sở Y tế", agency_level="province",
                                    administrative_unit_code="86", lifetime=DAY)
        db.session.commit()
        secret = pyotp.random_base32()
        assert totp.enrol(citizen.id, secret, pyotp.TOTP(secret).at(now))  # + recovery codes

    def counts():
        with app.app_context():
            return {table: db.session.scalar(select(func.count()).select_from(text(table)))
                    for table in NEVER}

    before = counts()
    assert all(before.values()), before
    clock.advance(10 * 365 * DAY)
    _prune(runner)
    assert counts() == before


@pytest.mark.parametrize("days", [0, -1, "180", 1.5])
def test_prune_records_bad_retention_refused_nothing_deleted(days, app, runner, factory, clock):
    citizen = factory.citizen()
    old, _fresh = CASES["session_endings"](clock.now(), citizen["id"])
    stored = _store(app, old)
    app.config["RECORD_RETENTION_DAYS"] = days
    result = runner.invoke(args=["prune-records"])
    assert result.exit_code == 1
    assert "RECORD_RETENTION_DAYS must be whole days" in result.output
    assert all(_exists(app, *row) for row in stored)
