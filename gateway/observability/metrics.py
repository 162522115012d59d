"""Prometheus metrics (prometheus-client): the metric objects and one small function per event,
called by one-line hooks where the event happens.

Platform level: this module imports nothing from ``accounts``, ``oidc`` or ``identity``; they
call it. Every label has a small, fixed set of values (endpoint names, never raw paths), so the
number of series stays bounded whatever clients send.

Several worker processes on one machine: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
writable by every worker before they start (prometheus-client's multiprocess mode); each process
writes its counts there and ``/metrics`` sums them. Without it, each process counts for itself.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# No ``*_created`` series: they double the output and no dashboard here reads them.
disable_created_metrics()

#: Methods counted by name; anything else (clients may send any token) counts as ``other``.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Sign-in methods and results (``count_sign_in``); other values are refused, not counted.
SIGN_IN_METHODS = frozenset({"password", "totp", "recovery_code", "qr"})
SIGN_IN_RESULTS = frozenset({"success", "failure", "throttled"})
LOGOUT_OUTCOMES = frozenset({"delivered", "retry", "failed"})

HTTP_REQUESTS = Counter(
    "gateway_http_requests", "HTTP requests answered, by Flask endpoint, method and status class.",
    ["endpoint", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "gateway_http_request_duration_seconds",
    "Time from the start of the request to its response, by Flask endpoint and method (seconds).",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SIGN_INS = Counter(
    "gateway_sign_ins",
    "Sign-in steps checked, by method (password, totp, recovery_code, qr) and result "
    "(success, failure, throttled).",
    ["method", "result"],
)
TOKENS_ISSUED = Counter(
    "gateway_tokens_issued", "Token responses issued by the token endpoint, by grant type.",
    ["grant_type"],
)
LOGOUT_DELIVERIES = Counter(
    "gateway_backchannel_logout_deliveries",
    "Back-channel logout delivery attempts, by outcome (delivered, retry: will be tried again, "
    "failed: given up).",
    ["outcome"],
)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    endpoint = endpoint or "unmatched"
    method = method if method in HTTP_METHODS else "other"
    HTTP_REQUESTS.labels(endpoint, method, f"{status // 100}xx").inc()
    HTTP_REQUEST_DURATION.labels(endpoint, method).observe(seconds)


def count_sign_in(method: str, result: str) -> None:
    """A sign-in step: the password, a second-factor code, or a QR code confirmed on a phone."""
    if method not in SIGN_IN_METHODS or result not in SIGN_IN_RESULTS:
        raise ValueError(f"unknown sign-in method or result: {method!r}, {result!r}")
    SIGN_INS.labels(method, result).inc()


def second_factor_method(code: str | None) -> str:
    """``totp`` for a six-digit code, else ``recovery_code`` (those are 16 letters and digits):
    the second-factor form takes either."""
    return "totp" if (code or "").strip().replace(" ", "").isdigit() else "recovery_code"


def count_token_issued(grant_type: str | None) -> None:
    # Called only for grants the server registered: a bounded set of values.
    TOKENS_ISSUED.labels(grant_type or "unknown").inc()


def count_logout_delivery(outcome: str) -> None:
    if outcome not in LOGOUT_OUTCOMES:
        raise ValueError(f"unknown delivery outcome: {outcome!r}")
    LOGOUT_DELIVERIES.labels(outcome).inc()


def render() -> tuple[bytes, str]:
    """The text exposition of every metric: this process's, or in multiprocess mode all the
    processes' sharing ``PROMETHEUS_MULTIPROC_DIR``."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
