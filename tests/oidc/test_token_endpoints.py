"""Revocation (RFC 7009), introspection (RFC 7662), the client credentials grant (RFC 6749
§4.4) and JWT access tokens (RFC 9068), through the HTTP surface."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import ISSUER
from tests.oidc.conftest import TracingRelyingParty, basic, bearer
from tests.oidc.test_token_refresh import OFFLINE, refresh


@pytest.fixture
def offline_rp(client, factory):
    return TracingRelyingParty(
        client, factory.oauth_client(grant_types=["authorization_code", "refresh_token"]),
        factory.citizen(),
    )


def create_client(runner, *args) -> dict:
    result = runner.invoke(args=["create-client", "--name", "API Sở Tư pháp", "--redirect-uri",
                                 "https://api.stp.vinhlong.gov.vn/callback", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def resource_server(runner) -> dict:
    """An agency API allowed to introspect tokens (``create-client --resource-server``)."""
    return create_client(runner, "--resource-server")


def _error(response, status, error):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == error, response.get_json()


def revoke(party, token, **extra):
    return party.http.post("/revoke", data={"token": token, **extra},
                           headers=basic(party.reg["client_id"], party.reg["client_secret"]))


def introspect(client, server, token, **extra):
    return client.post("/introspect", data={"token": token, **extra},
                       headers=basic(server["client_id"], server["client_secret"]))


# -- revocation (RFC 7009) ----------------------------------------------------------------------


def test_revocation_access_token(rp, client):
    """RFC 7009 §2.1."""
    _, tokens = rp.tokens()
    response = revoke(rp, tokens["access_token"], token_type_hint="access_token")
    assert response.status_code == 200
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def test_revocation_refresh_token_revokes_family(offline_rp, client):
    """RFC 7009 §2.1: revoking a refresh token invalidates the access tokens of the same grant."""
    _, first = offline_rp.tokens(**OFFLINE)
    second = refresh(offline_rp, first["refresh_token"]).get_json()
    assert revoke(offline_rp, second["refresh_token"],
                  token_type_hint="refresh_token").status_code == 200
    for tokens in (first, second):
        assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    _error(refresh(offline_rp, second["refresh_token"]), 400, "invalid_grant")


def test_revocation_wrong_hint_still_found(offline_rp):
    """RFC 7009 §2.1: the hint only helps the lookup."""
    _, tokens = offline_rp.tokens(**OFFLINE)
    assert revoke(offline_rp, tokens["refresh_token"],
                  token_type_hint="access_token").status_code == 200
    _error(refresh(offline_rp, tokens["refresh_token"]), 400, "invalid_grant")


def test_revocation_unknown_token_200(rp):
    """RFC 7009 §2.2: an invalid token is not an error."""
    response = revoke(rp, "not-a-token-we-issued")
    assert response.status_code == 200


def test_revocation_other_clients_token_200_without_effect(rp, make_rp, client):
    """RFC 7009 §2.2: 200, and the other client's token keeps working."""
    _, tokens = rp.tokens()
    other = make_rp()
    assert revoke(other, tokens["access_token"]).status_code == 200
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200


def test_revocation_requires_client_authentication(rp, client):
    _, tokens = rp.tokens()
    response = client.post("/revoke", data={"token": tokens["access_token"],
                                            "client_id": rp.reg["client_id"]})
    _error(response, 401, "invalid_client")
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200


def test_revocation_wrong_secret_invalid_client(rp, client):
    _, tokens = rp.tokens()
    response = client.post("/revoke", data={"token": tokens["access_token"]},
                           headers=basic(rp.reg["client_id"], "wrong"))
    _error(response, 401, "invalid_client")


def test_revocation_public_client_with_client_id(client, factory):
    party = TracingRelyingParty(
        client, factory.oauth_client(token_endpoint_auth_method="none"), factory.citizen())
    _, tokens = party.tokens()
    response = client.post("/revoke", data={"token": tokens["access_token"],
                                            "client_id": party.reg["client_id"]})
    assert response.status_code == 200
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def test_revocation_missing_token_invalid_request(rp):
    response = rp.http.post("/revoke", data={},
                            headers=basic(rp.reg["client_id"], rp.reg["client_secret"]))
    _error(response, 400, "invalid_request")


def test_revocation_unsupported_hint(rp):
    """RFC 7009 §2.2.1: ``unsupported_token_type``."""
    _error(revoke(rp, "x", token_type_hint="id_token"), 400, "unsupported_token_type")


def test_revocation_discovery(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["revocation_endpoint"] == ISSUER + "/revoke"
    assert "client_secret_basic" in metadata["revocation_endpoint_auth_methods_supported"]
    assert metadata["introspection_endpoint"] == ISSUER + "/introspect"
    assert "none" not in metadata["introspection_endpoint_auth_methods_supported"]
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code", "refresh_token", "client_credentials"}


# -- introspection (RFC 7662) -------------------------------------------------------------------


def test_introspection_active_access_token(rp, client, resource_server, clock):
    """RFC 7662 §2.2."""
    _, tokens = rp.tokens(scope="openid profile", ui_locales="en")
    response = introspect(client, resource_server, tokens["access_token"])
    assert response.status_code == 200
    info = response.get_json()
    assert info["active"] is True
    assert info["client_id"] == rp.reg["client_id"]
    assert set(info["scope"].split()) == {"openid", "profile"}
    assert info["token_type"] == "Bearer"
    assert info["exp"] == clock.now() + 3600
    assert info["iss"] == ISSUER
    userinfo = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["sub"] == userinfo["sub"]
    assert info["auth_time"] <= clock.now()


def test_introspection_refresh_token(offline_rp, client, resource_server):
    _, tokens = offline_rp.tokens(**OFFLINE)
    info = introspect(client, resource_server, tokens["refresh_token"],
                      token_type_hint="refresh_token").get_json()
    assert info["active"] is True and info["token_type"] == "refresh_token"
    refresh(offline_rp, tokens["refresh_token"])
    assert introspect(client, resource_server, tokens["refresh_token"]).get_json() == {
        "active": False}


@pytest.mark.parametrize("state", ["unknown", "revoked", "expired"])
def test_introspection_inactive(rp, client, resource_server, clock, state):
    """RFC 7662 §2.2: only ``{"active": false}``."""
    _, tokens = rp.tokens()
    token = tokens["access_token"]
    if state == "unknown":
        token = "not-a-token-we-issued"
    elif state == "revoked":
        revoke(rp, token)
    else:
        clock.advance(3600)
    response = introspect(client, resource_server, token)
    assert response.status_code == 200
    assert response.get_json() == {"active": False}


def test_introspection_client_not_resource_server_403(rp, client):
    """RFC 7662 §2.3/§4: an ordinary client may not introspect."""
    _, tokens = rp.tokens()
    response = client.post("/introspect", data={"token": tokens["access_token"]},
                           headers=basic(rp.reg["client_id"], rp.reg["client_secret"]))
    _error(response, 403, "unauthorized_client")


def test_introspection_unauthenticated_401(rp, client, resource_server):
    """RFC 7662 §2.1: the caller must authenticate."""
    _, tokens = rp.tokens()
    _error(client.post("/introspect", data={"token": tokens["access_token"]}), 401,
           "invalid_client")
    response = client.post("/introspect", data={"token": tokens["access_token"]},
                           headers=basic(resource_server["client_id"], "wrong"))
    _error(response, 401, "invalid_client")


def test_introspection_missing_token_invalid_request(client, resource_server):
    response = client.post("/introspect", data={},
                           headers=basic(resource_server["client_id"],
                                         resource_server["client_secret"]))
    _error(response, 400, "invalid_request")


# -- client credentials (RFC 6749 §4.4) ---------------------------------------------------------


@pytest.fixture
def api_client(runner) -> dict:
    return create_client(runner, "--grant-type", "authorization_code", "--grant-type",
                         "client_credentials", "--scope", "openid profile hotich.read hotich.write")


def client_credentials(client, party, **extra):
    return client.post("/token", data={"grant_type": "client_credentials", **extra},
                       headers=basic(party["client_id"], party["client_secret"]))


def test_client_credentials_issues_access_token_only(client, api_client, resource_server):
    """RFC 6749 §4.4.3: no refresh token; no ID token; ``sub`` is the client."""
    response = client_credentials(client, api_client)
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "scope"}
    assert set(tokens["scope"].split()) == {"hotich.read", "hotich.write"}
    info = introspect(client, resource_server, tokens["access_token"]).get_json()
    assert info["active"] is True
    assert info["sub"] == api_client["client_id"]
    assert "auth_time" not in info


def test_client_credentials_scope_narrowed(client, api_client):
    tokens = client_credentials(client, api_client, scope="hotich.read").get_json()
    assert tokens["scope"] == "hotich.read"


@pytest.mark.parametrize("scope", ["", " ", "  \t"])
def test_client_credentials_blank_scope_means_all_registered_api_scopes(client, api_client,
                                                                       scope):
    tokens = client_credentials(client, api_client, scope=scope).get_json()
    assert set(tokens["scope"].split()) == {"hotich.read", "hotich.write"}


@pytest.mark.parametrize("scope", ["openid", "profile", "offline_access", "hotich.delete"])
def test_client_credentials_person_or_unregistered_scope_refused(client, api_client, scope):
    _error(client_credentials(client, api_client, scope=scope), 400, "invalid_scope")


def test_client_credentials_token_not_accepted_at_userinfo(client, api_client):
    tokens = client_credentials(client, api_client).get_json()
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code in (
        401, 403)


def test_client_credentials_client_not_registered_for_it(rp, client):
    response = client_credentials(client, {"client_id": rp.reg["client_id"],
                                           "client_secret": rp.reg["client_secret"]})
    _error(response, 400, "unauthorized_client")


def test_client_credentials_public_client_refused(runner):
    result = runner.invoke(args=["create-client", "--name", "SPA", "--redirect-uri",
                                 "https://spa.example.vn/cb", "--auth-method", "none",
                                 "--grant-type", "client_credentials"])
    assert result.exit_code != 0
    assert "confidential" in result.output


def test_client_credentials_wrong_secret_invalid_client(client, api_client):
    response = client_credentials(client, {**api_client, "client_secret": "wrong"})
    _error(response, 401, "invalid_client")


# -- JWT access tokens (RFC 9068) ---------------------------------------------------------------


@pytest.fixture
def jwt_rp(client, factory):
    return TracingRelyingParty(client, factory.oauth_client(access_token_format="jwt"),
                               factory.citizen())


def _verify_at_jwt(client, token: str, clock):
    """Verify like a resource server: keys from ``jwks_uri``, ``typ`` ``at+jwt`` (RFC 9068 §4)."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    keys = KeySet.import_key_set(client.get(metadata["jwks_uri"].removeprefix(ISSUER)).get_json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["kid"]
    jwt.JWTClaimsRegistry(now=clock.now, iss={"essential": True, "value": ISSUER},
                          exp={"essential": True}).validate(decoded.claims)
    return decoded.claims


def test_jwt_access_token_verifiable_with_jwks(jwt_rp, client, clock):
    """RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti, scope, auth_time, acr."""
    _, tokens = jwt_rp.tokens(scope="openid profile")
    claims = _verify_at_jwt(client, tokens["access_token"], clock)
    assert claims["aud"] == jwt_rp.reg["client_id"]
    assert claims["client_id"] == jwt_rp.reg["client_id"]
    assert claims["exp"] == clock.now() + 3600 and claims["iat"] == clock.now()
    assert set(claims["scope"].split()) == {"openid", "profile"}
    assert claims["jti"] and claims["auth_time"] <= clock.now() and claims["acr"]
    userinfo = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert userinfo.status_code == 200
    assert claims["sub"] == userinfo.get_json()["sub"]


def test_jwt_access_token_client_credentials_sub_is_client(runner, client, clock):
    party = create_client(runner, "--grant-type", "authorization_code", "--grant-type",
                          "client_credentials", "--scope", "openid hotich.read",
                          "--access-token-format", "jwt")
    tokens = client_credentials(client, party).get_json()
    claims = _verify_at_jwt(client, tokens["access_token"], clock)
    assert claims["sub"] == party["client_id"] == claims["client_id"]
    assert "auth_time" not in claims


def test_jwt_access_token_revocable(jwt_rp, client):
    _, tokens = jwt_rp.tokens()
    assert revoke(jwt_rp, tokens["access_token"]).status_code == 200
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401


def test_jwt_access_token_opaque_by_default(rp):
    _, tokens = rp.tokens()
    assert tokens["access_token"].count(".") == 0


# -- bad requests: precise 4xx JSON, never a 500 -------------------------------------------------


@pytest.mark.parametrize("path", ["/revoke", "/introspect"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_token_endpoints_wrong_method_405_json(client, path, method):
    response = client.open(path, method=method)
    assert response.status_code == 405 and response.mimetype == "application/json"


BAD_REQUESTS = {
    # name: (request keyword arguments, status, error)
    "no_credentials": ({"data": {"token": "x"}}, 401, "invalid_client"),
    "malformed_basic": ({"data": {"token": "x"}, "headers": {"Authorization": "Basic %%%"}},
                        401, "invalid_client"),
    "basic_without_colon": ({"data": {"token": "x"},
                             "headers": {"Authorization": "Basic eHl6"}}, 401, "invalid_client"),
    "json_body": ({"json": {"token": "x"}}, 401, "invalid_client"),
    "unknown_client": ({"data": {"token": "x"}, "headers": basic("nobody", "secret")}, 401,
                       "invalid_client"),
}


@pytest.mark.parametrize("path", ["/revoke", "/introspect"])
@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_token_endpoints_bad_request_json_oauth_error(client, path, name):
    kwargs, status, error = BAD_REQUESTS[name]
    _error(client.post(path, **kwargs), status, error)


@pytest.mark.parametrize("token", ["", "x" * 10_000, "\u00fe" * 300, "a.b.c"])
def test_token_endpoints_odd_tokens_handled(rp, client, resource_server, token):
    """Empty, huge, non-ASCII or JWT-looking garbage: 400 for a missing token, else 200."""
    revoked = revoke(rp, token)
    inspected = introspect(client, resource_server, token)
    if token == "":
        _error(revoked, 400, "invalid_request")
        _error(inspected, 400, "invalid_request")
    else:
        assert revoked.status_code == 200
        assert inspected.get_json() == {"active": False}


def test_token_endpoints_confidential_client_cannot_use_none(rp, client, resource_server):
    """A confidential client authenticates with its registered method at /revoke and
    /introspect too: its client_id alone is not enough."""
    _, tokens = rp.tokens()
    response = client.post("/revoke", data={"token": tokens["access_token"],
                                            "client_id": rp.reg["client_id"]})
    _error(response, 401, "invalid_client")
    response = client.post("/introspect", data={"token": tokens["access_token"],
                                                "client_id": resource_server["client_id"]})
    _error(response, 401, "invalid_client")


def test_jwt_access_token_format_registrable(register_rp, client, clock):
    """``access_token_format`` is registrable metadata (RFC 7591 §2 extension)."""
    party = register_rp(access_token_format="jwt")
    assert party.registration["access_token_format"] == "jwt"
    _, tokens = party.tokens()
    assert _verify_at_jwt(client, tokens["access_token"], clock)["client_id"] == party.reg[
        "client_id"]


def test_jwt_access_token_format_invalid_refused(client, initial_access_token):
    from tests.oidc.conftest import register

    response = register(client, initial_access_token, {
        "redirect_uris": ["https://rp.example.vn/cb"], "access_token_format": "paseto"})
    _error(response, 400, "invalid_client_metadata")


def test_introspection_resource_server_not_registrable(client, initial_access_token, runner):
    """A client cannot make itself a resource server by registering (RFC 7591 §2: unknown
    metadata is ignored), nor by updating its registration (RFC 7592)."""
    from tests.oidc.conftest import register

    response = register(client, initial_access_token, {
        "redirect_uris": ["https://rp.example.vn/cb"], "resource_server": True})
    assert response.status_code == 201
    body = response.get_json()
    assert "resource_server" not in body or body["resource_server"] is False
    update = {"redirect_uris": ["https://rp.example.vn/cb"], "resource_server": True,
              "client_id": body["client_id"]}
    updated = register(client, body["registration_access_token"], update, method="PUT",
                       url=body["registration_client_uri"].removeprefix(ISSUER))
    assert updated.status_code == 200, updated.get_json()
    assert not updated.get_json().get("resource_server")
    response = client.post("/introspect", data={"token": "x"},
                           headers=basic(body["client_id"], body["client_secret"]))
    _error(response, 403, "unauthorized_client")
