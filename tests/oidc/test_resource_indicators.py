"""Resource indicators (RFC 8707): ``create-client --resource-server --resource URI``, the
``resource`` parameter at /authorize and /token, the access token's audience (JWT ``aud``,
RFC 9068 §3; introspection ``aud``), and who may introspect such a token (RFC 7662 §4)."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import ISSUER
from tests.oidc.conftest import TracingRelyingParty, basic
from tests.oidc.test_token_refresh import OFFLINE, refresh

HOTICH = "https://api.hotich.vinhlong.gov.vn/"
SOYTE = "https://api.soyte.vinhlong.gov.vn/"


def create_client(runner, *args):
    return runner.invoke(args=["create-client", "--name", "API Sở Tư pháp", "--redirect-uri",
                               "https://api.stp.vinhlong.gov.vn/callback", "--json", *args])


def created(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def hotich_api(runner) -> dict:
    return created(create_client(runner, "--resource-server", "--resource", HOTICH))


@pytest.fixture
def soyte_api(runner) -> dict:
    return created(create_client(runner, "--resource-server", "--resource", SOYTE))


@pytest.fixture
def caller(runner) -> dict:
    """An agency back-end with JWT access tokens for the client credentials grant."""
    return created(create_client(runner, "--grant-type", "client_credentials", "--scope",
                                 "hotich.read", "--access-token-format", "jwt",
                                 "--allowed-resource", HOTICH, "--allowed-resource", SOYTE))


@pytest.fixture
def jwt_offline_rp(client, factory):
    return TracingRelyingParty(
        client, factory.oauth_client(grant_types=["authorization_code", "refresh_token"],
                                     access_token_format="jwt",
                                     allowed_resources=[HOTICH, SOYTE]),
        factory.citizen(),
    )


def client_credentials(client, party, **extra):
    return client.post("/token", data={"grant_type": "client_credentials", **extra},
                       headers=basic(party["client_id"], party["client_secret"]))


def introspect(client, server, token):
    return client.post("/introspect", data={"token": token},
                       headers=basic(server["client_id"], server["client_secret"])).get_json()


def verify_at_jwt(client, token: str, clock, audience: str) -> dict:
    """As an agency API does (docs/agency-integration.md §9): keys from ``jwks_uri``, ``typ``
    ``at+jwt``, ``iss`` and ``aud`` its own resource indicator."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    keys = KeySet.import_key_set(client.get(metadata["jwks_uri"].removeprefix(ISSUER)).get_json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    assert decoded.header["typ"] == "at+jwt"
    jwt.JWTClaimsRegistry(now=clock.now, iss={"essential": True, "value": ISSUER},
                          aud={"essential": True, "value": audience},
                          exp={"essential": True}).validate(decoded.claims)
    return decoded.claims


def _error(response, status, error):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error, response.get_json()


# -- the token endpoint (RFC 8707 §2.2) ---------------------------------------------------------


def test_resource_client_credentials_jwt_audience(client, caller, hotich_api, clock):
    """RFC 8707 §2.2, RFC 9068 §3: the access token is for the requested resource."""
    response = client_credentials(client, caller, resource=HOTICH)
    assert response.status_code == 200, response.get_json()
    claims = verify_at_jwt(client, response.get_json()["access_token"], clock, HOTICH)
    assert claims["aud"] == HOTICH
    assert claims["client_id"] == claims["sub"] == caller["client_id"]
    info = introspect(client, hotich_api, response.get_json()["access_token"])
    assert info["active"] is True and info["aud"] == HOTICH


def test_resource_absent_audience_is_client(client, caller, hotich_api, clock):
    """Without ``resource``, unchanged: ``aud`` is the client (RFC 9068 §3)."""
    token = client_credentials(client, caller).get_json()["access_token"]
    verify_at_jwt(client, token, clock, caller["client_id"])
    assert introspect(client, hotich_api, token)["aud"] == caller["client_id"]


@pytest.mark.parametrize("resource", [
    "https://api.unknown.vinhlong.gov.vn/", "https://api.hotich.vinhlong.gov.vn", "not a uri",
])
def test_resource_unknown_invalid_target(client, caller, hotich_api, resource):
    """RFC 8707 §2: a resource no resource server holds (compared exactly)."""
    _error(client_credentials(client, caller, resource=resource), 400, "invalid_target")


def test_resource_two_invalid_target(client, caller, hotich_api, soyte_api):
    """RFC 8707 §2.2 allows several; the gateway issues a token for one resource at a time."""
    response = client.post("/token", data={"grant_type": "client_credentials",
                                           "resource": [HOTICH, SOYTE]},
                           headers=basic(caller["client_id"], caller["client_secret"]))
    _error(response, 400, "invalid_target")


def test_resource_bad_client_still_invalid_client(client, caller, hotich_api):
    """Client authentication comes first: no hint about resources to strangers."""
    response = client_credentials(client, {**caller, "client_secret": "wrong"},
                                  resource="https://api.unknown.vinhlong.gov.vn/")
    _error(response, 401, "invalid_client")


def test_resource_code_flow_at_token_endpoint(client, jwt_offline_rp, hotich_api, clock):
    """RFC 8707 §2.2: ``resource`` at the token request of the code grant; the refresh keeps
    it."""
    _, result = jwt_offline_rp.code_flow(**OFFLINE)
    response = jwt_offline_rp.token(result["code"], resource=HOTICH)
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    verify_at_jwt(client, tokens["access_token"], clock, HOTICH)
    refreshed = refresh(jwt_offline_rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    verify_at_jwt(client, refreshed.get_json()["access_token"], clock, HOTICH)
    again = refresh(jwt_offline_rp, refreshed.get_json()["refresh_token"], resource=HOTICH)
    assert again.status_code == 200, again.get_json()
    verify_at_jwt(client, again.get_json()["access_token"], clock, HOTICH)


def test_resource_refresh_other_resource_invalid_target(jwt_offline_rp, hotich_api,
                                                        soyte_api):
    """The refresh token stays bound to its resource; the failed request does not use it up."""
    _, result = jwt_offline_rp.code_flow(**OFFLINE)
    tokens = jwt_offline_rp.token(result["code"], resource=HOTICH).get_json()
    _error(refresh(jwt_offline_rp, tokens["refresh_token"], resource=SOYTE), 400,
           "invalid_target")
    assert refresh(jwt_offline_rp, tokens["refresh_token"]).status_code == 200


def test_resource_at_authorize_bound_to_code(client, jwt_offline_rp, hotich_api, soyte_api,
                                             clock):
    """RFC 8707 §2.1: the resource of the authorization request is kept with the code; the
    token request may repeat it or leave it out, not change it."""
    _, result = jwt_offline_rp.code_flow(resource=HOTICH, **OFFLINE)
    _error(jwt_offline_rp.token(result["code"], resource=SOYTE), 400, "invalid_target")
    response = jwt_offline_rp.token(result["code"])  # the failed request left the code usable
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    verify_at_jwt(client, tokens["access_token"], clock, HOTICH)
    refreshed = refresh(jwt_offline_rp, tokens["refresh_token"]).get_json()
    verify_at_jwt(client, refreshed["access_token"], clock, HOTICH)


def test_resource_at_authorize_unknown_redirects_invalid_target(jwt_offline_rp, hotich_api):
    """RFC 8707 §2: ``invalid_target`` back to the client's redirect URI, with ``state``."""
    params, response = jwt_offline_rp.authorize(resource="https://api.unknown.vinhlong.gov.vn/")
    result = jwt_offline_rp.redirect_result(response)
    assert result["error"] == "invalid_target"
    assert result["state"] == params["state"]


def test_resource_at_authorize_two_redirects_invalid_target(jwt_offline_rp, hotich_api,
                                                            soyte_api):
    params = jwt_offline_rp.authorize_params()
    params["resource"] = [HOTICH, SOYTE]
    response = jwt_offline_rp.http.get("/authorize", query_string=params)
    assert jwt_offline_rp.redirect_result(response)["error"] == "invalid_target"


# -- introspection (RFC 7662 §4) ----------------------------------------------------------------


def test_resource_introspection_other_api_token_inactive(client, caller, hotich_api, soyte_api):
    """A resource server learns about tokens for its own resources or for none; a token for
    another API is ``{"active": false}`` to it."""
    token = client_credentials(client, caller, resource=HOTICH).get_json()["access_token"]
    assert introspect(client, hotich_api, token)["active"] is True
    assert introspect(client, soyte_api, token) == {"active": False}
    plain = client_credentials(client, caller).get_json()["access_token"]
    assert introspect(client, soyte_api, plain)["active"] is True


def test_resource_opaque_token_introspection_audience(client, runner, hotich_api):
    """Opaque access tokens carry the resource too: introspection ``aud``."""
    party = created(create_client(runner, "--grant-type", "client_credentials", "--scope",
                                  "hotich.read", "--allowed-resource", HOTICH))
    token = client_credentials(client, party, resource=HOTICH).get_json()["access_token"]
    assert token.count(".") == 0
    assert introspect(client, hotich_api, token)["aud"] == HOTICH


# -- create-client --resource -------------------------------------------------------------------


def test_resource_cli_stored_in_metadata(runner):
    api = created(create_client(runner, "--resource-server", "--resource", HOTICH,
                                "--resource", "https://api.hotich.vinhlong.gov.vn/v2"))
    assert api["resource_indicators"] == [HOTICH, "https://api.hotich.vinhlong.gov.vn/v2"]


@pytest.mark.parametrize(("resource", "message"), [
    ("api.hotich.vinhlong.gov.vn", "https"),
    ("/relative/path", "https"),
    ("ftp://api.hotich.vinhlong.gov.vn/", "https"),
    ("https://api.hotich.vinhlong.gov.vn/#x", "fragment"),
    ("https://api.hotich.vinhlong.gov.vn/ x", "not a valid URI"),
])
def test_resource_cli_invalid_refused(runner, client, resource, message):
    """RFC 8707 §2: an absolute URI without fragment; nothing is stored on error."""
    result = create_client(runner, "--resource-server", "--resource", resource,
                           "--client-id", "bad-api")
    assert result.exit_code != 0
    assert message in result.output
    _error(client.post("/introspect", data={"token": "x"}, headers=basic("bad-api", "x")),
           401, "invalid_client")


def test_resource_cli_duplicate_across_clients_refused(runner, client, hotich_api):
    result = create_client(runner, "--resource-server", "--resource", HOTICH,
                           "--client-id", "second-api")
    assert result.exit_code != 0
    assert "already another client's" in result.output
    _error(client.post("/introspect", data={"token": "x"}, headers=basic("second-api", "x")),
           401, "invalid_client")


def test_resource_cli_duplicate_in_one_client_refused(runner):
    result = create_client(runner, "--resource-server", "--resource", HOTICH,
                           "--resource", HOTICH)
    assert result.exit_code != 0
    assert "twice" in result.output


def test_resource_cli_needs_resource_server(runner):
    result = create_client(runner, "--resource", HOTICH)
    assert result.exit_code != 0
    assert "--resource-server" in result.output


def test_resource_cli_loopback_http_in_development(runner):
    """Loopback http only in development (the tests' ``ENV``), as for registered URIs."""
    api = created(create_client(runner, "--resource-server", "--resource",
                                "http://127.0.0.1:8080/api"))
    assert api["resource_indicators"] == ["http://127.0.0.1:8080/api"]
    assert create_client(runner, "--resource-server", "--resource",
                         "http://api.example.vn/").exit_code != 0


def test_resource_indicators_not_registrable(client, initial_access_token, caller):
    """Like ``resource_server``: only an administrator sets them (RFC 7591 §2 ignores unknown
    metadata; RFC 7592 updates keep them)."""
    from tests.oidc.conftest import register

    response = register(client, initial_access_token, {
        "redirect_uris": ["https://rp.example.vn/cb"], "resource_indicators": [SOYTE]})
    assert response.status_code == 201
    body = response.get_json()
    assert not body.get("resource_indicators")
    update = {"redirect_uris": ["https://rp.example.vn/cb"], "resource_indicators": [SOYTE],
              "client_id": body["client_id"]}
    updated = register(client, body["registration_access_token"], update, method="PUT",
                       url=body["registration_client_uri"].removeprefix(ISSUER))
    assert updated.status_code == 200, updated.get_json()
    assert not updated.get_json().get("resource_indicators")
    _error(client_credentials(client, caller, resource=SOYTE), 400, "invalid_target")


def test_resource_not_allowed_for_this_client_invalid_target(client, runner, rp, hotich_api):
    """Without ``--allowed-resource`` a client gets no token for an agency's API, by any grant
    (else any registered client could mint tokens whose ``aud`` is that API)."""
    party = created(create_client(runner, "--grant-type", "client_credentials", "--scope",
                                  "hotich.read", "--access-token-format", "jwt"))
    _error(client_credentials(client, party, resource=HOTICH), 400, "invalid_target")
    params, response = rp.authorize(resource=HOTICH)
    assert rp.redirect_result(response)["error"] == "invalid_target"
    _, result = rp.code_flow()
    _error(rp.token(result["code"], resource=HOTICH), 400, "invalid_target")
    assert rp.token(result["code"]).status_code == 200  # the refused request left the code


def test_allowed_resources_not_registrable(client, initial_access_token):
    response = client.post("/register", json={
        "client_name": "Self-registered", "redirect_uris": ["https://rp.example.vn/cb"],
        "allowed_resources": [HOTICH]},
        headers={"Authorization": f"Bearer {initial_access_token}"})
    assert response.status_code == 201, response.get_json()
    assert "allowed_resources" not in response.get_json()
