"""OpenID Connect Config certification plan: ``oidcc-discovery-endpoint-verification``
(docs/conformance.md §2c; OpenID Connect Discovery 1.0 §3-§4, RFC 8414 §2) and the JWKS checks every
module runs (§2a ``CheckForKeyIdInServerJWKs``, ``CheckDistinctKeyIdValueInServerJWKs``)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from authlib.oidc.discovery import OpenIDProviderMetadata

from gateway.oidc.claims import SCOPE_CLAIMS
from tests.conftest import ISSUER
from tests.oidc.conftest import TracingRelyingParty, bearer

DISCOVERY = "/.well-known/openid-configuration"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
             "end_session_endpoint")


@pytest.fixture
def metadata(client):
    response = client.get(DISCOVERY)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_oidcc_discovery_endpoint_verification_validates_with_authlib(metadata):
    """oidcc-discovery-endpoint-verification: the document passes Authlib's OpenID Provider
    Metadata validation (Discovery §3, RFC 8414 §2). Authlib accepts http only on loopback, as
    the test issuer is; the same document under an https issuer validates too."""
    OpenIDProviderMetadata(metadata).validate()
    OpenIDProviderMetadata({
        key: (value.replace(ISSUER, "https://id.vinhlong.gov.vn", 1)
              if isinstance(value, str) else value)
        for key, value in metadata.items()
    }).validate()


def test_oidcc_discovery_endpoint_verification_issuer_equals_base(metadata):
    """Discovery §4.3: ``issuer`` equals the URL the document was fetched from, minus the
    well-known suffix; no query, no fragment, no trailing slash."""
    assert metadata["issuer"] == ISSUER
    parts = urlsplit(metadata["issuer"])
    assert not parts.query and not parts.fragment and not metadata["issuer"].endswith("/")


def test_oidcc_discovery_endpoint_verification_https_issuer_in_production(tmp_path):
    """Discovery §3: an https issuer outside development, or the gateway refuses to start."""
    from gateway import create_app
    from gateway.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="https"):
        create_app({"ENV": "production", "ISSUER": "http://id.vinhlong.gov.vn",
                    "SECRET_KEY": "s" * 40,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})


def test_oidcc_discovery_endpoint_verification_required_members(metadata):
    """Discovery §3 REQUIRED members and the values the suite checks."""
    for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                 "response_types_supported", "subject_types_supported",
                 "id_token_signing_alg_values_supported", "userinfo_endpoint"):
        assert name in metadata, name
    assert "code" in metadata["response_types_supported"]
    assert metadata["subject_types_supported"] == ["pairwise", "public"]
    assert "openid" in metadata["scopes_supported"]
    assert set(metadata["grant_types_supported"]) <= {
        "authorization_code", "refresh_token", "client_credentials"}
    assert "password" not in metadata["grant_types_supported"]  # RFC 9700 §2.4
    assert "implicit" not in metadata["grant_types_supported"]  # RFC 9700 §2.1.2
    assert isinstance(metadata["claims_supported"], list) and "sub" in metadata["claims_supported"]


def test_oidcc_discovery_endpoint_verification_endpoints_under_issuer(metadata):
    """Every endpoint is on the issuer's origin (https in production, like the issuer)."""
    for name in ENDPOINTS:
        assert metadata[name].startswith(ISSUER + "/"), name


def test_oidcc_discovery_endpoint_verification_signing_algs(metadata):
    """``id_token_signing_alg_values_supported`` contains RS256 and never ``none``
    (oidcc-idtoken-unsigned is then skipped)."""
    algs = metadata["id_token_signing_alg_values_supported"]
    assert "RS256" in algs and "none" not in algs
    assert "none" not in metadata.get("userinfo_signing_alg_values_supported", [])


def test_oidcc_discovery_endpoint_verification_pkce_s256_only(metadata):
    """RFC 9700 §2.1.1, RFC 8414 §2: ``code_challenge_methods_supported`` is exactly S256."""
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_oidcc_discovery_endpoint_verification_iss_parameter(metadata):
    """RFC 9207 §3: ``authorization_response_iss_parameter_supported`` is true."""
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_oidcc_discovery_endpoint_verification_locales_bcp47(metadata):
    """Discovery §3: locales are BCP 47 tags in canonical casing."""
    tag = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
    for name in ("ui_locales_supported", "claims_locales_supported"):
        assert metadata[name] and all(tag.match(value) for value in metadata[name]), name


def test_oidcc_discovery_endpoint_verification_only_code_and_query(metadata):
    """RFC 9700 §2.1.2: no implicit or hybrid response types, no fragment mode."""
    assert metadata["response_types_supported"] == ["code"]
    assert "fragment" not in metadata.get("response_modes_supported", [])


def test_oidcc_discovery_endpoint_verification_rfc8414_alias(client, metadata):
    """RFC 8414 §3: the same document at ``/.well-known/oauth-authorization-server``."""
    assert client.get("/.well-known/oauth-authorization-server").get_json() == metadata


def test_oidcc_discovery_endpoint_verification_cors_on_metadata_not_authorize(client, metadata):
    """RFC 9700 §2.6: CORS on metadata and JWKS, never on the authorization endpoint."""
    assert client.get(DISCOVERY).headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/jwks").headers["Access-Control-Allow-Origin"] == "*"
    response = client.get("/authorize", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("member", "method", "expected"),
    [
        ("authorization_endpoint", "GET", 400),  # no parameters: error page
        ("token_endpoint", "POST", 400),  # no grant_type: JSON error
        ("userinfo_endpoint", "GET", 401),  # no token: Bearer challenge
        ("jwks_uri", "GET", 200),
        ("end_session_endpoint", "GET", 200),  # no parameters: confirmation page
    ],
)
def test_oidcc_discovery_endpoint_verification_every_endpoint_answers(client, metadata, member,
                                                                       method, expected):
    """Every advertised endpoint exists and answers (no 404, no 500)."""
    path = urlsplit(metadata[member]).path
    response = client.open(path, method=method)
    assert response.status_code == expected, response.get_data(as_text=True)[:300]


def test_oidcc_discovery_endpoint_verification_jwks_valid(client, metadata):
    """``jwks_uri`` serves a JWKS whose keys each have a distinct ``kid``, ``use=sig``, public
    parts only; RSA keys at least 2048 bits (FAPI 2.0 F17)."""
    from joserfc.jwk import KeySet

    response = client.get(urlsplit(metadata["jwks_uri"]).path)
    assert response.status_code == 200 and response.mimetype == "application/json"
    keys = response.get_json()["keys"]
    assert keys
    kids = [key.get("kid") for key in keys]
    assert all(kids) and len(set(kids)) == len(kids)
    for key in keys:
        assert key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key), "private parts published"
        if key["kty"] == "RSA":
            import base64

            modulus = base64.urlsafe_b64decode(key["n"] + "==")
            assert len(modulus) * 8 >= 2048
    KeySet.import_key_set({"keys": keys})


def test_oidcc_discovery_endpoint_verification_jwks_distinct_kid_after_rotation(client, runner):
    """oidcc-server-rotate-keys: after rotation the new keys are published beside the old ones,
    every ``kid`` still distinct."""
    before = {key["kid"] for key in client.get("/jwks").get_json()["keys"]}
    result = runner.invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    after = [key["kid"] for key in client.get("/jwks").get_json()["keys"]]
    assert before < set(after) and len(set(after)) == len(after)


def test_oidcc_discovery_endpoint_verification_scopes_supported_all_work(client, factory,
                                                                         metadata):
    """Every scope in ``scopes_supported`` is granted when requested and releases its claims."""
    scopes = metadata["scopes_supported"]
    assert set(scopes) == {"openid", *SCOPE_CLAIMS, "offline_access"}
    rp = TracingRelyingParty(
        client, factory.oauth_client(scope=" ".join(scopes),
                                     grant_types=["authorization_code", "refresh_token"]),
        factory.citizen())
    for scope in scopes:
        requested = "openid" if scope == "openid" else f"openid {scope}"
        _, tokens = rp.tokens(scope=requested, prompt="consent")
        assert set(tokens["scope"].split()) == set(requested.split())
        info = client.get("/userinfo", headers=bearer(tokens["access_token"])).get_json()
        if scope == "organisation":
            continue  # released only when acting for a business (tests/identity/test_represents.py)
        for claim in SCOPE_CLAIMS.get(scope, ()):
            assert claim in info, (scope, claim)


def test_oidcc_discovery_endpoint_verification_advertised_values_accepted(rp, metadata):
    """Each advertised ``prompt``, ``display``, ``acr`` and ``ui_locales`` value is accepted."""
    rp.tokens()
    for prompt in metadata["prompt_values_supported"]:
        _, response = rp.authorize(prompt=prompt)
        assert response.status_code in (302, 303)
        assert "error=" not in response.headers["Location"], prompt
    # ``acr_values`` are "at least": this level-1 person gets a code for LoA1 and
    # unmet_authentication_requirements for LoA2 (tests/accounts/test_assurance.py).
    _, result = rp.code_flow(acr_values="LoA1")
    assert "code" in result
    for name, values in (("display", metadata["display_values_supported"]),
                         ("ui_locales", metadata["ui_locales_supported"]),
                         ("claims_locales", metadata["claims_locales_supported"])):
        for value in values:
            _, result = rp.code_flow(**{name: value})
            assert "code" in result, (name, value)


def test_oidcc_discovery_endpoint_verification_auth_methods_match_grant(metadata):
    """``token_endpoint_auth_methods_supported`` lists what the token endpoint accepts."""
    from gateway.oidc.grants import AuthorizationCodeGrant

    assert set(metadata["token_endpoint_auth_methods_supported"]) == set(
        AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS
    )
