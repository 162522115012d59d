"""Live fixtures: the whole demo (gateway + both portals) on 127.0.0.1, and headless Chromium.

The demo runs exactly as ``make demo`` starts it (``python -m clients.demo``), on its own ports
and in a temporary instance folder, so a developer's running demo is never touched.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
#: Override the first of the three ports to run two checkouts' live tests side by side.
PORT_BASE = int(os.environ.get("LIVE_PORT_BASE", "15000"))
PORTS = {"gateway": PORT_BASE, "province": PORT_BASE + 1, "commune": PORT_BASE + 2}
#: The launcher prints this once its own three servers answer (clients/demo.py).
READY_LINE = "Ctrl-C"
START_TIMEOUT = 60
STOP_TIMEOUT = 15

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Milliseconds Playwright waits for any one element or navigation.
BROWSER_TIMEOUT = 15_000


@dataclass(frozen=True)
class Demo:
    gateway_url: str
    province_url: str
    commune_url: str
    instance: Path
    clients: dict

    @property
    def citizens(self) -> list[dict]:
        return self.clients["citizens"]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _check_port_free(port: int) -> None:
    """A server already on the port would answer in place of the demo under test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            pytest.fail(f"{HOST}:{port} is in use; stop what runs there or set LIVE_PORT_BASE")


def _wait_for_demo(process: subprocess.Popen, urls: list[str], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(urls)
    while waiting or READY_LINE not in log_path.read_text(encoding="utf-8", errors="replace"):
        if process.poll() is not None:
            pytest.fail(
                f"the demo exited with {process.returncode} before answering:\n"
                + log_path.read_text(encoding="utf-8", errors="replace")
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"the demo did not answer at {waiting} within {START_TIMEOUT} s:\n"
                + log_path.read_text(encoding="utf-8", errors="replace")
            )
        waiting = [url for url in waiting if not _answers(url)]
        time.sleep(0.2)


def _stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the demo's whole group (launcher and servers), then SIGKILL what is left."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # servers that outlived the launcher
    except ProcessLookupError:
        pass
    process.wait()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    instance = tmp_path_factory.mktemp("instance")
    log_path = instance / "demo.log"
    urls = {name: f"http://{HOST}:{port}" for name, port in PORTS.items()}
    for port in PORTS.values():
        _check_port_free(port)
    argv = [
        sys.executable, "-m", "clients.demo", "--instance", str(instance), "--host", HOST,
        "--gateway-port", str(PORTS["gateway"]),
        "--province-port", str(PORTS["province"]),
        "--commune-port", str(PORTS["commune"]),
    ]
    with log_path.open("wb") as log:
        # A session of its own, so teardown can stop the launcher and every server it started.
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_for_demo(
            process,
            [urls["gateway"] + "/.well-known/openid-configuration",
             urls["province"] + "/", urls["commune"] + "/"],
            log_path,
        )
        clients = json.loads((instance / "demo-clients.json").read_text(encoding="utf-8"))
        yield Demo(urls["gateway"], urls["province"], urls["commune"], instance, clients)
    finally:
        _stop_process_group(process)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (make chromium installs it)")
    from playwright.sync_api import expect, sync_playwright

    # ``expect`` assertions have their own timeout (5 s by default): on a loaded two-core CI
    # machine the front-channel page alone may wait up to 5 s for its frames.
    expect.set_options(timeout=BROWSER_TIMEOUT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser profile per test: no cookies carried from one test to the next."""
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(BROWSER_TIMEOUT)
    page = context.new_page()
    yield page
    context.close()
