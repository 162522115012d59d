"""The guarded client for requests to clients' URLs (SSRF defences)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway.oidc.outbound import OutboundError, check_url, fetch


@pytest.fixture
def local_server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            size = 1024 * 1024 if self.path == "/big" else 2
            status = 302 if self.path == "/redirect" else 200
            self.send_response(status)
            if status == 302:
                self.send_header("Location", "http://169.254.169.254/")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}" if size == 2 else b" " * size)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "https://10.0.0.1/jwks",
    "https://192.168.1.10/jwks",
    "https://[::1]/jwks",
    "https://127.0.0.1/jwks",
    "ftp://example.com/jwks",
    "https:///nohost",
])
def test_outbound_refuses_private_link_local_and_non_https_urls(app, url):
    app.config["OUTBOUND_ALLOW_LOOPBACK"] = False
    with app.app_context(), pytest.raises(OutboundError):
        check_url(url)


def test_outbound_loopback_allowed_only_when_switched_on(app, local_server):
    with app.app_context():
        app.config["OUTBOUND_ALLOW_LOOPBACK"] = False
        with pytest.raises(OutboundError):
            fetch(local_server + "/ok")
        app.config["OUTBOUND_ALLOW_LOOPBACK"] = True
        response = fetch(local_server + "/ok")
        assert response.status == 200 and response.json() == {}


def test_outbound_caps_response_size_and_does_not_follow_redirects(app, local_server):
    app.config.update(OUTBOUND_ALLOW_LOOPBACK=True, OUTBOUND_MAX_BYTES=64 * 1024)
    with app.app_context():
        with pytest.raises(OutboundError, match="larger"):
            fetch(local_server + "/big")
        assert fetch(local_server + "/redirect").status == 302
