"""Interoperability: an independent relying-party library signs a citizen in at the gateway.

The relying party is ``oic`` (pyoidc, IdentityPython), a certified OpenID Connect RP library that
shares no code with Authlib. It drives the real gateway served by waitress on 127.0.0.1 through
OpenID Connect Discovery 1.0 (§4: metadata parses, ``issuer`` matches), the authorization code
flow of OIDC Core 1.0 §3.1 with PKCE (RFC 7636, S256), the authorization response ``iss``
parameter (RFC 9207 §2), client authentication at the token endpoint (RFC 6749 §2.3.1:
``client_secret_basic`` and ``client_secret_post``), ID token validation (OIDC Core §3.1.3.7:
signature against ``jwks_uri``, ``iss``, ``aud``, ``exp``, ``nonce``, ``at_hash``) and UserInfo
(OIDC Core §5.3); then refresh and revocation (RFC 6749 §6, RFC 7009), and dynamic registration
(RFC 7591) followed by RP-initiated logout whose back-channel logout token ``oic`` verifies.
The browser part (sign-in and consent) is a ``requests`` session that follows
the gateway's redirects by hand and stops at the ``redirect_uri``, which nothing serves.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from oic.oauth2.message import ErrorResponse
from oic.oic import Client
from oic.oic.message import (
    AccessTokenResponse,
    AuthorizationRequest,
    AuthorizationResponse,
    BackChannelLogoutRequest,
    EndSessionRequest,
    OpenIDSchema,
    ProviderConfigurationResponse,
    RegistrationRequest,
    RegistrationResponse,
)
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from gateway.cli import DEMO_CITIZENS

pytestmark = [pytest.mark.interop, pytest.mark.live]

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_TIMEOUT = 30
STOP_TIMEOUT = 10
CLI_TIMEOUT = 60
#: The ``acr`` a password sign-in reaches (``gateway.accounts.views.PASSWORD_ACR``).
PASSWORD_ACR = "LoA1"
SCOPE = "openid profile email"


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str
    redirect_uri: str
    token_endpoint_auth_method: str
    id_token_signed_response_alg: str


@dataclass(frozen=True)
class Gateway:
    issuer: str
    instance: Path
    demo: dict
    registrations: dict[str, Registration]
    #: The environment the gateway runs with, for its command line (``_flask``).
    env: dict

    @property
    def citizen(self) -> dict:
        return self.demo["citizens"][0]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _flask(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "gateway", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, f"flask {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _create_client(env: dict, redirect_uri: str, auth_method: str, alg: str,
                   *extra: str) -> Registration:
    out = _flask(
        env, "create-client", "--name", "Interop RP", "--redirect-uri", redirect_uri,
        "--auth-method", auth_method, "--id-token-alg", alg, "--json", *extra,
    )
    data = json.loads(out)
    assert data["token_endpoint_auth_method"] == auth_method, data
    assert data["id_token_signed_response_alg"] == alg, data
    return Registration(data["client_id"], data["client_secret"], redirect_uri, auth_method, alg)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Gateway:
    """The gateway set up as operators do (CLI), served by waitress (as by the demo; production
    uses gunicorn, tests/live/test_two_nodes.py) on a free loopback port."""
    instance = tmp_path_factory.mktemp("interop-instance")
    port, rp_port = _free_port(), _free_port()
    issuer = f"http://{HOST}:{port}"
    # Only this test's settings: a developer's GATEWAY_CONFIG or database must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        GATEWAY_ENV="development",
        GATEWAY_INSTANCE_PATH=str(instance),
        GATEWAY_ISSUER=issuer,
        # Prefixed so that the JSON decoding of GATEWAY_* values always leaves it a string.
        GATEWAY_SECRET_KEY="interop-" + secrets.token_urlsafe(32),
    )
    _flask(env, "init-db")
    _flask(env, "seed-demo", "--write-clients", str(instance / "demo.json"))
    demo = json.loads((instance / "demo.json").read_text(encoding="utf-8"))
    redirect_uri = f"http://{HOST}:{rp_port}/cb"
    registrations = {
        "basic": _create_client(env, redirect_uri, "client_secret_basic", "RS256"),
        "post": _create_client(env, redirect_uri, "client_secret_post", "RS256"),
        "es256": _create_client(env, redirect_uri, "client_secret_basic", "ES256"),
        "offline": _create_client(env, redirect_uri, "client_secret_basic", "RS256",
                                  "--grant-type", "authorization_code",
                                  "--grant-type", "refresh_token",
                                  "--scope", f"{SCOPE} offline_access"),
    }

    log_path = instance / "waitress.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "waitress", f"--listen={HOST}:{port}",
             "--call", "gateway:create_app"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(issuer + "/.well-known/openid-configuration"):
            log_text = log_path.read_text(encoding="utf-8", errors="replace")
            if process.poll() is not None:
                pytest.fail(f"waitress exited with {process.returncode}:\n{log_text}")
            if time.monotonic() > deadline:
                pytest.fail(f"the gateway did not answer within {START_TIMEOUT} s:\n{log_text}")
            time.sleep(0.2)
        yield Gateway(issuer, instance, demo, registrations, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _csrf_token(page: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no csrf_token field in the page:\n" + page[:1000]
    return html.unescape(match.group(1))


def act_as_browser(authorization_url: str, citizen: dict, redirect_uri: str,
                   browser: requests.Session | None = None) -> str:
    """Sign ``citizen`` in and allow consent; return the redirect to ``redirect_uri``.

    Redirects are followed by hand so that the one to ``redirect_uri`` (which nothing serves) is
    captured, and so that every hop is visible when one goes wrong. Pass ``browser`` to keep its
    cookies (the SSO session) for later requests.
    """
    with nullcontext(browser) if browser else requests.Session() as browser:
        response = browser.get(authorization_url, allow_redirects=False, timeout=10)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if location.startswith(redirect_uri):
                    return location
                response = browser.get(location, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, (
                f"{response.request.method} {response.url} -> {response.status_code}:\n"
                + response.text[:1000]
            )
            path = urlsplit(response.url).path
            form = {"csrf_token": _csrf_token(response.text)}
            if path == "/login":
                form.update(personal_id=citizen["personal_id"], password=citizen["password"])
            elif path == "/consent":
                form.update(decision="allow")
            else:
                pytest.fail(f"unexpected page {response.url}:\n{response.text[:1000]}")
            response = browser.post(response.url, data=form, allow_redirects=False, timeout=10)
    pytest.fail("no redirect to the redirect_uri within 12 hops")


def create_relying_party(gateway: Gateway, registration: Registration) -> Client:
    """An ``oic`` client configured the way an agency would configure it: discovery plus the
    credentials ``create-client`` printed (static registration, OIDC Core §2)."""
    rp = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    provider = rp.provider_config(gateway.issuer)
    assert isinstance(provider, ProviderConfigurationResponse)
    assert provider["issuer"] == gateway.issuer
    assert rp.provider_info["issuer"] == gateway.issuer
    assert registration.token_endpoint_auth_method in (
        provider["token_endpoint_auth_methods_supported"]
    )
    assert registration.id_token_signed_response_alg in (
        provider["id_token_signing_alg_values_supported"]
    )
    assert "S256" in provider["code_challenge_methods_supported"]
    rp.store_registration_info(RegistrationResponse(
        client_id=registration.client_id,
        client_secret=registration.client_secret,
        redirect_uris=[registration.redirect_uri],
        token_endpoint_auth_method=registration.token_endpoint_auth_method,
        id_token_signed_response_alg=registration.id_token_signed_response_alg,
    ))
    rp.redirect_uris = [registration.redirect_uri]
    return rp


def run_code_flow(gateway: Gateway, registration: Registration):
    """The whole flow with ``oic``; returns the verified ID token and the UserInfo response."""
    _, _, id_token, user_info = run_code_flow_with_client(gateway, registration)
    return id_token, user_info


def run_code_flow_with_client(gateway: Gateway, registration: Registration, scope: str = SCOPE,
                              rp: Client | None = None, browser: requests.Session | None = None,
                              **extra: str):
    """As ``run_code_flow``; returns ``(oic client, state, id_token, user_info)`` so that the
    test can go on with the same grant (refresh, revoke). ``rp``: an already registered
    client; ``browser``: a session kept for later requests."""
    rp = rp or create_relying_party(gateway, registration)
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    pkce_args, code_verifier = rp.add_code_challenge()
    assert pkce_args["code_challenge_method"] == "S256"
    authorization_url, _, _, authorization_request = rp.request_info(
        AuthorizationRequest,
        method="GET",
        request_args={
            "response_type": "code",
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "redirect_uri": registration.redirect_uri,
            **pkce_args,
            **extra,
        },
    )
    assert authorization_url.startswith(rp.provider_info["authorization_endpoint"] + "?")
    assert authorization_request["code_challenge"] == pkce_args["code_challenge"]

    signed_in_after = int(time.time())
    callback = act_as_browser(authorization_url, gateway.citizen, registration.redirect_uri,
                              browser)

    authorization_response = rp.parse_response(
        AuthorizationResponse, info=callback, sformat="urlencoded"
    )
    assert isinstance(authorization_response, AuthorizationResponse), authorization_response
    assert authorization_response["state"] == state
    # RFC 9207 §2: present, and (checked by oic against the discovered issuer too) equal to it.
    assert authorization_response["iss"] == gateway.issuer
    assert set(parse_qs(urlsplit(callback).query)) <= {"code", "state", "iss"}

    token_response = rp.do_access_token_request(
        state=state,
        request_args={"code": authorization_response["code"], "code_verifier": code_verifier},
        authn_method=registration.token_endpoint_auth_method,
    )
    assert not isinstance(token_response, ErrorResponse), token_response.to_dict()
    assert isinstance(token_response, AccessTokenResponse), token_response
    assert token_response["token_type"].lower() == "bearer"

    # oic has verified the signature against jwks_uri, iss, aud, exp, iat and at_hash while
    # parsing (oic.oic.message.verify_id_token), and nonce in do_access_token_request.
    id_token = token_response["id_token"]
    assert id_token.jws_header["alg"] == registration.id_token_signed_response_alg
    published = {key.kid for key in rp.keyjar.get_verify_key(owner=gateway.issuer)}
    assert id_token.jws_header.get("kid") in published, "signed with a key not in jwks_uri"
    assert id_token["iss"] == gateway.issuer
    assert registration.client_id in id_token["aud"]
    assert id_token["nonce"] == nonce
    assert "at_hash" in id_token
    assert isinstance(id_token["sub"], str) and id_token["sub"]
    assert id_token["sub"] != gateway.citizen["personal_id"]
    assert id_token["acr"] == PASSWORD_ACR
    assert signed_in_after - 1 <= id_token["auth_time"] <= int(time.time()) + 1
    assert id_token["auth_time"] <= id_token["iat"] < id_token["exp"]
    # A second, independent check of the same token with oic's RP-side rules (OIDC Core
    # §3.1.3.7 steps 2-3, 9-11): raises on any mismatch.
    rp.verify_id_token(id_token, authorization_request)

    user_info = rp.do_user_info_request(state=state)
    assert isinstance(user_info, OpenIDSchema), user_info.to_dict()
    return rp, state, id_token, user_info


def _assert_user_info(gateway: Gateway, id_token, user_info) -> None:
    demo_citizen = DEMO_CITIZENS[0]
    assert demo_citizen["personal_id"] == gateway.citizen["personal_id"]
    assert user_info["sub"] == id_token["sub"]  # OIDC Core §5.3.2
    assert user_info["name"] == gateway.citizen["name"]
    assert user_info["given_name"] == demo_citizen["given_name"]
    assert user_info["family_name"] == demo_citizen["family_name"]
    assert user_info["email"] == demo_citizen["email"]
    assert user_info["email_verified"] is True
    # Only the scopes asked for: no phone, address or personal ID number.
    assert not {"phone_number", "address", "personal_id"} & set(user_info.keys())


def test_oic_client_secret_basic_code_flow_succeeds(gateway):
    """OIDC Core §3.1 code flow with PKCE, RFC 6749 §2.3.1 HTTP Basic client authentication."""
    id_token, user_info = run_code_flow(gateway, gateway.registrations["basic"])
    _assert_user_info(gateway, id_token, user_info)


def test_oic_client_secret_post_code_flow_succeeds(gateway):
    """OIDC Core §3.1 code flow with PKCE, RFC 6749 §2.3.1 credentials in the request body."""
    id_token, user_info = run_code_flow(gateway, gateway.registrations["post"])
    _assert_user_info(gateway, id_token, user_info)


def test_oic_es256_id_token_verifies(gateway):
    """OIDC Core §3.1.3.7 step 6 with ``id_token_signed_response_alg`` ES256 (OIDC
    Registration §2): oic verifies the ECDSA signature with the P-256 key from ``jwks_uri``."""
    id_token, user_info = run_code_flow(gateway, gateway.registrations["es256"])
    assert id_token.jws_header["alg"] == "ES256"
    _assert_user_info(gateway, id_token, user_info)


def _revoke(gateway: Gateway, registration: Registration, token: str, hint: str):
    return requests.post(gateway.issuer + "/revoke", timeout=10,
                         auth=(registration.client_id, registration.client_secret),
                         data={"token": token, "token_type_hint": hint})


def test_oic_refresh_token_rotates_then_revocation_ends_it(gateway):
    """oidcc-refresh-token with ``oic``: offline access (``offline_access`` + ``prompt=consent``,
    OIDC Core §11), a refresh (RFC 6749 §6) that rotates the refresh token and returns an ID
    token for the same ``sub``, then RFC 7009 revocation of the refresh token, after which it and
    the access tokens of the grant stop working."""
    registration = gateway.registrations["offline"]
    rp, state, id_token, _ = run_code_flow_with_client(
        gateway, registration, scope=f"{SCOPE} offline_access", prompt="consent")
    first = rp.grant[state].get_token()
    assert first.refresh_token, "no refresh token for offline access"

    refreshed = rp.do_access_token_refresh(state=state, authn_method="client_secret_basic")
    assert isinstance(refreshed, AccessTokenResponse), refreshed.to_dict()
    assert refreshed["refresh_token"] != first.refresh_token
    assert refreshed["access_token"] != first.access_token
    assert refreshed["id_token"]["sub"] == id_token["sub"]
    assert refreshed["id_token"]["auth_time"] == id_token["auth_time"]
    user_info = rp.do_user_info_request(state=state)
    assert user_info["sub"] == id_token["sub"]

    assert _revoke(gateway, registration, refreshed["refresh_token"],
                   "refresh_token").status_code == 200
    again = requests.post(rp.provider_info["token_endpoint"], timeout=10,
                          auth=(registration.client_id, registration.client_secret),
                          data={"grant_type": "refresh_token",
                                "refresh_token": refreshed["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    userinfo = requests.get(rp.provider_info["userinfo_endpoint"], timeout=10,
                            headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert userinfo.status_code == 401


class _LogoutReceiver(BaseHTTPRequestHandler):
    """The RP's ``backchannel_logout_uri``: keeps each POST body and answers 200."""

    bodies: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append(self.rfile.read(length).decode("utf-8"))
        self.send_response(200)
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def logout_receiver():
    _LogoutReceiver.bodies = []
    server = ThreadingHTTPServer((HOST, 0), _LogoutReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/backchannel-logout", _LogoutReceiver
    finally:
        server.shutdown()
        server.server_close()


def test_oic_registers_dynamically_then_rp_initiated_logout_with_backchannel_notice(
    gateway, logout_receiver
):
    """oidcc-server and oidcc-backchannel-rp-initiated-logout with ``oic``: the RP registers
    itself (RFC 7591 behind an initial access token; OIDC Registration §3), signs in, then logs
    out at ``end_session_endpoint`` (RP-Initiated Logout §2-3: ``id_token_hint``,
    ``post_logout_redirect_uri``, ``state``); the gateway redirects back with the same
    ``state``, posts a logout token that ``oic`` verifies (Back-Channel Logout §2.4, §2.6:
    signature against ``jwks_uri``, ``iss``, ``aud``, ``events``, ``sid``, no ``nonce``), and the
    SSO session is gone (``prompt=none`` then gets ``login_required``)."""
    backchannel_logout_uri, receiver = logout_receiver
    token = json.loads(_flask(
        gateway.env, "issue-registration-token", "--agency-name", "Sở Khoa học và Công nghệ",
        "--level", "province", "--unit-code", "86", "--json",
    ))["initial_access_token"]
    rp_port = _free_port()
    redirect_uri = f"http://{HOST}:{rp_port}/cb"
    post_logout_redirect_uri = f"http://{HOST}:{rp_port}/signed-out"

    rp = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    rp.provider_config(gateway.issuer)
    rp.redirect_uris = [redirect_uri]
    # Discovery says require_request_uri_registration, so oic registers a request_uri under
    # its own base URL.
    rp.base_url = f"http://{HOST}:{rp_port}/"
    registration_request = rp.create_registration_request(
        client_name="Interop RP (dynamic)", redirect_uris=[redirect_uri],
        post_logout_redirect_uris=[post_logout_redirect_uri],
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=True,
        token_endpoint_auth_method="client_secret_basic", response_types=["code"],
        grant_types=["authorization_code"], scope=SCOPE,
    )
    assert isinstance(registration_request, RegistrationRequest)
    # oic's own ``register`` base64-encodes a non-JWT initial access token before sending it
    # (a pyoidc quirk, not RFC 7591 §3); the request and the response handling are oic's.
    response = requests.post(
        rp.provider_info["registration_endpoint"], data=registration_request.to_json(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    registered = rp.handle_registration_info(response)
    assert isinstance(registered, RegistrationResponse), registered
    assert registered["backchannel_logout_uri"] == backchannel_logout_uri
    registration = Registration(registered["client_id"], registered["client_secret"],
                                redirect_uri, "client_secret_basic", "RS256")

    browser = requests.Session()
    _, state, id_token, _ = run_code_flow_with_client(gateway, registration, rp=rp,
                                                      browser=browser)
    assert id_token["sid"]

    logout_state = secrets.token_urlsafe(16)
    end_session = rp.construct_EndSessionRequest(
        state=state, request_args={"post_logout_redirect_uri": post_logout_redirect_uri,
                                   "state": logout_state})
    assert isinstance(end_session, EndSessionRequest)
    logout_url = end_session.request(rp.provider_info["end_session_endpoint"])
    response = browser.get(logout_url, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text[:500]
    location = response.headers["Location"]
    assert location.split("?")[0] == post_logout_redirect_uri
    assert parse_qs(urlsplit(location).query)["state"] == [logout_state]

    deadline = time.monotonic() + 10
    while not receiver.bodies and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(receiver.bodies) == 1, receiver.bodies
    notice = BackChannelLogoutRequest().from_urlencoded(receiver.bodies[0])
    notice.verify(keyjar=rp.keyjar, aud=registration.client_id, iss=gateway.issuer)
    logout_token = notice["logout_token"]
    assert logout_token["sid"] == id_token["sid"]
    assert logout_token["sub"] == id_token["sub"]
    assert "nonce" not in logout_token

    silent, _, _, _ = rp.request_info(AuthorizationRequest, method="GET", request_args={
        "response_type": "code", "scope": SCOPE, "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16), "redirect_uri": redirect_uri, "prompt": "none",
        **rp.add_code_challenge()[0]})
    response = browser.get(silent, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303)
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["login_required"]
