"""Client registration (RFC 7591) and management (RFC 7592) behind initial access tokens that an
administrator issues per agency: strict metadata, precise errors, nothing stored on error."""

from __future__ import annotations

import json
import warnings

import pytest
from joserfc.jwk import RSAKey

from tests.conftest import ISSUER
from tests.oidc.conftest import (
    bearer,
    issue_registration_token,
    make_client_key,
    public_jwks,
    register,
)

GOOD = {"redirect_uris": ["https://rp.example.vn/callback"], "client_name": "Sở Y tế"}
PRIVATE = make_client_key("private")
PRIVATE_JWKS = {"keys": [PRIVATE.as_dict(private=True)]}
with warnings.catch_warnings():  # joserfc rightly warns about a 1024-bit key: that is the point
    warnings.simplefilter("ignore")
    SMALL_RSA = RSAKey.generate_key(1024, {"kid": "small"}, private=True)


def stored_counts(app) -> tuple[int, int]:
    from gateway.extensions import db
    from gateway.oidc.models import InitialAccessToken, OAuth2Client

    with app.app_context():
        uses = sum(t.uses for t in db.session.query(InitialAccessToken))
        return db.session.query(OAuth2Client).count(), uses


# -- bad registrations: each field, exact error, never a 500, nothing stored -------------------

REDIRECT = "invalid_redirect_uri"
METADATA = "invalid_client_metadata"

BAD_REGISTRATIONS = [
    # (metadata merged over GOOD, error, field named in error_description)
    ({"redirect_uris": None}, REDIRECT, "redirect_uris"),
    ({"redirect_uris": []}, REDIRECT, "redirect_uris"),
    ({"redirect_uris": "https://rp.example.vn/callback"}, METADATA, "redirect_uris"),
    ({"redirect_uris": [42]}, METADATA, "redirect_uris"),
    ({"redirect_uris": [f"https://rp.example.vn/cb{i}" for i in range(21)]}, METADATA,
     "redirect_uris"),
    ({"redirect_uris": ["https://rp.example.vn/callback#frag"]}, REDIRECT, "redirect_uris"),
    ({"redirect_uris": ["http://rp.example.vn/callback"]}, REDIRECT, "redirect_uris"),
    ({"redirect_uris": ["/callback"]}, REDIRECT, "redirect_uris"),
    ({"redirect_uris": ["javascript:alert(1)"]}, REDIRECT, "redirect_uris"),
    ({"redirect_uris": ["https://user:pw@rp.example.vn/cb"]}, REDIRECT, "redirect_uris"),
    ({"redirect_uris": ["https://rp.example.vn/c b"]}, REDIRECT, "redirect_uris"),
    ({"redirect_uris": ["https://rp.example.vn:99999/cb"]}, REDIRECT, "redirect_uris"),
    ({"post_logout_redirect_uris": ["http://rp.example.vn/bye"]}, METADATA,
     "post_logout_redirect_uris"),
    ({"post_logout_redirect_uris": ["https://rp.example.vn/bye#x"]}, METADATA,
     "post_logout_redirect_uris"),
    ({"post_logout_redirect_uris": "https://rp.example.vn/bye"}, METADATA,
     "post_logout_redirect_uris"),
    ({"backchannel_logout_uri": "http://rp.example.vn/bc"}, METADATA, "backchannel_logout_uri"),
    ({"backchannel_logout_uri": "https://rp.example.vn/bc#f"}, METADATA,
     "backchannel_logout_uri"),
    ({"backchannel_logout_uri": ["https://rp.example.vn/bc"]}, METADATA,
     "backchannel_logout_uri"),
    ({"backchannel_logout_session_required": "yes"}, METADATA,
     "backchannel_logout_session_required"),
    ({"frontchannel_logout_uri": "ftp://rp.example.vn/fc"}, METADATA, "frontchannel_logout_uri"),
    ({"frontchannel_logout_session_required": 1}, METADATA,
     "frontchannel_logout_session_required"),
    ({"logo_uri": "http://rp.example.vn/logo.png"}, METADATA, "logo_uri"),
    ({"logo_uri": "https://rp.example.vn/logo.png#x"}, METADATA, "logo_uri"),
    ({"policy_uri": "not a uri"}, METADATA, "policy_uri"),
    ({"tos_uri": "javascript:alert(1)"}, METADATA, "tos_uri"),
    ({"client_uri": "http://rp.example.vn/"}, METADATA, "client_uri"),
    ({"jwks": PRIVATE_JWKS}, METADATA, "jwks"),
    ({"jwks": {"keys": []}}, METADATA, "jwks"),
    ({"jwks": {"keys": [{"kty": "RSA", "n": "x"}]}}, METADATA, "jwks"),
    ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, METADATA, "jwks"),
    ({"jwks": "keys"}, METADATA, "jwks"),
    ({"jwks": public_jwks(make_client_key("a"), make_client_key("a", "EC"))}, METADATA, "jwks"),
    ({"jwks": {"keys": [SMALL_RSA.as_dict(private=False)]}}, METADATA, "jwks"),
    ({"jwks": public_jwks(PRIVATE), "jwks_uri": "https://rp.example.vn/jwks"}, METADATA, "jwks"),
    ({"jwks_uri": "http://rp.example.vn/jwks"}, METADATA, "jwks_uri"),
    ({"token_endpoint_auth_method": "client_secret_jwt"}, METADATA,
     "token_endpoint_auth_method"),
    ({"token_endpoint_auth_method": "tls_client_auth"}, METADATA, "token_endpoint_auth_method"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, METADATA, "token_endpoint_auth_method"),
    ({"token_endpoint_auth_method": 1}, METADATA, "token_endpoint_auth_method"),
    ({"token_endpoint_auth_signing_alg": "none"}, METADATA, "token_endpoint_auth_signing_alg"),
    ({"token_endpoint_auth_signing_alg": "HS256"}, METADATA, "token_endpoint_auth_signing_alg"),
    ({"id_token_signed_response_alg": "none"}, METADATA, "id_token_signed_response_alg"),
    ({"id_token_signed_response_alg": "HS256"}, METADATA, "id_token_signed_response_alg"),
    ({"userinfo_signed_response_alg": "none"}, METADATA, "userinfo_signed_response_alg"),
    ({"userinfo_signed_response_alg": "RS384"}, METADATA, "userinfo_signed_response_alg"),
    ({"id_token_encrypted_response_alg": "RSA-OAEP"}, METADATA,
     "id_token_encrypted_response_alg"),
    ({"userinfo_encrypted_response_enc": "A128GCM"}, METADATA,
     "userinfo_encrypted_response_enc"),
    ({"subject_type": "anonymous"}, METADATA, "subject_type"),
    ({"sector_identifier_uri": "http://rp.example.vn/sector.json"}, METADATA,
     "sector_identifier_uri"),
    ({"response_types": ["token"]}, METADATA, "response_types"),
    ({"response_types": ["code id_token"]}, METADATA, "response_types"),
    ({"response_types": ["code", "token"]}, METADATA, "response_types"),
    ({"grant_types": ["implicit"]}, METADATA, "grant_types"),
    ({"grant_types": ["password"]}, METADATA, "grant_types"),
    ({"grant_types": []}, METADATA, "grant_types"),
    ({"scope": "openid admin"}, METADATA, "scope"),
    ({"scope": "profile email"}, METADATA, "scope"),
    ({"scope": ["openid"]}, METADATA, "scope"),
    ({"client_name": ""}, METADATA, "client_name"),
    ({"client_name": "x" * 201}, METADATA, "client_name"),
    ({"client_name": 42}, METADATA, "client_name"),
    ({"contacts": "it@soyte.vinhlong.gov.vn"}, METADATA, "contacts"),
    ({"contacts": [f"a{i}@example.vn" for i in range(11)]}, METADATA, "contacts"),
    ({"application_type": "desktop"}, METADATA, "application_type"),
    ({"software_id": {"id": 1}}, METADATA, "software_id"),
    ({"default_max_age": -1}, METADATA, "default_max_age"),
    ({"default_max_age": 3600}, METADATA, "default_max_age"),
    ({"default_max_age": "3600"}, METADATA, "default_max_age"),
    ({"require_auth_time": "true"}, METADATA, "require_auth_time"),
    ({"require_signed_request_object": "yes"}, METADATA, "require_signed_request_object"),
    ({"default_acr_values": ["LoA9"]}, METADATA, "default_acr_values"),
    ({"request_uris": ["http://rp.example.vn/request.jwt"]}, METADATA, "request_uris"),
    ({"initiate_login_uri": "http://rp.example.vn/login"}, METADATA, "initiate_login_uri"),
]


@pytest.mark.parametrize(
    "overrides, error, field", BAD_REGISTRATIONS,
    ids=[f"{i:02d}-{field}" for i, (_, _, field) in enumerate(BAD_REGISTRATIONS)],
)
def test_register_bad_metadata_gets_exact_error_and_stores_nothing(
        app, client, initial_access_token, overrides, error, field):
    """RFC 7591 §3.2.2: ``invalid_redirect_uri`` or ``invalid_client_metadata`` with an
    ``error_description`` naming the field; HTTP 400, never 500; no client stored and the
    initial access token not used up."""
    before = stored_counts(app)
    metadata = {k: v for k, v in {**GOOD, **overrides}.items() if v is not None}
    response = register(client, initial_access_token, metadata)
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error, body
    assert field in body["error_description"], body
    assert response.headers["Cache-Control"] == "no-store"
    assert stored_counts(app) == before


@pytest.mark.parametrize("body, content_type", [
    ("[]", "application/json"),
    ('"redirect_uris"', "application/json"),
    ("{not json", "application/json"),
    ("redirect_uris=https://rp.example.vn/cb", "application/x-www-form-urlencoded"),
    ("", "application/json"),
])
def test_register_body_not_a_json_object_is_400(app, client, initial_access_token, body,
                                                content_type):
    before = stored_counts(app)
    response = client.post("/register", data=body, content_type=content_type,
                           headers=bearer(initial_access_token))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_client_metadata"
    assert stored_counts(app) == before


def test_register_http_loopback_redirect_only_in_development(app, client, initial_access_token):
    """RFC 9700 §2.6 / RFC 8252 §7.3: loopback http redirect URIs in development only."""
    metadata = {"redirect_uris": ["http://127.0.0.1:5001/callback"]}
    assert register(client, initial_access_token, metadata).status_code == 201
    app.config["ENV"] = "production"
    response = register(client, initial_access_token, metadata)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_redirect_uri"


def test_register_unknown_metadata_ignored_and_agency_metadata_from_token(
        client, runner, app):
    """RFC 7591 §2: unknown fields are ignored; the agency's name, level and unit code come
    from the initial access token, whatever the request says."""
    token = issue_registration_token(
        runner, "--agency-name", "UBND Phường Phước Hậu", "--level", "commune",
        "--unit-code", "29557")["initial_access_token"]
    response = register(client, token, {
        **GOOD, "agency_name": "Bộ Công an", "agency_level": "province",
        "administrative_unit_code": "01", "is_admin": True})
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["agency_name"] == "UBND Phường Phước Hậu"
    assert body["agency_level"] == "commune" and body["administrative_unit_code"] == "29557"
    assert "is_admin" not in body
    read = client.get(body["registration_client_uri"].removeprefix(ISSUER),
                      headers=bearer(body["registration_access_token"])).get_json()
    assert read["agency_name"] == "UBND Phường Phước Hậu"


# -- the registration response -------------------------------------------------------------------

def test_register_response_has_credentials_once_and_stores_only_digests(
        app, client, initial_access_token, clock):
    """RFC 7591 §3.2.1 and RFC 7592 §3: client_id, client_secret, client_id_issued_at,
    client_secret_expires_at, registration_access_token, registration_client_uri; secrets kept
    as digests only."""
    response = register(client, initial_access_token, {
        **GOOD, "post_logout_redirect_uris": ["https://rp.example.vn/bye"],
        "backchannel_logout_uri": "https://rp.example.vn/backchannel",
        "backchannel_logout_session_required": True,
        "frontchannel_logout_uri": "https://rp.example.vn/frontchannel",
        "contacts": ["it@soyte.vinhlong.gov.vn"]})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    for name in ("client_id", "client_secret", "registration_access_token",
                 "registration_client_uri", "client_id_issued_at", "client_secret_expires_at"):
        assert body[name] is not None, name
    assert body["client_id_issued_at"] == clock.now()
    assert body["client_secret_expires_at"] == 0
    assert body["registration_client_uri"] == f"{ISSUER}/register/{body['client_id']}"
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["response_types"] == ["code"] and body["grant_types"] == ["authorization_code"]
    assert body["backchannel_logout_session_required"] is True
    assert body["frontchannel_logout_session_required"] is False
    assert body["client_name"] == "Sở Y tế"
    with app.app_context():
        from gateway.extensions import db
        from gateway.oidc.models import InitialAccessToken, OAuth2Client

        stored = db.session.scalar(  # the row as stored
            db.select(OAuth2Client).where(OAuth2Client.client_id == body["client_id"]))
        assert stored.client_secret != body["client_secret"]
        assert stored.registration_access_token_digest != body["registration_access_token"]
        dump = json.dumps([stored.client_metadata, stored.client_secret,
                           stored.registration_access_token_digest])
        assert body["client_secret"] not in dump
        assert body["registration_access_token"] not in dump
        for record in db.session.query(InitialAccessToken):
            assert record.token_digest != initial_access_token
        assert db.session.query(OAuth2Client).count() == 1


def test_registered_secret_client_completes_code_flow(client, initial_access_token, factory,
                                                       jwks, clock):
    """The secret shown once works with ``client_secret_basic``."""
    from tests.oidc.conftest import DynamicRelyingParty, decode_id_token

    body = register(client, initial_access_token, GOOD).get_json()
    rp = DynamicRelyingParty(client, body, factory.citizen())
    params, tokens = rp.tokens()
    decode_id_token(tokens["id_token"], jwks, client_id=body["client_id"], now=clock.now(),
                    nonce=params["nonce"])


def test_registered_public_client_gets_no_secret_and_must_use_pkce(
        client, initial_access_token, factory):
    body = register(client, initial_access_token,
                    {**GOOD, "token_endpoint_auth_method": "none"}).get_json()
    assert "client_secret" not in body
    from tests.oidc.conftest import DynamicRelyingParty

    rp = DynamicRelyingParty(client, body, factory.citizen())
    _, tokens = rp.tokens()
    assert tokens["access_token"]
    _, response = rp.authorize(code_challenge=None, code_challenge_method=None)
    assert "error=invalid_request" in response.headers["Location"]


# -- initial access tokens (RFC 7591 §3) -----------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"},
    {"Authorization": "Bearer "},
])
def test_register_without_valid_initial_access_token_is_401(app, client, headers):
    before = stored_counts(app)
    response = client.post("/register", json=GOOD, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored_counts(app) == before


def test_initial_access_token_expires(client, runner, clock):
    token = issue_registration_token(runner, "--expires-in", "2")["initial_access_token"]
    clock.advance(2 * 86400 - 1)
    assert register(client, token, GOOD).status_code == 201
    clock.advance(1)
    assert register(client, token, GOOD).status_code == 401


def test_initial_access_token_max_uses(client, runner):
    token = issue_registration_token(runner, "--max-uses", "2")["initial_access_token"]
    assert register(client, token, GOOD).status_code == 201
    assert register(client, token, {**GOOD, "client_name": "B"}).status_code == 201
    response = register(client, token, GOOD)
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"


def test_failed_registration_does_not_use_up_initial_access_token(client, runner):
    token = issue_registration_token(runner, "--max-uses", "1")["initial_access_token"]
    assert register(client, token, {"redirect_uris": ["http://x.example"]}).status_code == 400
    assert register(client, token, GOOD).status_code == 201


# -- issue-registration-token CLI -------------------------------------------------------------

@pytest.mark.parametrize("level, code, name", [
    ("province", "86", "Tỉnh Vĩnh Long"),
    ("district", "855", "Thành phố Vĩnh Long"),
    ("district", "863", "Huyện Bình Tân"),
    ("commune", "29548", "Phường 1"),           # pre-2025 only (dissolved)
    ("commune", "28756", "Phường Phú Khương"),  # 2025 structure, from old Bến Tre
    ("commune", "29551", "Phường Long Châu"),   # code kept across the 2025 merger
])
def test_issue_registration_token_accepts_units_of_both_structures(runner, level, code, name):
    result = issue_registration_token(runner, "--level", level, "--unit-code", code)
    assert result["administrative_unit_code"] == code
    assert result["administrative_unit_name"] == name
    assert len(result["initial_access_token"]) >= 40


@pytest.mark.parametrize("args, message", [
    (["--level", "district", "--unit-code", "29551"], "--unit-code"),
    (["--level", "commune", "--unit-code", "855"], "--unit-code"),
    (["--level", "province", "--unit-code", "83"], "--unit-code"),
    (["--level", "commune", "--unit-code", "99999"], "--unit-code"),
    (["--level", "ward", "--unit-code", "29551"], "--level"),
    (["--level", "province", "--unit-code", "86", "--expires-in", "0"], "--expires-in"),
    (["--level", "province", "--unit-code", "86", "--agency-name", " "], "--agency-name"),
])
def test_issue_registration_token_refuses_bad_input(app, runner, args, message):
    base = ["issue-registration-token", "--agency-name", "Sở Tư pháp"]
    result = runner.invoke(args=base + args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    from gateway.extensions import db
    from gateway.oidc.models import InitialAccessToken

    with app.app_context():
        assert db.session.query(InitialAccessToken).count() == 0


def test_issue_registration_token_prints_token_once_with_warning(runner, app):
    result = runner.invoke(args=["issue-registration-token", "--agency-name", "Sở Tư pháp",
                                 "--level", "province", "--unit-code", "86"])
    assert result.exit_code == 0, result.output
    token = result.output.split("initial_access_token:")[1].split()[0]
    assert "cannot be shown again" in result.output
    from gateway.extensions import db
    from gateway.oidc.models import InitialAccessToken, digest

    with app.app_context():
        (record,) = db.session.query(InitialAccessToken).all()
        assert record.token_digest == digest(token)


# -- client management (RFC 7592) ------------------------------------------------------------

@pytest.fixture
def registered(client, initial_access_token):
    body = register(client, initial_access_token, {
        **GOOD, "post_logout_redirect_uris": ["https://rp.example.vn/bye"]}).get_json()
    body["path"] = body["registration_client_uri"].removeprefix(ISSUER)
    return body


def test_client_configuration_read_returns_metadata_without_secret(client, registered):
    """RFC 7592 §2.1: read with the registration access token; the secret (kept as a digest)
    is never returned."""
    response = client.get(registered["path"],
                          headers=bearer(registered["registration_access_token"]))
    assert response.status_code == 200
    body = response.get_json()
    assert "client_secret" not in body
    assert body["client_id"] == registered["client_id"]
    assert body["redirect_uris"] == GOOD["redirect_uris"]
    assert body["registration_access_token"] == registered["registration_access_token"]
    assert body["registration_client_uri"] == registered["registration_client_uri"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_client_configuration_needs_the_registration_access_token(
        client, registered, initial_access_token, method):
    """RFC 7592 §2 and RFC 6750 §3: no token, a wrong token, the initial access token or
    another client's registration access token: 401 ``invalid_token``."""
    for headers in ({}, bearer("wrong"), bearer(initial_access_token)):
        response = client.open(registered["path"], method=method, headers=headers,
                               json={**GOOD, "client_id": registered["client_id"]})
        assert response.status_code == 401, headers
        assert response.get_json()["error"] == "invalid_token"
    other = register(client, initial_access_token, GOOD).get_json()
    response = client.open(registered["path"], method=method,
                           headers=bearer(other["registration_access_token"]),
                           json={**GOOD, "client_id": registered["client_id"]})
    assert response.status_code == 401


def test_client_configuration_update_replaces_metadata(client, registered):
    """RFC 7592 §2.2: the PUT body replaces the metadata (validated like a registration); the
    agency's metadata stays."""
    headers = bearer(registered["registration_access_token"])
    new = {"client_id": registered["client_id"], "client_name": "Sở Y tế (mới)",
           "redirect_uris": ["https://rp.example.vn/new-callback"],
           "agency_name": "changed"}
    response = client.put(registered["path"], json=new, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["redirect_uris"] == new["redirect_uris"]
    assert "post_logout_redirect_uris" not in body  # omitted: removed
    assert body["agency_name"] == registered["agency_name"]
    assert client.get(registered["path"], headers=headers).get_json()["client_name"] == (
        "Sở Y tế (mới)")


@pytest.mark.parametrize("body, error", [
    ({"redirect_uris": ["https://rp.example.vn/cb#x"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://rp.example.vn/cb"], "token_endpoint_auth_method": "none"},
     "invalid_client_metadata"),
    ({"redirect_uris": ["https://rp.example.vn/cb"], "client_id": "someone-else"},
     "invalid_request"),
    ({"redirect_uris": ["https://rp.example.vn/cb"], "client_id": None}, "invalid_request"),
    ({"redirect_uris": ["https://rp.example.vn/cb"], "registration_access_token": "x"},
     "invalid_request"),
    ({"redirect_uris": ["https://rp.example.vn/cb"], "client_secret": "wrong"},
     "invalid_request"),
])
def test_client_configuration_bad_update_changes_nothing(client, registered, body, error):
    headers = bearer(registered["registration_access_token"])
    body = {"client_id": registered["client_id"], **body}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.put(registered["path"], json=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert client.get(registered["path"], headers=headers).get_json()["redirect_uris"] == (
        GOOD["redirect_uris"])


def test_client_configuration_update_with_non_json_body_is_400(client, registered):
    response = client.put(registered["path"], data="x=1",
                          headers=bearer(registered["registration_access_token"]))
    assert response.status_code == 400


def test_client_configuration_delete_removes_client_and_its_tokens(client, registered, factory):
    """RFC 7592 §2.3: 204; afterwards the registration access token, the client credentials
    and the access tokens issued to it no longer work."""
    from tests.oidc.conftest import DynamicRelyingParty

    rp = DynamicRelyingParty(client, registered, factory.citizen())
    _, tokens = rp.tokens()
    headers = bearer(registered["registration_access_token"])
    response = client.delete(registered["path"], headers=headers)
    assert response.status_code == 204
    assert client.get(registered["path"], headers=headers).status_code == 401
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    _, response = rp.authorize()
    assert response.status_code == 400 and "Location" not in response.headers


def test_sector_identifier_property_of_client(app):
    """OIDC Core §8.1: the sector is the host of ``sector_identifier_uri``, else of the
    redirect URI."""
    from gateway.oidc.models import OAuth2Client

    client = OAuth2Client(client_id="x")
    client.set_client_metadata({"redirect_uris": ["https://a.example.vn/cb"]})
    assert client.sector_identifier == "a.example.vn"
    client.set_client_metadata({"redirect_uris": ["https://a.example.vn/cb"],
                                "sector_identifier_uri": "https://sector.example.vn/s.json"})
    assert client.sector_identifier == "sector.example.vn"


def test_pairwise_client_with_several_redirect_hosts_needs_sector_uri(client,
                                                                     initial_access_token):
    """OIDC Core §8.1: several redirect hosts and no ``sector_identifier_uri`` cannot get a
    pairwise ``sub`` (skipped, like the conformance module, unless pairwise is advertised)."""
    metadata = client.get("/.well-known/openid-configuration").get_json()
    if "pairwise" not in metadata["subject_types_supported"]:
        pytest.skip("pairwise subjects are not advertised")
    response = register(client, initial_access_token, {
        "redirect_uris": ["https://a.example.vn/cb", "https://b.example.vn/cb"],
        "subject_type": "pairwise"})
    assert response.status_code == 400
    assert "sector_identifier_uri" in response.get_json()["error_description"]


# -- any JSON value in any field: a 201 or a precise 400, never a 500 ---------------------------

FIELDS = sorted({
    "redirect_uris", "post_logout_redirect_uris", "token_endpoint_auth_method", "grant_types",
    "response_types", "client_name", "client_uri", "logo_uri", "scope", "contacts", "tos_uri",
    "policy_uri", "jwks_uri", "jwks", "software_id", "software_version",
    "token_endpoint_auth_signing_alg", "application_type", "sector_identifier_uri",
    "subject_type", "id_token_signed_response_alg", "userinfo_signed_response_alg",
    "default_max_age", "require_auth_time", "default_acr_values", "initiate_login_uri",
    "request_object_signing_alg", "request_uris", "backchannel_logout_uri",
    "backchannel_logout_session_required", "frontchannel_logout_uri",
    "frontchannel_logout_session_required", "client_id", "client_secret",
    "require_signed_request_object",
})
ODD_VALUES = ["", "x", 0, -1, 1.5, True, False, [], [1], ["x"], [[]], {}, {"keys": "x"},
              {"keys": [1]}, "é\u0000\n"]


@pytest.mark.parametrize("field", FIELDS)
def test_register_odd_values_never_500(app, client, initial_access_token, field):
    for value in ODD_VALUES:
        response = register(client, initial_access_token, {**GOOD, field: value})
        assert response.status_code in (201, 400), (field, value, response.get_data())
        if response.status_code == 400:
            body = response.get_json()
            assert body["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
            assert body["error_description"]


@pytest.mark.parametrize("field", FIELDS)
def test_client_configuration_update_odd_values_never_500(client, registered, field):
    headers = bearer(registered["registration_access_token"])
    for value in ODD_VALUES:
        body = {**GOOD, "client_id": registered["client_id"], field: value}
        response = client.put(registered["path"], json=body, headers=headers)
        assert response.status_code in (200, 400), (field, value, response.get_data())
