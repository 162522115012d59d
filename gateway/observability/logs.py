"""Logging: one JSON object per line (python-json-logger) or plain text, with the request id on
every line written during a request, and a redacting filter as defence in depth.

The gateway never logs secrets on purpose: the access log names endpoints, never paths, query
strings or bodies. The filter masks what would still slip through (a library's message, an
exception's text): 12-digit runs (personal ID numbers), JWTs, ``Bearer``/``Basic`` credentials
and long random strings (codes, tokens, secrets and handles are 32 or more URL-safe characters,
mixed case).
"""

from __future__ import annotations

import logging
import re
import sys

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter

MASK = "[redacted]"

_PATTERNS = [
    # JWTs (ID tokens, logout tokens, JWT access tokens, request objects): header.payload.sig
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # HTTP credentials
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + MASK),
    # personal ID numbers: exactly twelve digits
    (re.compile(r"(?<!\d)\d{12}(?!\d)"), MASK),
    # opaque tokens, codes, client secrets, SSO handles: runs of 32+ URL-safe characters with
    # an upper-case letter (random ones have one, snake_case names in tracebacks do not)
    (re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{32,}"), MASK),
]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        return True


class RedactingFilter(logging.Filter):
    """Masks personal ID numbers, tokens and credentials in the message and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, dict):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # arguments that do not fit the format
                message = f"{record.msg} (unformattable arguments)"
            record.msg = redact(str(message))
            record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None  # formatters then print the redacted exc_text
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when the record is emitted (a service manager or
    container runtime collects it; tests capture it)."""

    def __init__(self):
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def create_handler(log_format: str) -> logging.Handler:
    handler = StderrHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(
            JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"}, timestamp=True,
            json_ensure_ascii=False,
        ))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    handler._gateway_handler = True
    return handler


def configure_logging(log_format: str, level: str) -> None:
    """One handler on the root logger (so libraries' records take the same shape), replacing
    the one a previous ``create_app`` in this process installed."""
    from flask.logging import default_handler

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_gateway_handler", False)]:
        root.removeHandler(old)
    root.addHandler(create_handler(log_format))
    root.setLevel(level)
    # Flask's own stderr handler on the app's logger would print every line a second time.
    logging.getLogger("gateway").removeHandler(default_handler)
