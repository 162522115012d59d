"""Gunicorn settings for the gateway in production (docs/operations.md#serving).

    .venv/bin/gunicorn -c config/gunicorn.conf.py 'gateway:create_app()'

Every value can be changed from the environment without editing this file; the defaults suit
the province's 2-core machines (docs/benchmarks.md). The gateway's own settings stay
``GATEWAY_*`` (docs/configuration.md); these are ``GUNICORN_*`` so they never reach Flask's
configuration.
"""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


#: Address to listen on, ``host:port`` (or ``unix:/path``). Operators: the reverse proxy's
#: upstream. Loopback by default: the gateway is never exposed without the TLS proxy.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

#: Worker processes. One per core: requests are CPU-bound (argon2id, signing) and each process
#: has its own GIL. Operators: the number of cores the gateway may use.
workers = _int("GUNICORN_WORKERS", 2)

#: Threads per worker (``gthread`` worker): a thread waiting on PostgreSQL, Redis or a client's
#: logout endpoint (up to LOGOUT_DELIVERY_INLINE_BUDGET seconds) does not hold up the others;
#: argon2 releases the GIL while it hashes. Each concurrent sign-in needs 19 MiB for argon2id.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

#: Seconds a request may take before its worker is killed and replaced (the slowest legitimate
#: request, a sign-out delivering logout tokens inline, stays under 5 s).
timeout = _int("GUNICORN_TIMEOUT", 30)

#: Seconds the workers get, after SIGTERM (or SIGHUP), to finish the requests in progress
#: before they are killed; keep it below the service manager's stop timeout.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)

#: Seconds an idle keep-alive connection from the reverse proxy stays open.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

#: Not preloaded: each worker builds the app itself after the fork. Then ``kill -HUP <master>``
#: starts workers with the new code (an upgrade without refusing connections), and no database
#: pool or other state made in the master is shared across forks. Preloading would only save a
#: few MiB of memory per worker and a second of start-up.
preload_app = False

#: Addresses whose ``X-Forwarded-Proto`` gunicorn believes (https behind the TLS proxy).
#: Operators: the reverse proxy's address, the same as the gateway's ``TRUSTED_PROXY_NETWORKS``,
#: with ``TRUSTED_PROXY_COUNT = 1`` (the gateway takes the client address and host from
#: ``X-Forwarded-*`` itself, from those addresses only). Never ``*`` unless only the proxy can
#: reach ``bind``. docs/operations.md#serving has the nginx configuration.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

#: No gunicorn access log: request lines carry ``id_token_hint``, ``login_hint`` and QR sign-in
#: codes, which never reach a log. The gateway writes its own access line per request
#: (``gateway.access``: endpoint names, never paths). gunicorn's own lines go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

#: No control socket (gunicorn 25.1+): its default path is per user, so two gateways on one
#: machine would fight over it; signals (HUP, TERM, TTIN/TTOU) do the same work.
control_socket_disable = True


def child_exit(server, worker):
    """Metrics in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, docs/operations.md#metrics):
    a dead worker's live gauges are dropped, as prometheus-client asks of gunicorn."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
