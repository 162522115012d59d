"""The copy-paste examples of docs/agency-integration.md, run against the real gateway (waitress on
127.0.0.1, as in test_oic_relying_party): the curl registration, the Authlib (Python) portal and
the openid-client (Node.js) app that registers itself with ``private_key_jwt``."""

from __future__ import annotations

import json
import os
import re
import runpy
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from joserfc.errors import InvalidClaimError

from tests.interop import test_oic_relying_party as live

pytestmark = [pytest.mark.interop, pytest.mark.live]

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "agency-integration.md"
EXAMPLES = REPO_ROOT / "docs" / "examples"
NODE_TIMEOUT = 120

#: The live gateway of the pyoidc interop test (CLI set-up, waitress on a free loopback port).
gateway = live.gateway


def issue_token(gateway) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_ENV="development", GATEWAY_INSTANCE_PATH=str(gateway.instance),
               GATEWAY_ISSUER=gateway.issuer, GATEWAY_SECRET_KEY="interop-" + "k" * 40)
    out = live._flask(env, "issue-registration-token", "--agency-name", "Sở Y tế tỉnh Vĩnh Long",
                      "--level", "province", "--unit-code", "86", "--json")
    return json.loads(out)["initial_access_token"]


def doc_block(marker: str) -> str:
    """The fenced code block right after ``<!-- marker -->`` in the integration guide."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(marker)} -->\s*```\w*\n(.*?)```", text, re.S)
    assert match, f"no block marked {marker} in {DOC.name}"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_doc_curl_registration_registers_the_example_metadata(gateway):
    """The curl command of the guide, run as written, registers docs/examples/registration.json
    and prints the credentials once."""
    env = {**os.environ, "GATEWAY": gateway.issuer, "INITIAL_ACCESS_TOKEN": issue_token(gateway)}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", doc_block("curl-register")],
                            cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    example = json.loads((EXAMPLES / "registration.json").read_text(encoding="utf-8"))
    for name, value in example.items():
        assert body[name] == value, name
    for name in ("client_id", "client_secret", "registration_access_token",
                 "registration_client_uri"):
        assert body[name], name
    assert body["agency_name"] == "Sở Y tế tỉnh Vĩnh Long"


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "private_key_jwt"])
def test_doc_python_example_signs_a_citizen_in_with_authlib(gateway, tmp_path, auth_method):
    """docs/examples/python/agency_portal.py: Authlib's Flask client, registered dynamically,
    signs the demo citizen in (with a secret, or with Authlib's ``PrivateKeyJWT``); the ID
    token is verified and UserInfo read."""
    metadata = json.loads((EXAMPLES / "registration.json").read_text(encoding="utf-8"))
    key_file = None
    if auth_method == "private_key_jwt":
        from joserfc.jwk import ECKey

        key = ECKey.generate_key("P-256", {"kid": "portal-1", "use": "sig"}, private=True)
        key_file = tmp_path / "private-jwk.json"
        key_file.write_text(json.dumps(key.as_dict(private=True)), encoding="utf-8")
        metadata.update(token_endpoint_auth_method="private_key_jwt",
                        jwks={"keys": [key.as_dict(private=False)]})
    response = requests.post(gateway.issuer + "/register", json=metadata, timeout=10,
                             headers={"Authorization": f"Bearer {issue_token(gateway)}"})
    assert response.status_code == 201, response.text
    registration = response.json()

    sys.path.insert(0, str(EXAMPLES / "python"))
    try:
        import agency_portal
    finally:
        sys.path.remove(str(EXAMPLES / "python"))
    portal = agency_portal.create_app({
        "SECRET_KEY": "portal-test-secret-" + "x" * 20, "GATEWAY_ISSUER": gateway.issuer,
        "CLIENT_ID": registration["client_id"],
        "CLIENT_SECRET": registration.get("client_secret"), "CLIENT_PRIVATE_KEY_FILE": key_file,
        "REDIRECT_URI": registration["redirect_uris"][0], "TESTING": True,
    })
    browser = portal.test_client()
    start = browser.get("/login")
    assert start.status_code == 302
    callback = live.act_as_browser(start.headers["Location"], gateway.citizen,
                                   registration["redirect_uris"][0])
    result = browser.get("/callback?" + callback.split("?", 1)[1])
    assert result.status_code == 200, result.get_data(as_text=True)
    body = result.get_json()
    assert body["iss"] == gateway.issuer and body["aud"] == registration["client_id"]
    assert body["name"] == gateway.citizen["name"]


def test_doc_node_example_registers_with_private_key_jwt_and_signs_in(gateway, tmp_path):
    """docs/examples/node: openid-client (Node.js) registers itself with ``private_key_jwt`` and
    ``jwks``, signs the demo citizen in, verifies the ID token (signature by ``jwks_uri``, iss,
    aud, exp, nonce) and reads UserInfo; then refreshes (RFC 6749 §6, rotated) and revokes the
    refresh token (RFC 7009)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.skip(f"openid-client 6 needs Node.js 20 or newer, found {version.strip()}")
    app_dir = tmp_path / "node-example"
    shutil.copytree(EXAMPLES / "node", app_dir, ignore=shutil.ignore_patterns("node_modules"))
    install = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                             cwd=app_dir, capture_output=True, text=True, timeout=NODE_TIMEOUT)
    if install.returncode != 0:
        pytest.skip("openid-client could not be installed from the npm registry:\n"
                    + install.stderr[-500:])

    redirect_uri = "https://app.example.vn/callback"
    env = {**os.environ, "GATEWAY_ISSUER": gateway.issuer, "REDIRECT_URI": redirect_uri,
           "INITIAL_ACCESS_TOKEN": issue_token(gateway)}
    process = subprocess.Popen([node, "sign-in.mjs"], cwd=app_dir, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        first = process.stdout.readline()
        assert first, process.stderr.read()
        started = json.loads(first)
        callback = live.act_as_browser(started["authorization_url"], gateway.citizen,
                                       redirect_uri)
        out, err = process.communicate(callback + "\n", timeout=NODE_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    claims = result["id_token_claims"]
    assert claims["iss"] == gateway.issuer and claims["aud"] == started["client_id"]
    assert result["userinfo"]["sub"] == claims["sub"]
    assert result["userinfo"]["name"] == gateway.citizen["name"]
    # Offline access: refreshed once (rotated, same sub, original auth_time), then revoked.
    assert result["rotated"] is True
    refreshed = result["refreshed_id_token_claims"]
    assert refreshed["sub"] == claims["sub"] and refreshed["auth_time"] == claims["auth_time"]
    assert result["revoked_refresh_token_error"] == "invalid_grant"


# -- section 9: refresh, revoke, client credentials, introspection, JWT access tokens ----------


def _cli_env(gateway) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_ENV="development", GATEWAY_INSTANCE_PATH=str(gateway.instance),
               GATEWAY_ISSUER=gateway.issuer, GATEWAY_SECRET_KEY="interop-" + "k" * 40)
    return env


def _create_client(gateway, *args) -> dict:
    out = live._flask(_cli_env(gateway), "create-client", "--name", "API Sở Tư pháp",
                      "--redirect-uri", "https://api.stp.example.vn/cb", "--json", *args)
    return json.loads(out)


def run_doc_example(marker: str, gateway, client_id: str, client_secret: str, **env):
    """Run a curl block of section 9 as written, with the guide's environment variables."""
    env = {**os.environ, "GATEWAY": gateway.issuer, "CLIENT_ID": client_id,
           "CLIENT_SECRET": client_secret, **env}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", doc_block(marker)], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_doc_curl_refresh_then_revoke(gateway):
    """Section 9: the refresh command rotates the refresh token (RFC 6749 §6), the revoke
    command ends it (RFC 7009); refreshing with it afterwards fails."""
    registration = gateway.registrations["offline"]
    rp, state, _, _ = live.run_code_flow_with_client(
        gateway, registration, scope=f"{live.SCOPE} offline_access", prompt="consent")
    refresh_token = rp.grant[state].get_token().refresh_token
    credentials = (registration.client_id, registration.client_secret)

    result = run_doc_example("curl-refresh", gateway, *credentials, REFRESH_TOKEN=refresh_token)
    assert result.returncode == 0, result.stderr
    tokens = json.loads(result.stdout)
    assert tokens["refresh_token"] != refresh_token and tokens["id_token"]

    result = run_doc_example("curl-revoke", gateway, *credentials,
                             REFRESH_TOKEN=tokens["refresh_token"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}
    result = run_doc_example("curl-refresh", gateway, *credentials,
                             REFRESH_TOKEN=tokens["refresh_token"])
    assert result.returncode != 0  # --fail: HTTP 400 invalid_grant


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_doc_client_credentials_jwt_verified_and_introspected(gateway, tmp_path):
    """Section 9: an agency API client gets a JWT access token by client credentials (RFC 6749
    §4.4, RFC 9068) for the API's resource indicator (RFC 8707); the guide's Python function
    verifies it against ``jwks_uri`` with that audience; the API, a resource server, introspects
    it (RFC 7662) with the guide's curl command."""
    resource = f"https://api-{secrets.token_hex(4)}.hotich.vinhlong.gov.vn/"
    resource_server = _create_client(gateway, "--resource-server", "--resource", resource)
    api = _create_client(gateway, "--grant-type", "client_credentials", "--scope", "hotich.read",
                         "--access-token-format", "jwt", "--allowed-resource", resource)
    result = run_doc_example("curl-client-credentials", gateway, api["client_id"],
                             api["client_secret"], RESOURCE=resource)
    assert result.returncode == 0, result.stderr
    tokens = json.loads(result.stdout)
    assert tokens["scope"] == "hotich.read" and "refresh_token" not in tokens

    example = tmp_path / "verify_access_token.py"
    example.write_text(doc_block("python-verify-access-token"), encoding="utf-8")
    verify_access_token = runpy.run_path(str(example))["verify_access_token"]
    claims = verify_access_token(tokens["access_token"], gateway.issuer, resource)
    assert claims["sub"] == api["client_id"] and claims["scope"] == "hotich.read"
    with pytest.raises(InvalidClaimError):  # a token for another audience is refused
        verify_access_token(tokens["access_token"], gateway.issuer, api["client_id"])

    result = run_doc_example("curl-introspect", gateway, resource_server["client_id"],
                             resource_server["client_secret"],
                             ACCESS_TOKEN=tokens["access_token"])
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["active"] is True and info["client_id"] == api["client_id"]
    assert info["aud"] == resource
