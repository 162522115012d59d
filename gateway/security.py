"""Response headers that every page carries (RFC 9700 §4.16 clickjacking, §4.2 referrer leakage)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import abort, current_app, g, request

CSP = (
    "default-src 'self'; img-src 'self' data:{img_src}; style-src 'self'; script-src 'self'; "
    "frame-src 'self'{frame_src}; frame-ancestors 'none'; form-action 'self' {form_action}; "
    "base-uri 'none'; object-src 'none'"
)


def set_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        # form-action must allow the redirect after a form post to a client's redirect_uri.
        headers.setdefault("Content-Security-Policy", CSP.format(
            form_action="http: https:", img_src="".join(f" {o}" for o in g.get("img_origins", ())),
            frame_src="".join(f" {o}" for o in g.get("frame_origins", ())),
        ))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cache-Control", "no-store")
    if current_app.config["ISSUER"].startswith("https://") and request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


_HOST = re.compile(r"[a-z0-9.-]{1,253}")


def allow_client_logo(client) -> None:
    """Let this page load the client's registered ``logo_uri`` (https only, checked at
    registration), and nothing else from its origin's neighbours."""
    uri = client.logo_uri if client is not None else None
    if not uri:
        return
    parts = urlsplit(uri)
    # Rebuilt from the parsed host, so nothing but an origin can reach the header.
    if parts.scheme == "https" and parts.hostname and _HOST.fullmatch(parts.hostname):
        port = f":{parts.port}" if parts.port else ""
        g.img_origins = (*g.get("img_origins", ()), f"https://{parts.hostname}{port}")


def allow_frames(uris) -> None:
    """Let this page frame these URLs' origins: the logged-out page loads the clients'
    ``frontchannel_logout_uri`` in iframes (Front-Channel Logout 1.0 §3)."""
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https") and parts.hostname and _HOST.fullmatch(
                parts.hostname):
            port = f":{parts.port}" if parts.port else ""
            origin = f"{parts.scheme}://{parts.hostname}{port}"
            if origin not in g.get("frame_origins", ()):
                g.frame_origins = (*g.get("frame_origins", ()), origin)


def refuse_nul_bytes():
    """A NUL byte in a parameter or path is never meaningful here, and PostgreSQL text columns
    refuse it (a 500 deep in a query): answer 400 before any view runs (JSON for protocol
    endpoints, a page for people, by ``errors.handle_http_exception``)."""
    values = [*(request.view_args or {}).values()]
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        values += [text for item in source.items(multi=True) for text in item]
    if any("\x00" in str(value) for value in values):
        abort(400, description="A parameter holds a NUL byte.")


def init_app(app) -> None:
    app.before_request(refuse_nul_bytes)
    app.after_request(set_security_headers)
