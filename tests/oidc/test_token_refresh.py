"""Refresh tokens: RFC 6749 §6, OIDC Core §11 (offline access) and §12 (refreshing), RFC 9700
§4.14 (rotation, reuse detection: docs/conformance.md B10), conformance modules oidcc-refresh-token
and oidcc-refresh-token-rp-key-rotation."""

from __future__ import annotations

import pytest

from tests.conftest import ISSUER
from tests.oidc.conftest import TracingRelyingParty, basic, bearer, decode_id_token

OFFLINE = {"scope": "openid profile offline_access", "prompt": "consent"}
DAY = 86400


@pytest.fixture
def offline_rp(client, factory):
    """A confidential client registered for the ``refresh_token`` grant."""
    return TracingRelyingParty(
        client, factory.oauth_client(grant_types=["authorization_code", "refresh_token"]),
        factory.citizen(),
    )


@pytest.fixture
def public_offline_rp(client, factory):
    return TracingRelyingParty(
        client, factory.oauth_client(grant_types=["authorization_code", "refresh_token"],
                                     token_endpoint_auth_method="none"),
        factory.citizen(),
    )


def refresh(party, refresh_token, **extra):
    """The refresh request, authenticated as ``party`` authenticates at the token endpoint."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    headers = {}
    if party.reg["auth_method"] == "client_secret_basic":
        headers = basic(party.reg["client_id"], party.reg["client_secret"])
    elif party.reg["auth_method"] == "client_secret_post":
        data.update(client_id=party.reg["client_id"], client_secret=party.reg["client_secret"])
    else:
        data["client_id"] = party.reg["client_id"]
    return party.http.post("/token", data=data, headers=headers)


def _error(response, status, error):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["error"] == error, response.get_json()


def _userinfo_status(client, access_token) -> int:
    return client.get("/userinfo", headers=bearer(access_token)).status_code


# -- 37. oidcc-refresh-token --------------------------------------------------------------------


def test_oidcc_refresh_token_new_tokens_and_id_token(offline_rp, client, jwks, clock):
    """oidcc-refresh-token; OIDC Core §12.2: a new access token, a new (rotated) refresh token
    and an ID token with the same ``sub`` and ``aud``, the original ``auth_time``, no nonce."""
    params, first = offline_rp.tokens(**OFFLINE)
    assert "refresh_token" in first
    assert "offline_access" in first["scope"].split()
    original = decode_id_token(first["id_token"], jwks, client_id=offline_rp.reg["client_id"],
                               now=clock.now(), nonce=params["nonce"]).claims
    clock.advance(600)
    response = refresh(offline_rp, first["refresh_token"])
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    second = response.get_json()
    assert second["token_type"] == "Bearer"
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    claims = decode_id_token(second["id_token"], jwks, client_id=offline_rp.reg["client_id"],
                             now=clock.now()).claims
    assert claims["sub"] == original["sub"]
    assert claims["aud"] == original["aud"]
    assert claims["auth_time"] == original["auth_time"]
    assert claims["iat"] == clock.now()
    assert _userinfo_status(client, second["access_token"]) == 200
    info = client.get("/userinfo", headers=bearer(second["access_token"])).get_json()
    assert info["sub"] == original["sub"]


def test_oidcc_refresh_token_bound_to_its_client(offline_rp, client, factory):
    """oidcc-refresh-token: another client presenting the refresh token gets invalid_grant, and
    the token still works for its own client."""
    _, tokens = offline_rp.tokens(**OFFLINE)
    other = TracingRelyingParty(
        client, factory.oauth_client(grant_types=["authorization_code", "refresh_token"]),
        offline_rp.citizen,
    )
    _error(refresh(other, tokens["refresh_token"]), 400, "invalid_grant")
    assert refresh(offline_rp, tokens["refresh_token"]).status_code == 200


def test_oidcc_refresh_token_offline_access_needs_prompt_consent(offline_rp):
    """OIDC Core §11: without ``prompt=consent`` the ``offline_access`` scope is ignored."""
    _, tokens = offline_rp.tokens(scope="openid profile offline_access")
    assert "refresh_token" not in tokens
    assert "offline_access" not in tokens["scope"].split()


def _consent_location(party, **params) -> str:
    """Sign in and return the consent page's address."""
    _, response = party.authorize(**params)
    response = party.login(response.headers["Location"])
    while "/consent" not in response.headers["Location"]:
        response = party.http.get(response.headers["Location"])
    return response.headers["Location"]


def test_refresh_token_offline_access_shown_on_consent_page(offline_rp, client):
    """The person is told what offline access means before allowing it."""
    location = _consent_location(offline_rp, **OFFLINE)
    page = client.get(location + "&lang=en").get_data(as_text=True)
    assert "when you are not signed in" in page


def test_refresh_token_not_issued_without_offline_access(offline_rp):
    _, tokens = offline_rp.tokens(scope="openid profile", prompt="consent")
    assert "refresh_token" not in tokens


def test_refresh_token_not_issued_to_client_not_registered_for_it(rp):
    """The client asked for offline access but is not registered for the refresh_token grant."""
    _, tokens = rp.tokens(**OFFLINE)
    assert "refresh_token" not in tokens
    assert "offline_access" not in tokens["scope"].split()


def test_refresh_token_refused_when_consent_denied(offline_rp):
    location = _consent_location(offline_rp, **OFFLINE)
    resumed = offline_rp.consent(location, decision="deny").headers["Location"]
    result = offline_rp.redirect_result(offline_rp.http.get(resumed))
    assert result["error"] == "access_denied"


# -- rotation and reuse (RFC 9700 §4.14.2) ------------------------------------------------------


def test_refresh_token_rotated_old_one_invalid(offline_rp):
    _, tokens = offline_rp.tokens(**OFFLINE)
    assert refresh(offline_rp, tokens["refresh_token"]).status_code == 200
    _error(refresh(offline_rp, tokens["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_reuse_revokes_whole_family(offline_rp, client):
    """RFC 9700 §4.14.2: a rotated refresh token used again revokes every token of the grant."""
    _, first = offline_rp.tokens(**OFFLINE)
    second = refresh(offline_rp, first["refresh_token"]).get_json()
    third = refresh(offline_rp, second["refresh_token"]).get_json()
    _error(refresh(offline_rp, first["refresh_token"]), 400, "invalid_grant")
    _error(refresh(offline_rp, third["refresh_token"]), 400, "invalid_grant")
    for tokens in (first, second, third):
        assert _userinfo_status(client, tokens["access_token"]) == 401


def test_refresh_token_reuse_leaves_other_families_alone(offline_rp, client):
    _, first = offline_rp.tokens(**OFFLINE)
    _, other = offline_rp.tokens(**OFFLINE)
    refresh(offline_rp, first["refresh_token"])
    refresh(offline_rp, first["refresh_token"])
    assert refresh(offline_rp, other["refresh_token"]).status_code == 200


def test_refresh_token_chain_keeps_working(offline_rp):
    _, tokens = offline_rp.tokens(**OFFLINE)
    for _ in range(5):
        response = refresh(offline_rp, tokens["refresh_token"])
        assert response.status_code == 200, response.get_json()
        tokens = response.get_json()


def test_refresh_token_public_client_allowed_with_rotation(public_offline_rp):
    """RFC 9700 §4.14.2: public clients get refresh tokens because they are rotated."""
    _, tokens = public_offline_rp.tokens(**OFFLINE)
    second = refresh(public_offline_rp, tokens["refresh_token"])
    assert second.status_code == 200, second.get_json()
    _error(refresh(public_offline_rp, tokens["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_confidential_client_must_authenticate(offline_rp, client):
    _, tokens = offline_rp.tokens(**OFFLINE)
    response = client.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": offline_rp.reg["client_id"]})
    _error(response, 401, "invalid_client")


def test_refresh_token_unknown_invalid_grant(offline_rp):
    _error(refresh(offline_rp, "not-a-refresh-token"), 400, "invalid_grant")


def test_refresh_token_missing_invalid_request(offline_rp, client):
    response = client.post("/token", data={"grant_type": "refresh_token"},
                           headers=basic(offline_rp.reg["client_id"],
                                         offline_rp.reg["client_secret"]))
    _error(response, 400, "invalid_request")


# -- scope (RFC 6749 §6) ------------------------------------------------------------------------


def test_refresh_token_scope_narrowed(offline_rp, client):
    _, tokens = offline_rp.tokens(scope="openid profile email offline_access", prompt="consent")
    response = refresh(offline_rp, tokens["refresh_token"], scope="openid email")
    assert response.status_code == 200, response.get_json()
    narrowed = response.get_json()
    assert set(narrowed["scope"].split()) == {"openid", "email"}
    info = client.get("/userinfo", headers=bearer(narrowed["access_token"])).get_json()
    assert "email" in info and "name" not in info
    # The new refresh token still carries the scope originally granted.
    wide = refresh(offline_rp, narrowed["refresh_token"]).get_json()
    assert set(wide["scope"].split()) == {"openid", "profile", "email", "offline_access"}


def test_refresh_token_scope_never_widened(offline_rp):
    _, tokens = offline_rp.tokens(**OFFLINE)
    _error(refresh(offline_rp, tokens["refresh_token"], scope="openid profile email"), 400,
           "invalid_scope")


# -- lifetimes ----------------------------------------------------------------------------------


def test_refresh_token_idle_lifetime(offline_rp, clock):
    _, tokens = offline_rp.tokens(**OFFLINE)
    clock.advance(14 * DAY)
    _error(refresh(offline_rp, tokens["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_use_restarts_idle_lifetime(offline_rp, clock):
    _, tokens = offline_rp.tokens(**OFFLINE)
    for _ in range(3):
        clock.advance(13 * DAY)
        response = refresh(offline_rp, tokens["refresh_token"])
        assert response.status_code == 200, response.get_json()
        tokens = response.get_json()


def test_refresh_token_absolute_lifetime(offline_rp, clock):
    _, tokens = offline_rp.tokens(**OFFLINE)
    for _ in range(6):  # 6 x 13 days = 78 days: still within 90
        clock.advance(13 * DAY)
        tokens = refresh(offline_rp, tokens["refresh_token"]).get_json()
    clock.advance(12 * DAY + 1)  # 90 days and a second after the sign-in
    _error(refresh(offline_rp, tokens["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_lifetimes_configurable(app, offline_rp, clock):
    app.config.update(REFRESH_TOKEN_IDLE_SECONDS=60, REFRESH_TOKEN_ABSOLUTE_SECONDS=100)
    _, tokens = offline_rp.tokens(**OFFLINE)
    clock.advance(59)
    tokens = refresh(offline_rp, tokens["refresh_token"]).get_json()
    clock.advance(41)
    _error(refresh(offline_rp, tokens["refresh_token"]), 400, "invalid_grant")


# -- sessions, consent, code replay -------------------------------------------------------------


def test_refresh_token_survives_end_of_sso_session(offline_rp, client):
    """OIDC Core §11: offline access outlives the sign-in session (that is its purpose)."""
    _, tokens = offline_rp.tokens(**OFFLINE)
    _, online = offline_rp.tokens(scope="openid profile")
    page = client.get("/logout")
    from tests.conftest import _csrf

    client.post("/logout", data={"confirm": "yes", "csrf_token": _csrf(page.get_data(True))})
    assert _userinfo_status(client, online["access_token"]) == 401
    assert refresh(offline_rp, tokens["refresh_token"]).status_code == 200


def test_refresh_token_revoked_with_consent(offline_rp, app):
    """``token_store.revoke_tokens_for``: withdrawing consent ends offline access too."""
    _, tokens = offline_rp.tokens(**OFFLINE)
    with app.app_context():
        from gateway.extensions import db
        from gateway.oidc import token_store

        assert token_store.revoke_tokens_for(offline_rp.citizen["id"], offline_rp.reg["client_id"])
        db.session.commit()  # the caller's unit of work commits
    _error(refresh(offline_rp, tokens["refresh_token"]), 400, "invalid_grant")


def test_oidcc_codereuse_revokes_refresh_family(offline_rp, client):
    """oidcc-codereuse (RFC 6749 §4.1.2): a replayed code revokes the tokens it issued and
    every token refreshed from them."""
    params, result = offline_rp.code_flow(**OFFLINE)
    tokens = offline_rp.token(result["code"]).get_json()
    refreshed = refresh(offline_rp, tokens["refresh_token"]).get_json()
    _error(offline_rp.token(result["code"]), 400, "invalid_grant")
    assert _userinfo_status(client, refreshed["access_token"]) == 401
    _error(refresh(offline_rp, refreshed["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_stored_as_digest(app, offline_rp):
    _, tokens = offline_rp.tokens(**OFFLINE)
    with app.app_context():
        from gateway.extensions import db
        from gateway.oidc.models import Token

        record = db.session.scalar(db.select(Token).order_by(Token.id.desc()))
        assert tokens["refresh_token"] not in (record.refresh_token_digest,
                                               record.access_token_digest)
        assert len(record.refresh_token_digest) == 64


def test_refresh_token_discovery_advertises_grant(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "refresh_token" in metadata["grant_types_supported"]
    assert "offline_access" in metadata["scopes_supported"]
    assert metadata["issuer"] == ISSUER


def test_oidcc_refresh_token_private_key_jwt(register_rp):
    """The refresh grant accepts the code grant's client authentication: private_key_jwt
    (RFC 7523 §2.2) for a dynamically registered client with ``grant_types`` refresh_token."""
    from tests.oidc.conftest import make_client_key

    key = make_client_key("k1")
    party = register_rp(key=key, jwks={"keys": [key.as_dict(private=False)]},
                        token_endpoint_auth_method="private_key_jwt",
                        grant_types=["authorization_code", "refresh_token"])
    assert party.registration["grant_types"] == ["authorization_code", "refresh_token"]
    _, tokens = party.tokens(**OFFLINE)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": party.client_assertion()}
    response = party.http.post("/token", data=data)
    assert response.status_code == 200, response.get_json()
    assert "id_token" in response.get_json()


def test_refresh_token_registration_refuses_client_credentials_for_public_client(
        client, initial_access_token):
    from tests.oidc.conftest import register

    response = register(client, initial_access_token, {
        "redirect_uris": ["https://rp.example.vn/cb"], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "client_credentials"]})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"


def test_refresh_token_concurrent_use_one_wins(offline_rp, client, monkeypatch):
    """Two refreshes racing with one token: the loser of the compare-and-set is a reuse
    (RFC 9700 §4.14.2): invalid_grant, and the family is revoked."""
    from gateway.oidc import token_store

    _, tokens = offline_rp.tokens(**OFFLINE)
    rotate = token_store.rotate_refresh_token

    def lose_the_race(record):
        rotate(record)  # the other request got there first
        return False

    monkeypatch.setattr(token_store, "rotate_refresh_token", lose_the_race)
    _error(refresh(offline_rp, tokens["refresh_token"]), 400, "invalid_grant")
    assert _userinfo_status(client, tokens["access_token"]) == 401


def test_refresh_token_withdrawn_on_my_account_page(offline_rp, client):
    """"Tài khoản của tôi": the agency is listed with offline access; withdrawing consent there
    revokes its refresh tokens (``token_store.revoke_tokens_for``)."""
    from tests.conftest import _csrf

    _, tokens = offline_rp.tokens(**OFFLINE)
    page = client.get("/account/agencies?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-scope="offline_access"' in html and "when you are not signed in" in html
    response = client.post(f"/account/agencies/{offline_rp.reg['client_id']}/revoke",
                           data={"csrf_token": _csrf(html)})
    assert response.status_code == 303
    _error(refresh(offline_rp, tokens["refresh_token"]), 400, "invalid_grant")


def test_oidcc_refresh_token_rp_key_rotation_at_refresh(sql_hot_store, register_rp, client_site,
                                                        clock):
    """oidcc-refresh-token-rp-key-rotation: the RP publishes a new key with a new ``kid`` at its
    ``jwks_uri``, waits, then authenticates the *refresh* request with it; the gateway fetches
    ``jwks_uri`` again on the unknown ``kid`` and refreshes."""
    from tests.oidc.conftest import make_client_key, public_jwks

    old, new = make_client_key("rp-2026-01"), make_client_key("rp-2026-02")
    client_site.documents["/jwks.json"] = public_jwks(old)
    party = register_rp(key=old, jwks_uri=client_site.url("/jwks.json"),
                        token_endpoint_auth_method="private_key_jwt",
                        grant_types=["authorization_code", "refresh_token"])
    _, tokens = party.tokens(**OFFLINE)

    client_site.documents["/jwks.json"] = public_jwks(new)
    clock.advance(60)  # the conformance suite waits 60 s before using the new key
    party.key = new
    response = party.http.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": party.client_assertion()})
    assert response.status_code == 200, response.get_json()
    assert client_site.fetches["/jwks.json"] == 2
