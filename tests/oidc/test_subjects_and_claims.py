"""Subjects (OIDC Core §8: pairwise by default) and claims (scopes, aliases, ``claims`` §5.5)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from joserfc import jwt

from tests.conftest import RelyingParty


def _id_claims(tokens, jwks):
    return jwt.decode(tokens["id_token"], jwks, algorithms=["RS256", "PS256", "ES256"]).claims


def _userinfo(client, tokens):
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = client.get("/userinfo", headers=bearer)
    assert response.status_code == 200
    return response.get_json()


def test_pairwise_sub_is_stable_within_a_sector_and_differs_across_sectors(client, factory, jwks):
    """OIDC Core §8.1: same sector (host) → same sub; another sector → another sub."""
    citizen = factory.citizen()
    same_a = factory.oauth_client(redirect_uris=["https://dvc.vinhlong.gov.vn/a/callback"])
    same_b = factory.oauth_client(redirect_uris=["https://dvc.vinhlong.gov.vn/b/callback"])
    other = factory.oauth_client(redirect_uris=["https://xa.phuochau.vinhlong.gov.vn/cb"])
    subs = []
    for registration in (same_a, same_b, other):
        _, tokens = RelyingParty(client, registration, citizen).sign_in_and_get_tokens()
        sub = _id_claims(tokens, jwks)["sub"]
        assert _userinfo(client, tokens)["sub"] == sub
        subs.append(sub)
    assert subs[0] == subs[1]
    assert subs[2] != subs[0]
    assert citizen["subject"] not in subs and citizen["personal_id"] not in subs
    _, again = RelyingParty(client, same_a, citizen).sign_in_and_get_tokens()
    assert _id_claims(again, jwks)["sub"] == subs[0]


def test_public_subject_type_gives_every_client_the_same_sub(app, client, factory, jwks):
    app.config["SUBJECT_TYPE_DEFAULT"] = "public"
    citizen = factory.citizen()
    subs = {
        _id_claims(RelyingParty(client, factory.oauth_client(), citizen)
                   .sign_in_and_get_tokens()[1], jwks)["sub"]
        for _ in range(2)
    }
    assert subs == {citizen["subject"]}


def test_personal_id_is_released_only_under_its_scope(client, rp):
    _, tokens = rp.sign_in_and_get_tokens(scope="openid profile")
    assert "personal_id" not in _userinfo(client, tokens)
    _, tokens = rp.sign_in_and_get_tokens(scope="openid personal_id", prompt="consent")
    info = _userinfo(client, tokens)
    assert info["personal_id"] == rp.citizen["personal_id"]
    assert "name" not in info


def test_national_portal_scope_releases_the_aliases_and_nothing_else(client, factory):
    citizen = factory.citizen(
        personal_id="086185001111", birthdate=date(1985, 11, 3), gender="female",
        given_name="Bình", middle_name="Thị", family_name="Trần",
    )
    registration = factory.oauth_client(scope="openid national_portal")
    _, tokens = RelyingParty(client, registration, citizen).sign_in_and_get_tokens(
        scope="openid national_portal")
    info = _userinfo(client, tokens)
    assert info == {
        "sub": info["sub"], "SoDinhDanh": "086185001111", "HoVaTen": "Trần Thị Bình",
        "NgayThangNamSinh": "19851103", "GioiTinh": "Nữ", "LoaiTaiKhoan": "1",
    }


def test_oidcc_claims_essential_name_in_userinfo_is_returned(client, rp):
    """oidcc-claims-essential: ``name`` requested as essential in userinfo with scope openid."""
    claims = json.dumps({"userinfo": {"name": {"essential": True}}})
    _, tokens = rp.sign_in_and_get_tokens(scope="openid", claims=claims)
    info = _userinfo(client, tokens)
    assert info["name"] == rp.citizen["name"]
    assert "email" not in info and "birthdate" not in info


def test_claims_parameter_id_token_member_adds_claims_to_id_token(rp, jwks):
    claims = json.dumps({"id_token": {"email": None, "auth_time": {"essential": True}}})
    _, tokens = rp.sign_in_and_get_tokens(scope="openid", claims=claims)
    id_claims = _id_claims(tokens, jwks)
    assert id_claims["email"].endswith("@example.vn")
    assert "auth_time" in id_claims and "name" not in id_claims


def test_claims_parameter_cannot_reach_scopes_the_client_is_not_registered_for(client, factory):
    registration = factory.oauth_client(scope="openid profile")
    rp = RelyingParty(client, registration, factory.citizen())
    claims = json.dumps({"userinfo": {"personal_id": {"essential": True}}})
    _, tokens = rp.sign_in_and_get_tokens(claims=claims)
    assert "personal_id" not in _userinfo(client, tokens)


def test_consent_page_lists_claims_requested_individually(client, rp):
    claims = json.dumps({"userinfo": {"phone_number": None}})
    _, response = rp.authorize(scope="openid", claims=claims, ui_locales="en")
    resume = rp.login(response.headers["Location"])
    consent = client.get(resume.headers["Location"])
    assert "/consent" in consent.headers["Location"]
    page = client.get(consent.headers["Location"]).get_data(as_text=True)
    assert "phone number" in page


@pytest.mark.parametrize("claims", [
    "not json", "[]", '{"userinfo": []}', '{"other": {}}', '{"userinfo": {"name": 1}}',
])
def test_malformed_claims_parameter_is_invalid_request_redirect(client, rp, claims):
    params, response = rp.authorize(claims=claims)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(rp.reg["redirect_uri"])
    assert "error=invalid_request" in location and f"state={params['state']}" in location
