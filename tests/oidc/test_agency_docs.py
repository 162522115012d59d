"""docs/agency-integration.md stays true: its registration JSON is the example file and registers
as shown (in-process; the live tests in tests/interop run the curl, Python and Node examples)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.oidc.conftest import register

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _block(marker: str) -> str:
    text = (DOCS / "agency-integration.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(marker)} -->\s*```\w*\n(.*?)```", text, re.S)
    assert match, marker
    return match.group(1)


def test_agency_guide_registration_json_is_the_example_file_and_registers(
        client, initial_access_token):
    shown = json.loads(_block("registration-json"))
    assert shown == json.loads((DOCS / "examples" / "registration.json").read_text("utf-8"))
    response = register(client, initial_access_token, shown)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["client_secret"] and body["registration_access_token"]
    assert body["logo_uri"] == shown["logo_uri"]


def test_agency_guide_curl_uses_the_registration_endpoint_and_bearer_token():
    command = _block("curl-register")
    assert '"$GATEWAY/register"' in command
    assert '"Authorization: Bearer $INITIAL_ACCESS_TOKEN"' in command
    assert "--data @registration.json" in command


def test_agency_guide_node_example_pins_openid_client():
    package = json.loads((DOCS / "examples" / "node" / "package.json").read_text("utf-8"))
    version = package["dependencies"]["openid-client"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin an exact version"


def test_agency_guide_node_example_parses():
    """The Node.js example is valid JavaScript (it runs for real in tests/interop)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run([node, "--check", str(DOCS / "examples" / "node" / "sign-in.mjs")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
