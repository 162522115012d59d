"""A stand-in OpenID provider for the portal kit's in-process tests.

The portals are relying parties; what is tested here is *their* side: how they build requests
and check what comes back. So the provider is a small HTTP server on 127.0.0.1 whose signing key
and answers the test controls (discovery, JWKS, token, UserInfo). The real gateway is tested
against the real portals in tests/live.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc.jwk import RSAKey


class StandInProvider:
    """Serves ``GET`` discovery, ``/jwks`` and ``/userinfo`` and ``POST /token``.

    ``token_response()`` and ``user_info()`` give the answers; override them in a subclass.
    ``jwks_fetches`` counts key downloads (caching tests)."""

    def __init__(self, kid: str = "op-1"):
        self.key = RSAKey.generate_key(2048, {"kid": kid, "use": "sig"}, private=True)
        self.jwks_fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                if self.path == "/.well-known/openid-configuration":
                    self._json(provider.metadata())
                elif self.path == "/jwks":
                    provider.jwks_fetches += 1
                    self._json({"keys": [provider.key.as_dict(private=False)]})
                elif self.path == "/userinfo":
                    self._json(provider.user_info())
                else:
                    self._not_found()

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/token":
                    self._json(provider.token_response())
                else:
                    self._not_found()

            def _not_found(self):
                self.send_response(404)
                self.end_headers()

            def _json(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def metadata(self) -> dict:
        issuer = self.issuer
        return {"issuer": issuer, "jwks_uri": issuer + "/jwks",
                "authorization_endpoint": issuer + "/authorize",
                "token_endpoint": issuer + "/token", "userinfo_endpoint": issuer + "/userinfo",
                "id_token_signing_alg_values_supported": ["RS256"],
                "acr_values_supported": ["LoA1", "LoA2"]}

    def token_response(self) -> dict:
        return {"error": "invalid_grant"}

    def user_info(self) -> dict:
        return {"sub": "pairwise-sub-1"}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
