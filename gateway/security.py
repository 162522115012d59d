"""Response headers that every page carries (RFC 9700 §4.16 clickjacking, §4.2 referrer leakage)."""

from __future__ import annotations

from flask import current_app, request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self' {form_action}; base-uri 'none'; object-src 'none'"
)


def set_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        # form-action must allow the redirect after a form post to a client's redirect_uri.
        headers.setdefault("Content-Security-Policy", CSP.format(form_action="http: https:"))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cache-Control", "no-store")
    if current_app.config["ISSUER"].startswith("https://") and request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app) -> None:
    app.after_request(set_security_headers)
