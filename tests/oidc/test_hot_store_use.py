"""Protocol state in the hot store: client-assertion ``jti``s and what happens when the hot store
(Redis) cannot be reached — a 503 with ``Retry-After``, never an assertion accepted twice."""

from __future__ import annotations

from tests.oidc.conftest import make_client_key, public_jwks
from tests.stores.helpers import redis_down


def _private_key_jwt_rp(register_rp):
    key = make_client_key("k1")
    return register_rp(key=key, jwks=public_jwks(key), token_endpoint_auth_method="private_key_jwt")


def test_private_key_jwt_replayed_jti_refused_within_the_clock_skew_after_exp(register_rp,
                                                                              clock):
    """The ``jti`` is kept while its assertion is still accepted: ``exp`` plus the leeway."""
    rp = _private_key_jwt_rp(register_rp)
    assertion = rp.client_assertion()  # exp: now + 60
    _, result = rp.code_flow()
    assert rp.token(result["code"], assertion=assertion).status_code == 200
    clock.advance(80)  # past exp, within the 30 s leeway
    _, result = rp.code_flow()
    response = rp.token(result["code"], assertion=assertion)
    assert response.get_json()["error"] == "invalid_client", response.get_json()
    assert "used before" in response.get_json()["error_description"]


def test_private_key_jwt_jti_is_kept_in_the_hot_store_as_a_digest(sql_hot_store, app,
                                                                  register_rp):
    from sqlalchemy import select

    from gateway.extensions import db
    from gateway.stores.sql import HotEntry

    rp = _private_key_jwt_rp(register_rp)
    jti = "a-very-recognisable-jti-value"
    _, result = rp.code_flow()
    assert rp.token(result["code"], assertion=rp.client_assertion(jti=jti)).status_code == 200
    with app.app_context():
        keys = db.session.scalars(select(HotEntry.key).where(
            HotEntry.namespace == "client_assertion_jti")).all()
    assert len(keys) == 1 and keys[0].startswith(rp.reg["client_id"] + ":")
    assert jti not in keys[0]


def test_token_endpoint_answers_503_json_when_redis_is_unreachable(app, register_rp):
    rp = _private_key_jwt_rp(register_rp)
    _, result = rp.code_flow()
    redis_down(app)
    response = rp.token(result["code"])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["error"] == "temporarily_unavailable"


def test_token_endpoint_accepts_nothing_while_redis_is_unreachable(app, register_rp):
    """The assertion refused during the outage was never recorded: once Redis is back (here:
    the store the code was issued in, again) it is accepted once, and only once."""
    from gateway.stores import hot

    rp = _private_key_jwt_rp(register_rp)
    assertion = rp.client_assertion()
    _, result = rp.code_flow()
    working = app.extensions[hot.EXTENSION]
    redis_down(app)
    assert rp.token(result["code"], assertion=assertion).status_code == 503
    app.extensions[hot.EXTENSION] = working
    assert rp.token(result["code"], assertion=assertion).status_code == 200
    _, result = rp.code_flow()
    assert rp.token(result["code"], assertion=assertion).get_json()["error"] == "invalid_client"


def test_jwks_uri_cache_is_shared_through_the_hot_store(app, register_rp, client_site):
    """A second node (another app on the same database) uses the document the first fetched."""
    from gateway import create_app
    from gateway.extensions import db

    key = make_client_key("k1")
    client_site.documents["/jwks.json"] = public_jwks(key)
    rp = register_rp(key=key, jwks_uri=client_site.url("/jwks.json"),
                     token_endpoint_auth_method="private_key_jwt")
    rp.tokens()
    assert client_site.fetches["/jwks.json"] == 1
    other_node = create_app(dict(app.config))
    rp.http = other_node.test_client()
    rp.tokens()
    assert client_site.fetches["/jwks.json"] == 1
    with other_node.app_context():
        db.session.remove()
        db.engine.dispose()


def test_code_lives_in_the_hot_store_and_becomes_a_grant_when_redeemed(app, rp):
    """Issued: one entry in ``codes`` (its digest, never the code), no database row. Redeemed:
    the entry is gone, a tombstone names the client, and the grant row the tokens name exists
    (the same on SQL and on Redis)."""
    from sqlalchemy import func, select

    from gateway.extensions import db
    from gateway.oidc import code_store
    from gateway.oidc.models import AuthorizationCode, Token, digest
    from gateway.stores.hot import get_hot_store
    from tests.stores.helpers import count_entries

    _, result = rp.code_flow()
    code = result["code"]
    with app.app_context():
        store = get_hot_store()
        assert count_entries(store, code_store.CODES) == 1
        assert store.get(code_store.CODES, code) is None  # keyed by the digest only
        assert db.session.scalar(select(func.count()).select_from(AuthorizationCode)) == 0
    assert rp.token(code).status_code == 200
    with app.app_context():
        store = get_hot_store()
        assert store.get(code_store.CODES, digest(code)) is None
        assert store.get(code_store.TOMBSTONES, digest(code)) == rp.reg["client_id"]
        grant = db.session.scalar(select(AuthorizationCode))
        assert grant.code_digest == digest(code) and grant.used_at is not None
        assert db.session.scalar(select(Token.authorization_code_id)) == grant.id
