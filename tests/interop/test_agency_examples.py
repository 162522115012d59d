"""The copy-paste examples of docs/agency-integration.md, run against the real gateway (waitress on
127.0.0.1, as in test_oic_relying_party): the curl registration, the Authlib (Python) portal and
the openid-client (Node.js) app that registers itself with ``private_key_jwt``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

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
    aud, exp, nonce) and reads UserInfo."""
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
