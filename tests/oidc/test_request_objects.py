"""Request objects (RFC 9101; OIDC Core §6), by value and by reference, signed by the client."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from gateway.extensions import db
from tests.conftest import ISSUER, RelyingParty


@pytest.fixture
def served():
    """A tiny HTTP server on 127.0.0.1 serving documents put in ``documents[path]``."""
    documents: dict[str, tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            content_type, body = documents.get(self.path, ("text/plain", b""))
            self.send_response(200 if self.path in documents else 404)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", documents
    server.shutdown()
    server.server_close()


def _set_metadata(app, client_id, **metadata):
    """As an administrator changes a client: through the registry (its rules apply)."""
    from gateway.oidc.registry import get_client_registry

    with app.app_context():
        registry = get_client_registry()
        registry.update(client_id, {**registry.get(client_id).metadata, **metadata},
                        administrator=True)
        db.session.commit()


def _public_jwks(*keys):
    return {"keys": [k.as_dict(private=False) | {"kid": k.kid} for k in keys]}


@pytest.fixture
def signer(app, rp):
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-key-1"}, private=True)
    _set_metadata(app, rp.reg["client_id"], jwks=_public_jwks(key))
    return key


def _request_object(rp, key, alg="RS256", **overrides):
    params = rp.authorize_params(**overrides)
    claims = dict(params, iss=rp.reg["client_id"], aud=ISSUER)
    return params, jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def test_oidcc_request_signed_by_value_is_honoured(rp, signer, jwks):
    params, request_jwt = _request_object(rp, signer, scope="openid email")
    query = {"client_id": rp.reg["client_id"], "response_type": "code", "scope": "openid",
             "request": request_jwt}
    response = rp.http.get("/authorize", query_string=query)
    result = rp.follow_to_callback(response)
    assert result["state"] == params["state"]
    tokens = rp.token(result["code"]).get_json()
    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"]).claims
    assert id_token["nonce"] == params["nonce"]
    assert tokens["scope"] == "openid email"


def test_oidcc_ensure_request_object_with_redirect_uri_uses_the_request_object_value(
        app, rp, signer):
    """oidcc-ensure-request-object-with-redirect-uri: the request object's value wins."""
    params, request_jwt = _request_object(rp, signer)
    query = {"client_id": rp.reg["client_id"], "response_type": "code", "scope": "openid",
             "redirect_uri": "https://evil.example/cb", "request": request_jwt}
    response = rp.http.get("/authorize", query_string=query)
    assert rp.follow_to_callback(response)["state"] == params["state"]


@pytest.mark.parametrize("tamper", ["unsigned", "other-key", "client-mismatch", "garbage"])
def test_bad_request_objects_get_an_error_page_not_a_redirect(rp, signer, tamper):
    params = rp.authorize_params()
    claims = dict(params)
    if tamper == "unsigned":
        # Built by hand: joserfc rightly warns about producing alg "none".
        def part(value):
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

        request_jwt = part({"alg": "none"}) + "." + part(claims) + "."
    elif tamper == "other-key":
        other = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1"}, private=True)
        request_jwt = jwt.encode({"alg": "ES256", "kid": "rp-key-1"}, claims, other,
                                 algorithms=["ES256"])
    elif tamper == "client-mismatch":
        claims["client_id"] = "someone-else"
        request_jwt = jwt.encode({"alg": "RS256", "kid": signer.kid}, claims, signer,
                                 algorithms=["RS256"])
    else:
        request_jwt = "not.a.jwt"
    query = {"client_id": rp.reg["client_id"], "response_type": "code", "request": request_jwt}
    response = rp.http.get("/authorize", query_string=query)
    assert 400 <= response.status_code < 500
    assert "Location" not in response.headers


def test_oidcc_request_uri_signed_rs256_is_fetched_and_honoured(app, rp, signer, served):
    base, documents = served
    params, request_jwt = _request_object(rp, signer)
    documents["/req.jwt"] = ("application/oauth-authz-req+jwt", request_jwt.encode())
    _set_metadata(app, rp.reg["client_id"], request_uris=[base + "/req.jwt"])
    query = {"client_id": rp.reg["client_id"], "response_type": "code", "scope": "openid",
             "request_uri": base + "/req.jwt"}
    response = rp.http.get("/authorize", query_string=query)
    assert rp.follow_to_callback(response)["state"] == params["state"]


def test_unregistered_request_uri_is_refused(app, rp, signer, served):
    base, documents = served
    _, request_jwt = _request_object(rp, signer)
    documents["/req.jwt"] = ("application/oauth-authz-req+jwt", request_jwt.encode())
    query = {"client_id": rp.reg["client_id"], "response_type": "code",
             "request_uri": base + "/req.jwt"}
    response = rp.http.get("/authorize", query_string=query)
    assert 400 <= response.status_code < 500 and "Location" not in response.headers


def test_client_jwks_uri_is_fetched_again_for_an_unknown_kid(sql_hot_store, app, client,
                                                             factory, served, clock):
    """A client that rotates its key is recognised at once (fetch again on an unknown kid)."""
    base, documents = served
    old = RSAKey.generate_key(2048, parameters={"kid": "old"}, private=True)
    new = RSAKey.generate_key(2048, parameters={"kid": "new"}, private=True)
    rp = RelyingParty(client, factory.oauth_client(), factory.citizen())
    documents["/jwks"] = ("application/json", json.dumps(_public_jwks(old)).encode())
    _set_metadata(app, rp.reg["client_id"], jwks_uri=base + "/jwks")
    for key in (old, new):
        if key is new:
            documents["/jwks"] = ("application/json", json.dumps(_public_jwks(new)).encode())
            # The old document is still cached (fresh for minutes); only the unknown kid may
            # trigger a new fetch (it is 10 s old, past the anti-hammering interval).
            clock.advance(10)
        params, request_jwt = _request_object(rp, key)
        query = {"client_id": rp.reg["client_id"], "response_type": "code", "scope": "openid",
                 "request": request_jwt}
        response = client.get("/authorize", query_string=query)
        assert rp.follow_to_callback(response)["state"] == params["state"]
