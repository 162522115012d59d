"""Error pages for people (Vietnamese and English) and JSON errors for protocol endpoints.

A person never sees a stack trace or a bare 500; a protocol client gets an OAuth-style JSON body.
"""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .stores.hot import HotStoreUnavailable

# Endpoints that speak JSON: their errors are JSON too.
JSON_PREFIXES = ("/token", "/userinfo", "/jwks", "/.well-known/", "/register", "/revoke",
                 "/introspect")


def _wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES)


def render_error_page(status: int, error: str | None = None, description: str | None = None):
    titles = {
        400: _("The request could not be processed"),
        403: _("Access denied"),
        404: _("Page not found"),
        405: _("Method not allowed"),
        413: _("The request is too large"),
        429: _("Too many attempts"),
        500: _("Something went wrong on our side"),
        503: _("Something went wrong on our side"),
    }
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=titles.get(status, titles[400]),
            error=error,
            description=description,
        ),
        status,
    )


def handle_http_exception(exc: HTTPException):
    if exc.code and exc.code < 400:
        return exc
    if exc.response is not None:
        # A page made for this refusal (Flask-Limiter's ``on_breach``: the phone's QR page).
        return exc.response
    if isinstance(getattr(exc, "original_exception", None), HotStoreUnavailable):
        # Raised after the view (a limit counted in an ``after_request`` hook): still 503.
        return handle_hot_store_unavailable(exc.original_exception)
    # Keep the exception's own headers that matter, e.g. ``Allow`` on 405 (RFC 9110 §15.5.6).
    allow = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
    if _wants_json():
        body = {"error": "invalid_request" if exc.code < 500 else "server_error",
                "error_description": exc.description}
        response = jsonify(body)
        response.status_code = exc.code
        response.headers["Cache-Control"] = "no-store"
        response.headers.update(allow)
        return response
    body, status = render_error_page(exc.code or 500, None, None)
    return body, status, allow


def handle_csrf_error(exc: CSRFError):
    return render_error_page(
        400, "csrf", _("The form has expired or was sent from another site. Please try again.")
    )


def handle_hot_store_unavailable(exc: HotStoreUnavailable):
    """Redis (the hot store) is unreachable: 503 and ``Retry-After``, never a guessed answer
    (a replayed assertion accepted, a limit skipped)."""
    current_app.logger.error("hot store unavailable: %s", exc)
    headers = {"Retry-After": str(current_app.config.get("REDIS_RETRY_AFTER", 30))}
    if _wants_json():
        response = jsonify({"error": "temporarily_unavailable",
                            "error_description": "The service is briefly unavailable."})
        response.status_code = 503
        response.headers["Cache-Control"] = "no-store"
        response.headers.update(headers)
        return response
    body, status = render_error_page(503)
    return body, status, headers


def handle_unexpected(exc: Exception):
    # Logged by Flask with the traceback; the person sees a calm page, never details.
    if _wants_json():
        response = jsonify({"error": "server_error"})
        response.status_code = 500
        return response
    return render_error_page(500)


def init_app(app) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(HotStoreUnavailable, handle_hot_store_unavailable)
    if not app.config.get("PROPAGATE_EXCEPTIONS"):
        app.register_error_handler(Exception, handle_unexpected)
