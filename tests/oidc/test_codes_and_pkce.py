"""Authorization codes and PKCE at the token endpoint: RFC 6749 §4.1.3, RFC 7636, RFC 9700
§2.1.1 (B4, B5), §4.2.4 (B7), FAPI 2.0 F8 (codes live 60 s) and client authentication (§2.5)."""

from __future__ import annotations

import pytest

from tests.conftest import ISSUER, pkce_pair
from tests.oidc.conftest import TracingRelyingParty, basic, bearer


@pytest.fixture
def public_rp(client, factory):
    """A public client (``token_endpoint_auth_method=none``), like a single-page app."""
    return TracingRelyingParty(
        client, factory.oauth_client(token_endpoint_auth_method="none"), factory.citizen()
    )


def _error(response, status, error):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["error"] == error, response.get_json()
    return response.get_json()


# -- PKCE ---------------------------------------------------------------------------------------

def test_pkce_public_client_succeeds_with_s256(public_rp, client):
    """oidcc-ensure-request-with-valid-pkce-succeeds for a public client (RFC 7636 §4.5)."""
    _, tokens = public_rp.tokens()
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200


def test_pkce_public_client_without_challenge_refused(public_rp):
    """RFC 9700 §2.1.1: public clients MUST use PKCE; the request is refused at the
    authorization endpoint, back to the validated ``redirect_uri`` with ``state`` and ``iss``."""
    params, response = public_rp.authorize(code_challenge=None, code_challenge_method=None)
    result = public_rp.redirect_result(response)
    assert result["error"] == "invalid_request" and "code" not in result
    assert result["state"] == params["state"] and result["iss"] == ISSUER


def test_pkce_public_client_without_verifier_refused(public_rp, client):
    """RFC 7636 §4.6: a code issued against a challenge needs the verifier."""
    _, result = public_rp.code_flow()
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": result["code"],
        "redirect_uri": public_rp.reg["redirect_uri"], "client_id": public_rp.reg["client_id"],
    })
    _error(response, 400, "invalid_request")


@pytest.mark.parametrize("rp_name", ["rp", "public_rp"])
def test_pkce_plain_method_refused(request, rp_name):
    """RFC 9700 §2.1.1: only S256; ``plain`` is refused at the authorization endpoint."""
    rp = request.getfixturevalue(rp_name)
    verifier, _ = pkce_pair()
    params, response = rp.authorize(code_challenge=verifier, code_challenge_method="plain")
    result = rp.redirect_result(response)
    assert result["error"] == "invalid_request" and result["state"] == params["state"]


def test_pkce_challenge_without_method_refused(rp):
    """Without ``code_challenge_method`` RFC 7636 would default to ``plain``: refused."""
    params, response = rp.authorize(code_challenge_method=None)
    assert rp.redirect_result(response)["error"] == "invalid_request"


@pytest.mark.parametrize("rp_name", ["rp", "public_rp"])
def test_pkce_wrong_code_verifier_invalid_grant(request, rp_name):
    """RFC 7636 §4.6: a verifier that does not match gives ``invalid_grant``."""
    rp = request.getfixturevalue(rp_name)
    _, result = rp.code_flow()
    wrong, _ = pkce_pair()
    _error(rp.token(result["code"], verifier=wrong), 400, "invalid_grant")


def test_pkce_wrong_verifier_then_right_one_still_single_use(rp):
    """A failed verifier does not leave the code reusable beyond its one successful use."""
    _, result = rp.code_flow()
    wrong, _ = pkce_pair()
    rp.token(result["code"], verifier=wrong)
    assert rp.token(result["code"]).status_code == 200
    _error(rp.token(result["code"]), 400, "invalid_grant")


def test_pkce_verifier_without_challenge_refused(rp):
    """RFC 9700 §4.8 (PKCE downgrade, B5): a ``code_verifier`` is accepted only if the
    authorization request carried a ``code_challenge``."""
    _, result = rp.code_flow(code_challenge=None, code_challenge_method=None)
    verifier, _ = pkce_pair()
    _error(rp.token(result["code"], verifier=verifier), 400, "invalid_request")


def test_pkce_confidential_client_without_pkce_succeeds(rp):
    """A confidential client that sends no challenge still gets tokens (OIDC Basic plan)."""
    _, result = rp.code_flow(code_challenge=None, code_challenge_method=None)
    rp.verifier = None
    response = rp.token(result["code"])
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("challenge", ["short", "x" * 129, "not valid!" * 5])
def test_pkce_malformed_challenge_refused(rp, challenge):
    """RFC 7636 §4.2: 43-128 unreserved characters."""
    _, response = rp.authorize(code_challenge=challenge)
    assert rp.redirect_result(response)["error"] == "invalid_request"


# -- codes --------------------------------------------------------------------------------------

def test_code_expired_after_60_seconds_invalid_grant(rp, clock):
    """FAPI 2.0 F8, RFC 6749 §4.1.2: codes live at most 60 s."""
    _, result = rp.code_flow()
    clock.advance(61)
    _error(rp.token(result["code"]), 400, "invalid_grant")


def test_code_valid_just_before_expiry(rp, clock):
    _, result = rp.code_flow()
    clock.advance(59)
    assert rp.token(result["code"]).status_code == 200


def test_code_bound_to_client(rp, client, factory):
    """RFC 6749 §4.1.3: a code issued to one client is refused for another (and it stays
    usable by its own client)."""
    _, result = rp.code_flow()
    other = TracingRelyingParty(client, factory.oauth_client(
        redirect_uris=[rp.reg["redirect_uri"]]), rp.citizen)
    _error(other.token(result["code"], verifier=rp.verifier), 400, "invalid_grant")
    assert rp.token(result["code"]).status_code == 200


def test_code_bound_to_redirect_uri(client, factory):
    """RFC 6749 §4.1.3: ``redirect_uri`` must be identical to the one in the request."""
    reg = factory.oauth_client(redirect_uris=["https://rp.example.vn/a", "https://rp.example.vn/b"])
    rp = TracingRelyingParty(client, reg, factory.citizen())
    _, result = rp.code_flow()
    _error(rp.token(result["code"], redirect_uri="https://rp.example.vn/b"), 400, "invalid_grant")
    without = client.post("/token", data={"grant_type": "authorization_code",
                                          "code": result["code"], "code_verifier": rp.verifier},
                          headers=basic(reg["client_id"], reg["client_secret"]))
    _error(without, 400, "invalid_grant")
    assert rp.token(result["code"]).status_code == 200


def test_code_unknown_invalid_grant(rp):
    _error(rp.token("not-a-code-we-issued"), 400, "invalid_grant")


def test_code_replay_revokes_only_its_own_tokens(rp, client):
    """RFC 9700 §4.2.4: the replay revokes what that code issued, not other tokens."""
    _, first = rp.tokens()
    _, second = rp.tokens()
    code_params, result = rp.code_flow()
    third = rp.token(result["code"]).get_json()
    rp.token(result["code"])
    assert client.get("/userinfo", headers=bearer(third["access_token"])).status_code == 401
    for tokens in (first, second):
        assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200


def test_code_nonce_replay_refused(rp):
    """OIDC Core §15.5.2: a ``nonce`` already used by this client is refused."""
    params, _ = rp.tokens()
    replay, response = rp.authorize(nonce=params["nonce"])
    result = rp.redirect_result(response)
    assert result["error"] == "invalid_request" and result["state"] == replay["state"]


def test_code_codes_and_tokens_have_128_bits(rp):
    """FAPI 2.0 F17: codes and tokens carry at least 128 bits of entropy."""
    _, result = rp.code_flow()
    tokens = rp.token(result["code"]).get_json()
    assert len(result["code"]) >= 22 and len(tokens["access_token"]) >= 22


def test_code_access_token_expires(rp, client, clock):
    """RFC 6750 §3.1: an expired access token gets 401 ``invalid_token``."""
    _, tokens = rp.tokens()
    clock.advance(tokens["expires_in"] + 1)
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


# -- client authentication ------------------------------------------------------------------------

def test_client_secret_wrong_invalid_client_401(rp, client):
    """RFC 6749 §5.2: wrong secret by HTTP Basic gives 401 ``invalid_client`` with a
    ``WWW-Authenticate: Basic`` challenge; the code is not spent."""
    _, result = rp.code_flow()
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": result["code"],
        "redirect_uri": rp.reg["redirect_uri"], "code_verifier": rp.verifier,
    }, headers=basic(rp.reg["client_id"], "wrong-secret"))
    _error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert rp.token(result["code"]).status_code == 200


def test_client_secret_post_wrong_invalid_client(client, factory):
    reg = factory.oauth_client(token_endpoint_auth_method="client_secret_post")
    rp = TracingRelyingParty(client, reg, factory.citizen())
    _, result = rp.code_flow()
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": result["code"],
        "redirect_uri": reg["redirect_uri"], "code_verifier": rp.verifier,
        "client_id": reg["client_id"], "client_secret": "wrong",
    })
    _error(response, 401, "invalid_client")
    assert rp.token(result["code"]).status_code == 200


def test_client_confidential_without_authentication_invalid_client(rp, client):
    """A confidential client cannot redeem its code by sending only ``client_id``."""
    _, result = rp.code_flow()
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": result["code"], "client_id":
        rp.reg["client_id"], "redirect_uri": rp.reg["redirect_uri"], "code_verifier": rp.verifier,
    })
    _error(response, 401, "invalid_client")


def test_client_unknown_invalid_client(client):
    response = client.post("/token", data={"grant_type": "authorization_code", "code": "x"},
                           headers=basic("no-such-client", "secret"))
    _error(response, 401, "invalid_client")


def test_client_public_cannot_pretend_to_be_confidential(rp, client):
    """A confidential client's code cannot be redeemed as if it were public (auth method none)."""
    _, result = rp.code_flow()
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": result["code"],
        "client_id": rp.reg["client_id"], "client_secret": "",
        "redirect_uri": rp.reg["redirect_uri"], "code_verifier": rp.verifier,
    })
    _error(response, 401, "invalid_client")


def test_client_secret_stored_hashed(app, rp):
    """Secrets are stored hashed (docs/contributing.md): the database never holds the secret."""
    from sqlalchemy import text

    from gateway.extensions import db

    with app.app_context():
        stored = db.session.execute(
            text("SELECT client_secret FROM oauth2_clients WHERE client_id = :id"),
            {"id": rp.reg["client_id"]},
        ).scalar_one()
    assert stored and stored != rp.reg["client_secret"]
    assert rp.reg["client_secret"] not in stored


def test_pkce_constant_challenge_refused(rp):
    """RFC 9700 §2.1.1: a challenge the client already used (a constant) is refused."""
    params, _ = rp.tokens()
    replay, response = rp.authorize(code_challenge=params["code_challenge"])
    result = rp.redirect_result(response)
    assert result["error"] == "invalid_request" and result["state"] == replay["state"]


def test_pkce_same_challenge_other_client_allowed(rp, make_rp):
    """The check is per client: two clients can never collide on purpose."""
    params, _ = rp.tokens()
    other = make_rp()
    _, response = other.authorize(code_challenge=params["code_challenge"])
    assert "error=" not in response.headers["Location"]
