"""Tables of bad requests at every protocol endpoint (docs/contributing.md: tables of invalid
requests).

The rules, whatever the request:
- never a 5xx;
- ``/authorize``: an HTML error page with a 4xx and no ``Location`` (RFC 9700 §4.11.2: never
  redirect to an unvalidated ``redirect_uri``), or, only once ``client_id`` and ``redirect_uri``
  are valid, a redirect to the registered ``redirect_uri`` with ``error``, ``state`` and ``iss``
  (RFC 6749 §4.1.2.1, RFC 9207) and no ``code``;
- ``/token``: a JSON OAuth error (RFC 6749 §5.2) with the right status, ``no-store``;
- ``/userinfo``: 401 with a ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.conftest import ISSUER, query_of
from tests.oidc.conftest import basic, bearer

LONG = "a" * 5000


def _query(pairs) -> str:
    return urlencode([(k, v) for k, v in pairs if v is not None])


def _authorize_pairs(rp, **changes):
    """The valid request of ``rp`` as (name, value) pairs, with ``changes`` applied: a value of
    ``None`` drops a parameter, a list repeats it."""
    params = rp.authorize_params()
    for name, value in changes.items():
        params[name] = value
    pairs = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs, params


def assert_safe_authorize_response(response, rp, state=None):
    """The rule for /authorize: error page without redirect, or error redirect to the
    registered ``redirect_uri``. Returns "page" or the redirect's query."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    location = response.headers.get("Location")
    if location is None:
        assert 400 <= response.status_code < 500
        assert response.mimetype == "text/html"
        assert response.headers["X-Frame-Options"] == "DENY"  # RFC 9700 §4.16
        return "page"
    assert response.status_code in (302, 303)
    assert location.startswith(rp.reg["redirect_uri"] + "?"), location
    result = query_of(location)
    assert result["error"] and "code" not in result
    assert result["iss"] == ISSUER
    if state is not None:
        assert result["state"] == state
    for ch in "\r\n\t":
        assert ch not in result.get("error_description", "")
    return result


def post_authorize(client, query: str):
    """POST the request; the gateway continues it as the same GET (303, no cookie touched)."""
    response = client.post("/authorize", data=query,
                           content_type="application/x-www-form-urlencoded")
    if response.status_code != 303:
        return response  # refused before (size): an error page
    assert "Set-Cookie" not in response.headers
    location = response.headers["Location"]
    assert location.split("?")[0] == "/authorize", location
    return client.get(location)


# -- /authorize: the client or its redirect_uri cannot be trusted: page, never a redirect --------

PAGE_CASES = {
    "no_parameters": lambda rp: [],
    "client_id_missing": lambda rp: _authorize_pairs(rp, client_id=None)[0],
    "client_id_unknown": lambda rp: _authorize_pairs(rp, client_id="no-such-client")[0],
    "client_id_oversized": lambda rp: _authorize_pairs(rp, client_id=LONG)[0],
    "client_id_duplicated": lambda rp: _authorize_pairs(
        rp, client_id=[rp.reg["client_id"], rp.reg["client_id"]])[0],
    "client_id_empty": lambda rp: _authorize_pairs(rp, client_id="")[0],
    "client_id_nul_byte": lambda rp: _authorize_pairs(rp, client_id=rp.reg["client_id"] + "\0")[0],
    "redirect_uri_missing": lambda rp: _authorize_pairs(rp, redirect_uri=None)[0],
    "redirect_uri_unregistered": lambda rp: _authorize_pairs(
        rp, redirect_uri="https://attacker.example/cb")[0],
    "redirect_uri_duplicated": lambda rp: _authorize_pairs(
        rp, redirect_uri=[rp.reg["redirect_uri"], "https://attacker.example/cb"])[0],
    "redirect_uri_oversized": lambda rp: _authorize_pairs(
        rp, redirect_uri=rp.reg["redirect_uri"] + "?" + LONG)[0],
    "redirect_uri_javascript": lambda rp: _authorize_pairs(
        rp, redirect_uri="javascript:alert(1)")[0],
    "redirect_uri_garbage": lambda rp: _authorize_pairs(rp, redirect_uri="\u202e:://[")[0],
    "other_client_redirect_uri": lambda rp: _authorize_pairs(
        rp, redirect_uri="https://rp999.example.vn/callback")[0],
    "state_oversized": lambda rp: _authorize_pairs(rp, state=LONG)[0],
    "nonce_oversized": lambda rp: _authorize_pairs(rp, nonce=LONG)[0],
    "parameter_name_oversized": lambda rp: [*_authorize_pairs(rp)[0], ("x" * 100, "1")],
}


@pytest.mark.parametrize("case", list(PAGE_CASES))
def test_authorize_untrusted_client_or_redirect_uri_error_page_no_redirect(rp, client, case):
    """oidcc-ensure-registered-redirect-uri and RFC 9700 §4.11.2 (B2): error page, no redirect."""
    query = _query(PAGE_CASES[case](rp))
    response = client.get("/authorize?" + query)
    assert assert_safe_authorize_response(response, rp) == "page"
    response = post_authorize(client, query)
    assert assert_safe_authorize_response(response, rp) == "page"


@pytest.mark.parametrize(
    "raw",
    ["client_id=%FF%FE&redirect_uri=%C0%AF", "%FF=%FF", "client_id=%00", "&&&==&", "a=%",
     "client_id=%E2%80%AE" + "%F0%9F%98%80" * 200],
    ids=["non_utf8_values", "non_utf8_name", "nul", "empty_pairs", "bad_escape", "unicode_long"],
)
def test_authorize_garbage_query_error_page(rp, client, raw):
    """Non-UTF-8, NUL and malformed escapes never reach a 500 or a redirect."""
    response = client.get("/authorize?" + raw)
    assert assert_safe_authorize_response(response, rp) == "page"


# -- /authorize: the client and redirect_uri are valid: page or error redirect --------------------

REDIRECT_CASES = {
    # name: (changes, expected error or None when either a page or any error redirect will do)
    "response_type_missing": ({"response_type": None}, None),
    "response_type_token": ({"response_type": "token"}, "unsupported_response_type"),
    "response_type_id_token": ({"response_type": "id_token"}, "unsupported_response_type"),
    "response_type_hybrid": ({"response_type": "code id_token"}, "unsupported_response_type"),
    "response_type_garbage": ({"response_type": "\u00fe\u00ff"}, "unsupported_response_type"),
    "response_type_duplicated": ({"response_type": ["code", "code"]}, None),
    "scope_duplicated": ({"scope": ["openid", "openid profile"]}, None),
    "nonce_duplicated": ({"nonce": ["a", "b"]}, None),
    "prompt_duplicated": ({"prompt": ["login", "none"]}, None),
    "prompt_none_login": ({"prompt": "none login"}, "invalid_request"),
    "prompt_none_consent": ({"prompt": "none consent"}, "invalid_request"),
    "max_age_garbage": ({"max_age": "abc"}, "invalid_request"),
    "max_age_negative": ({"max_age": "-1"}, "invalid_request"),
    "max_age_float": ({"max_age": "1.5"}, "invalid_request"),
    "max_age_exponent": ({"max_age": "1e5"}, "invalid_request"),
    "max_age_huge": ({"max_age": "9" * 40}, "invalid_request"),
    "max_age_unicode_digits": ({"max_age": "\u0661\u0662"}, "invalid_request"),
    "id_token_hint_garbage": ({"id_token_hint": "not.a.jwt"}, "invalid_request"),
    "id_token_hint_alg_none": (
        {"id_token_hint": "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0Iiwic3ViIjoieCJ9."},
        "invalid_request"),
    "id_token_hint_prompt_none_garbage": ({"id_token_hint": "x" * 300, "prompt": "none"}, None),
    "response_type_quote": ({"response_type": 'code"'}, "unsupported_response_type"),
    "response_type_crlf": ({"response_type": "code\r\nX: y"}, "unsupported_response_type"),
    "max_age_superscript": ({"max_age": "\u00b2"}, "invalid_request"),
    "code_challenge_method_plain": ({"code_challenge_method": "plain"}, "invalid_request"),
    "code_challenge_method_garbage": ({"code_challenge_method": "S512"}, "invalid_request"),
    "code_challenge_duplicated": ({"code_challenge": ["a" * 43, "b" * 43]}, None),
    "code_challenge_short": ({"code_challenge": "abc"}, "invalid_request"),
    "response_mode_fragment": ({"response_mode": "fragment"}, "invalid_request"),
    "response_mode_form_post": ({"response_mode": "form_post"}, "invalid_request"),
    # Request objects are supported (tests/oidc/test_request_objects.py); broken or unregistered
    # ones get an error page, since the redirect_uri they would carry cannot be trusted.
    "request_object": ({"request": "e30.e30."}, None),
    "request_uri": ({"request_uri": "urn:x"}, None),
    "registration": ({"registration": "{}"}, "registration_not_supported"),
}


@pytest.mark.parametrize("case", list(REDIRECT_CASES))
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_authorize_bad_parameter_with_valid_client_error_redirect_or_page(rp, client, case,
                                                                          method):
    """RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6: with a valid ``client_id`` and ``redirect_uri``
    the error goes back to the client with ``state`` and ``iss``; never a code, never a 500."""
    changes, expected = REDIRECT_CASES[case]
    pairs, params = _authorize_pairs(rp, **changes)
    query = _query(pairs)
    if method == "GET":
        response = client.get("/authorize?" + query)
    else:
        response = post_authorize(client, query)
    result = assert_safe_authorize_response(response, rp, state=params["state"])
    if expected is not None:
        assert result != "page", f"expected a redirect with {expected}"
        assert result["error"] == expected, result


@pytest.mark.parametrize(
    "changes",
    [{"prompt": "garbage"}, {"display": "garbage"}, {"ui_locales": "\u00fe" * 50},
     {"claims_locales": "!!"}, {"acr_values": "urn:unknown"}, {"login_hint": LONG[:2000]},
     {"scope": "openid unknown_scope"}, {"state": "\u00e9\u202e"},
     {"nonce": "n" * 64}, {"max_age": ""}],
    ids=["prompt", "display", "ui_locales", "claims_locales", "acr_values", "login_hint",
         "unknown_scope", "state_unicode", "nonce_64", "max_age_empty"],
)
def test_authorize_unknown_or_odd_optional_values_do_not_fail(rp, changes):
    """RFC 6749 §3.1, OIDC Core §3.1.2.1: odd values of optional parameters are ignored; the
    person is sent to sign in."""
    pairs, _ = _authorize_pairs(rp, **changes)
    response = rp.http.get("/authorize?" + _query(pairs))
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert response.headers["Location"].startswith("/login?")


def test_authorize_state_with_odd_characters_echoed_exactly(rp):
    """RFC 6749 §4.1.2: ``state`` comes back exactly as sent."""
    state = "é &=?#+/\u202e"
    params, result = rp.code_flow(state=state)
    assert result["state"] == state


def test_authorize_scope_without_openid_gives_no_id_token(rp):
    """Without ``openid`` this is plain OAuth 2.0: a code, then no ID token."""
    _, result = rp.code_flow(scope="profile", nonce=None)
    tokens = rp.token(result["code"]).get_json()
    assert "id_token" not in tokens


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_authorize_wrong_method_405_page(client, method):
    response = client.open("/authorize", method=method)
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x"]
)
def test_authorize_post_wrong_content_type_error_page(rp, client, content_type):
    """OIDC Core §3.1.2.1: POST uses form serialization; anything else is an error page."""
    pairs, _ = _authorize_pairs(rp)
    body = json.dumps(dict(pairs))  # a valid request, wrongly serialized
    if content_type.startswith("multipart"):
        body = "--x--"
    response = client.post("/authorize", data=body, content_type=content_type)
    assert assert_safe_authorize_response(response, rp) == "page"


def test_authorize_oversized_body_refused(client):
    """MAX_CONTENT_LENGTH: a huge body is refused with 413, not read."""
    response = client.post("/authorize", data="a=" + "b" * 70_000,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_authorize_post_continues_as_same_get_without_cookies(rp, client):
    """oidcc-ensure-post-request-succeeds: a POST is continued as the very same request by GET
    (303, RFC 9700 §4.12), so a cross-site POST still sees the SSO cookie (SameSite=Lax)."""
    pairs, _ = _authorize_pairs(rp, state="é&=", extra=["1", "2"])
    response = client.post("/authorize", data=_query(pairs),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 303 and "Set-Cookie" not in response.headers
    location = response.headers["Location"]
    from urllib.parse import parse_qsl, urlsplit

    assert parse_qsl(urlsplit(location).query) == pairs


def test_authorize_post_sees_sso_session(rp, client):
    """With an SSO session, a POST request completes without sign-in (prompt=none works)."""
    rp.tokens()
    params, response = rp.authorize(method="POST", prompt="none")
    result = rp.follow_to_callback(response)
    assert result["code"] and result["state"] == params["state"]


def test_resume_unknown_interaction_error_page(client):
    response = client.get("/authorize/resume/" + "x" * 40)
    assert response.status_code == 400 and "Location" not in response.headers


# -- /token -------------------------------------------------------------------------------------

def _token_error(response, status, error):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == error, response.get_json()
    assert response.headers.get("Cache-Control") == "no-store"
    assert "access_token" not in response.get_json()


@pytest.fixture
def code(rp):
    """A fresh, valid code of ``rp`` (and its verifier in ``rp.verifier``)."""
    _, result = rp.code_flow()
    return result["code"]


def _form(rp, code_value, **changes):
    data = {"grant_type": "authorization_code", "code": code_value,
            "redirect_uri": rp.reg["redirect_uri"], "code_verifier": rp.verifier}
    data.update(changes)
    return [(k, v) for k, v in data.items() if v is not None]


TOKEN_CASES = {
    # name: (form changes (or a raw body), status, error)
    "empty_body": ("", 400, "invalid_request"),
    "grant_type_missing": ({"grant_type": None}, 400, "invalid_request"),
    "grant_type_password": ({"grant_type": "password", "username": "x", "password": "y"}, 400,
                            "unsupported_grant_type"),
    # Supported grants the client is not registered for (RFC 6749 §5.2).
    "grant_type_client_credentials": ({"grant_type": "client_credentials"}, 400,
                                      "unauthorized_client"),
    "grant_type_refresh_token": ({"grant_type": "refresh_token", "refresh_token": "x"}, 400,
                                 "unauthorized_client"),
    "grant_type_implicit": ({"grant_type": "implicit"}, 400, "unsupported_grant_type"),
    "grant_type_garbage": ({"grant_type": "\u00fe" * 300}, 400, "unsupported_grant_type"),
    "grant_type_duplicated": ("grant_type=authorization_code&grant_type=authorization_code"
                              "&code={code}", 400, "invalid_request"),
    "code_missing": ({"code": None}, 400, "invalid_request"),
    "code_empty": ({"code": ""}, 400, "invalid_grant"),
    "code_duplicated": ("grant_type=authorization_code&code={code}&code={code}", 400,
                        "invalid_request"),
    "code_garbage": ({"code": "\u00fe\u00ff"}, 400, "invalid_grant"),
    "code_nul": ({"code": "\u00fe\u0000"}, 400, "invalid_request"),
    "code_oversized": ({"code": "c" * 5000}, 400, "invalid_grant"),
    "code_non_utf8": ("grant_type=authorization_code&code=%FF%FE", 400, "invalid_grant"),
    "unknown_parameter_duplicated": ("grant_type=authorization_code&code={code}&%FF=1&%FF=2",
                                     400, "invalid_request"),
    "redirect_uri_wrong": ({"redirect_uri": "https://attacker.example/cb"}, 400, "invalid_grant"),
    "redirect_uri_missing": ({"redirect_uri": None}, 400, "invalid_grant"),
    "code_verifier_missing": ({"code_verifier": None}, 400, "invalid_request"),
    "code_verifier_malformed": ({"code_verifier": "short"}, 400, "invalid_request"),
    "code_verifier_wrong": ({"code_verifier": "v" * 64}, 400, "invalid_grant"),
}


@pytest.mark.parametrize("case", list(TOKEN_CASES))
def test_token_bad_request_json_oauth_error(rp, client, code, case):
    """RFC 6749 §5.2 (and §3.2: no repeated parameters): the right error, never a 500."""
    changes, status, error = TOKEN_CASES[case]
    if isinstance(changes, str):
        body = changes.format(code=code)
    else:
        body = urlencode(_form(rp, code, **changes))
    response = client.post("/token", data=body, content_type="application/x-www-form-urlencoded",
                           headers=basic(rp.reg["client_id"], rp.reg["client_secret"]))
    _token_error(response, status, error)


AUTH_CASES = {
    "no_authentication": {},
    "basic_garbage_base64": {"Authorization": "Basic !!!"},
    "basic_without_colon": {"Authorization": "Basic bm9jb2xvbg=="},
    "basic_non_utf8": {"Authorization": "Basic //46/w=="},
    "basic_empty": {"Authorization": "Basic "},
    "basic_unknown_client": "basic:no-such-client:secret",
    "basic_wrong_secret": "basic:{client_id}:wrong",
    "basic_empty_secret": "basic:{client_id}:",
    "basic_oversized_client_id": "basic:" + "c" * 3000 + ":x",
    "bearer_instead_of_basic": {"Authorization": "Bearer x"},
}


@pytest.mark.parametrize("case", list(AUTH_CASES))
def test_token_bad_client_authentication_invalid_client_401(rp, client, code, case):
    """RFC 6749 §5.2: failed client authentication is 401 ``invalid_client``; when the client
    tried HTTP Basic the response carries a ``WWW-Authenticate: Basic`` challenge."""
    headers = AUTH_CASES[case]
    if isinstance(headers, str):
        _, client_id, secret = headers.format(client_id=rp.reg["client_id"]).split(":")
        headers = basic(client_id, secret)
    response = client.post("/token", data=dict(_form(rp, code)), headers=headers)
    _token_error(response, 401, "invalid_client")
    if headers.get("Authorization", "").startswith("Basic"):
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    # the code survives failed authentications: its own client can still redeem it
    assert rp.token(code).status_code == 200


def test_token_two_authentication_methods_invalid_request(rp, client, code):
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method."""
    data = dict(_form(rp, code), client_id=rp.reg["client_id"],
                client_secret=rp.reg["client_secret"])
    response = client.post("/token", data=data,
                           headers=basic(rp.reg["client_id"], rp.reg["client_secret"]))
    _token_error(response, 400, "invalid_request")


def test_token_parameters_in_query_refused(rp, client, code):
    """RFC 6749 §3.2: parameters go in the body; codes in URLs end up in logs."""
    response = client.post("/token?" + urlencode(_form(rp, code)), data={"x": "1"},
                           headers=basic(rp.reg["client_id"], rp.reg["client_secret"]))
    _token_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", '{{"grant_type": "authorization_code", "code": "{code}"}}'),
     ("text/plain", "grant_type=authorization_code&code={code}"),
     ("multipart/form-data; boundary=x", "--x--")],
)
def test_token_wrong_content_type_invalid_request(rp, client, code, content_type, body):
    """RFC 6749 §4.1.3: ``application/x-www-form-urlencoded`` only."""
    response = client.post("/token", data=body.format(code=code), content_type=content_type,
                           headers=basic(rp.reg["client_id"], rp.reg["client_secret"]))
    _token_error(response, 400, "invalid_request")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_token_wrong_method_405_json(client, method):
    """RFC 6749 §3.2: POST only; other methods get a JSON 405."""
    response = client.open("/token", method=method)
    assert response.status_code == 405 and response.mimetype == "application/json"
    assert response.get_json()["error"]


def test_token_oversized_body_413_json(client):
    response = client.post("/token", data={"grant_type": "authorization_code",
                                           "code": "x" * 100_000})
    assert response.status_code == 413 and response.mimetype == "application/json"


# -- /userinfo ----------------------------------------------------------------------------------

USERINFO_CASES = {
    "no_token": ("GET", {}, {}),
    "empty_bearer": ("GET", {"Authorization": "Bearer "}, {}),
    "bearer_garbage": ("GET", {"Authorization": "Bearer garbage"}, {}),
    "bearer_two_parts": ("GET", {"Authorization": "Bearer a b"}, {}),
    "bearer_oversized": ("GET", {"Authorization": "Bearer " + "t" * 8000}, {}),
    "bearer_unicode": ("GET", {"Authorization": "Bearer \u00fe\u00ff"}, {}),
    "basic_scheme": ("GET", {"Authorization": "Basic YTpi"}, {}),
    "scheme_only": ("GET", {"Authorization": "Bearer"}, {}),
    "token_in_query": ("GET", {}, {"query_string": {"access_token": "x"}}),
    "token_in_json_body": ("POST", {}, {"json": {"access_token": "x"}}),
    "token_in_body_of_get": ("GET", {}, {"data": {"access_token": "x"}}),
    "garbage_token_in_form_body": ("POST", {}, {"data": {"access_token": "\u00fe" * 100}}),
}


@pytest.mark.parametrize("case", list(USERINFO_CASES))
def test_userinfo_bad_bearer_token_401_with_challenge(client, case):
    """RFC 6750 §3, OIDC Core §5.3.3: 401 with ``WWW-Authenticate: Bearer``; no claims."""
    method, headers, extra = USERINFO_CASES[case]
    response = client.open("/userinfo", method=method, headers=headers, **extra)
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "sub" not in (response.get_json() or {})


def test_userinfo_valid_token_in_query_refused(rp, client):
    """RFC 9700 §2.1 / FAPI 2.0 F20: access tokens are not accepted in the query."""
    _, tokens = rp.tokens()
    response = client.get("/userinfo", query_string={"access_token": tokens["access_token"]})
    assert response.status_code == 401


def test_userinfo_expired_token_invalid_token(rp, client, clock):
    _, tokens = rp.tokens()
    clock.advance(3600)
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_userinfo_token_without_openid_scope_refused(rp, client):
    """OIDC Core §5.3: UserInfo needs an access token granted with ``openid``."""
    _, result = rp.code_flow(scope="profile", nonce=None)
    tokens = rp.token(result["code"]).get_json()
    response = client.get("/userinfo", headers=bearer(tokens["access_token"]))
    assert 400 <= response.status_code < 500
    assert "name" not in (response.get_json() or {})


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_userinfo_wrong_method_405_json(client, method):
    response = client.open("/userinfo", method=method)
    assert response.status_code == 405 and response.mimetype == "application/json"


# -- nothing 500s: other paths ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/no-such-page"), ("GET", "/.well-known/no-such-doc"), ("POST", "/jwks"),
     ("POST", "/.well-known/openid-configuration"), ("GET", "/consent"), ("POST", "/consent"),
     ("GET", "/login?interaction=" + "x" * 500), ("GET", "/consent?interaction=%FF"),
     ("GET", "/authorize/resume/%FF%00"), ("POST", "/signout"), ("DELETE", "/logout")],
)
def test_other_paths_never_500(client, method, path):
    response = client.open(path, method=method)
    assert 400 <= response.status_code < 500, response.status_code


def test_authorize_error_page_follows_ui_locales(rp, client):
    """OIDC Core §3.1.2.1 ``ui_locales``: the error page a person sees speaks their language."""
    _, response = rp.authorize(redirect_uri="https://attacker.example/cb", ui_locales="en")
    assert response.status_code == 400
    assert '<html lang="en">' in response.get_data(as_text=True)


def test_resume_replayed_after_code_issued_refused(rp):
    """A resume link is single-use: replaying it after the code was issued gives no new code."""
    _, response = rp.authorize()
    response = rp.login(response.headers["Location"])
    resume = response.headers["Location"]
    consent = rp.http.get(resume).headers["Location"]
    response = rp.consent(consent)
    final = rp.http.get(response.headers["Location"])
    assert "code" in rp.redirect_result(final)
    replay = rp.http.get(resume)
    assert replay.status_code == 400 and "Location" not in replay.headers


@pytest.mark.parametrize(
    "data",
    [{"personal_id": "\u00fe" * 5000, "password": "x"}, {"personal_id": ["1", "2"]},
     {"password": "\x00"}, {"csrf_token": "\u00fe"}],
    ids=["oversized_unicode", "repeated", "nul_password", "garbage_csrf"],
)
def test_login_garbage_never_500(client, data):
    response = client.post("/login", data=data)
    assert response.status_code == 400


def test_login_non_utf8_body_never_500(client):
    response = client.post("/login", data=b"personal_id=%FF%FE&password=%C0",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


@pytest.mark.parametrize("method, path, data", [
    ("get", "/authorize?client_id=a%00b&response_type=code", None),
    ("get", "/signup?interaction=a%00b", None),
    ("get", "/business/15004%0056787", None),
    ("post", "/token", {"grant_type": "authorization_code", "code": "a\x00b"}),
    ("post", "/revoke", {"token": "a\x00b"}),
    ("post", "/signup", {"family_name": "Ph\x00m"}),
    ("post", "/login", {"personal_id": "086090001234", "password": "x\x00"}),
])
def test_nul_byte_anywhere_is_400_before_any_view(client, method, path, data):
    """PostgreSQL text refuses NUL (a 500 deep in a query): refused up front, JSON for the
    protocol endpoints, a page for people."""
    response = getattr(client, method)(path, data=data)
    assert response.status_code == 400
    if path in ("/token", "/revoke"):
        assert response.get_json()["error"] == "invalid_request"
    else:
        assert "<html" in response.get_data(as_text=True)
