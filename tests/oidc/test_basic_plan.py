"""OpenID Connect Basic certification plan, module by module (CONFORMANCE.md §2b)."""

from __future__ import annotations

from joserfc import jwt

from tests.conftest import ISSUER


def decode(id_token, jwks):
    return jwt.decode(id_token, jwks, algorithms=["RS256", "PS256", "ES256"])


def test_oidcc_server_happy_flow_issues_signed_id_token_and_userinfo(rp, client, jwks):
    """oidcc-server: code + state to the registered redirect_uri, signed ID token, userinfo."""
    params, result = rp.code_flow()
    assert result["iss"] == ISSUER  # RFC 9207
    response = rp.token(result["code"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    id_token = decode(tokens["id_token"], jwks)
    assert id_token.header["alg"] == "RS256" and id_token.header["kid"]
    claims = id_token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.reg["client_id"]
    assert claims["nonce"] == params["nonce"]
    assert claims["sub"] and claims["sub"] != rp.citizen["personal_id"]
    for name in ("exp", "iat", "auth_time", "acr", "amr", "sid", "at_hash"):
        assert name in claims, name
    assert claims["acr"] == "LoA1" and claims["amr"] == ["pwd"]
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.get_json()["sub"] == claims["sub"]
    assert info.get_json()["name"] == rp.citizen["name"]
