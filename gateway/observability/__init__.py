"""Operations: health and readiness probes, Prometheus metrics, structured logs and request ids.

Platform level, like ``security`` and ``errors``: it knows Flask, the database and Redis, and
nothing of accounts, OIDC or identity (they call ``metrics`` from one-line hooks).
``init_app`` runs first in ``create_app`` so that its request hooks run before any other (a
request refused by a later hook still gets a request id, an access-log line and a count).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid

from flask import g, request

from ..config import ConfigurationError
from . import logs, metrics

#: An incoming ``X-Request-ID`` is kept when it is 1-128 of these characters; otherwise (or
#: without one) the gateway makes one (a UUID).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_HEADER = "X-Request-ID"
LOG_FORMATS = ("json", "text")

access_log = logging.getLogger("gateway.access")


def _check_settings(config) -> None:
    if config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigurationError("LOG_FORMAT must be 'json' or 'text'.")
    level = str(config["LOG_LEVEL"]).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigurationError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    config["LOG_LEVEL"] = level
    try:
        config["METRICS_ALLOWED_NETWORKS"] = [
            ipaddress.ip_network(network, strict=False)
            for network in config["METRICS_ALLOWED_NETWORKS"]
        ]
    except (TypeError, ValueError) as exc:
        raise ConfigurationError("METRICS_ALLOWED_NETWORKS must be a list of networks, "
                                 "e.g. [\"127.0.0.0/8\", \"::1\"].") from exc


def start_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())


def finish_request(response):
    """Count the request, write its access-log line and echo the request id."""
    started = g.get("request_started") or time.perf_counter()
    seconds = time.perf_counter() - started
    endpoint = request.url_rule.endpoint if request.url_rule is not None else None
    metrics.observe_request(endpoint, request.method, response.status_code, seconds)
    duration_ms = round(seconds * 1000, 1)
    access_log.info(
        "%s %s %s %.1f ms", request.method, endpoint or "unmatched", response.status_code,
        duration_ms,
        extra={"method": request.method, "endpoint": endpoint or "unmatched",
               "status": response.status_code, "duration_ms": duration_ms,
               "remote_addr": request.remote_addr},
    )
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or ""
    return response


def init_app(app) -> None:
    config = app.config
    _check_settings(config)
    logs.configure_logging(config["LOG_FORMAT"], config["LOG_LEVEL"])
    app.before_request(start_request)
    app.after_request(finish_request)

    from ..extensions import csrf
    from .views import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)
