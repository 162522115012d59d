"""``/healthz`` (the process answers), ``/readyz`` (its database and Redis answer) and
``/metrics`` (Prometheus, only from ``METRICS_ALLOWED_NETWORKS``).

The probes are cheap, set no cookie and are never cached. A failed check is named, never
explained: exception texts can hold a DSN, host names or a password, so they are logged by class
name only.
"""

from __future__ import annotations

import ipaddress
import logging

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import text

from ..extensions import db
from . import metrics

bp = Blueprint("ops", __name__)
logger = logging.getLogger(__name__)

#: Seconds a load balancer is asked to wait before probing a node that is not ready again.
RETRY_AFTER = 5
#: Seconds the Redis ping may take (connecting, then answering).
REDIS_TIMEOUT = 1


def _no_store(response, status: int = 200):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    return _no_store(jsonify({"status": "ok"}))


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:  # any failure means "not ready"
        logger.warning("readiness: the database check failed (%s)", exc.__class__.__name__)
        db.session.rollback()
        return "failed"
    return "ok"


def _check_redis(url: str | None) -> str:
    if not url:
        return "not configured"
    try:
        import redis

        connection = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                          socket_connect_timeout=REDIS_TIMEOUT)
        try:
            connection.ping()
        finally:
            connection.close()
    except Exception as exc:  # any failure means "not ready"
        logger.warning("readiness: the Redis check failed (%s)", exc.__class__.__name__)
        return "failed"
    return "ok"


@bp.get("/readyz")
def readyz():
    checks = {"database": _check_database(),
              "redis": _check_redis(current_app.config.get("REDIS_URL"))}
    if all(value in ("ok", "not configured") for value in checks.values()):
        return _no_store(jsonify({"status": "ok", "checks": checks}))
    response = _no_store(jsonify({"status": "unavailable", "checks": checks}), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def _metrics_allowed(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in current_app.config["METRICS_ALLOWED_NETWORKS"])


@bp.get("/metrics")
def prometheus_metrics():
    # 404, as for any unknown page: outside the allowed networks it does not exist.
    if not _metrics_allowed(request.remote_addr):
        abort(404)
    body, content_type = metrics.render()
    response = current_app.response_class(body, content_type=content_type)
    return _no_store(response)
