"""Configuration in layers.

1. the defaults below (every key commented: meaning, unit, who must change it);
2. a Python file named by ``GATEWAY_CONFIG`` (see ``config/*.py``);
3. ``GATEWAY_<KEY>`` environment variables (JSON-decoded when they parse as JSON);
4. the mapping passed to ``create_app(config)`` (tests).

``validate_config`` refuses development-only values outside development: a generated or weak
secret key, an ``http`` issuer that is not loopback, cookies without ``Secure``, no
key-encryption key for the signing keys. In every environment it refuses Flask-Limiter's own
``RATELIMIT_*`` settings: the throttles' limiter is set up in code (``gateway.stores.limits``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from urllib.parse import urlsplit

from flask.cli import NoAppException

#: ``development`` or ``production``. Operators: set ``GATEWAY_ENV=production`` in production.
ENV = "production"

#: Issuer identifier (OpenID Discovery §4.3): https URL, no query or fragment, no trailing slash.
#: Operators MUST set it; every token, metadata document and ``iss`` parameter carries it.
ISSUER = None

#: Flask secret for the signed browser cookie (CSRF token, pending-request binding). At least
#: 32 random bytes in production. Operators MUST set it; development generates one per start.
SECRET_KEY = None

#: SQLAlchemy URL. Default: SQLite file ``gateway.db`` in the instance folder.
#: PostgreSQL in production: ``postgresql+psycopg://user@host/dbname``.
SQLALCHEMY_DATABASE_URI = None
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

#: The hot store (short-lived state with a TTL: client-assertion ``jti`` replay cache, clients'
#: ``jwks_uri`` documents, sign-in and QR rate limits). Empty (default): the database's
#: ``hot_entries`` table. A Redis URL (``redis://host:6379/0``, ``rediss://`` for TLS): Redis.
#: Operators running several nodes may set it; one node is fine on the database.
REDIS_URL = None
#: Prefix of every Redis key the gateway writes (several gateways may share one Redis).
REDIS_KEY_PREFIX = "gateway:"
#: Seconds to wait for Redis to connect or answer a command (then one immediate retry) before
#: the request fails with 503.
REDIS_TIMEOUT = 2
#: ``Retry-After`` seconds on the 503 answered while the hot store (Redis) is unreachable.
REDIS_RETRY_AFTER = 30

#: Languages offered to people (BCP 47). The first one is the default.
LANGUAGES = ["vi", "en"]
BABEL_DEFAULT_LOCALE = "vi"
BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

#: Single sign-on session at the provider. Seconds.
SSO_SESSION_LIFETIME = 8 * 3600
#: SSO session ends after this many seconds without activity.
SSO_SESSION_IDLE_TIMEOUT = 2 * 3600
#: Cookie holding the SSO session handle (opaque; only its hash is stored).
SSO_COOKIE_NAME = "gw_sso"

#: Signed Flask session cookie (CSRF token, pending-request binding, language choice).
SESSION_COOKIE_NAME = "gw_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
#: ``Secure`` flag on every gateway cookie. Only development on http://127.0.0.1 turns it off.
SESSION_COOKIE_SECURE = True

#: Authorization code lifetime, seconds (FAPI 2.0: at most 60).
AUTHORIZATION_CODE_LIFETIME = 60
#: Access token lifetime, seconds.
ACCESS_TOKEN_LIFETIME = 3600
#: ID token lifetime, seconds.
ID_TOKEN_LIFETIME = 3600
#: Refresh token idle lifetime, seconds: unused this long, it stops working (each use rotates it
#: and restarts the count). Agencies needing longer offline access ask the operator.
REFRESH_TOKEN_IDLE_SECONDS = 14 * 86400
#: Refresh token absolute lifetime, seconds, counted from the sign-in that started the family:
#: after it the person must sign in again, however often the app refreshed.
REFRESH_TOKEN_ABSOLUTE_SECONDS = 90 * 86400
#: Pending authorization request (the sign-in/consent interaction) lifetime, seconds.
INTERACTION_LIFETIME = 15 * 60

#: ``acr`` values, lowest assurance first. The password sign-in gives the first one.
ACR_VALUES = ["LoA1", "LoA2"]
#: ``acr`` values this deployment can actually reach (advertised in discovery).
ACR_VALUES_SUPPORTED = ["LoA1", "LoA2"]
#: Highest level at which single sign-on reuses a session silently; above it, every client's
#: request authenticates again (FranceConnect allows SSO only at its lowest level).
SSO_REUSE_MAX_ACR = "LoA1"

#: Algorithms for ID tokens a client may choose (``id_token_signed_response_alg``). Never ``none``.
ID_TOKEN_SIGNING_ALGS = ["RS256", "PS256", "ES256"]

#: ``sub`` for clients that do not choose: ``pairwise`` (a different ``sub`` per sector, so
#: agencies cannot join their records on it; OIDC Core §8.1) or ``public``.
SUBJECT_TYPE_DEFAULT = "pairwise"
#: Secret mixed into pairwise subjects. Operators MUST set it once and never change it (every
#: agency would see new subjects). Development uses a fixed, public value.
PAIRWISE_SALT = None

#: Values of the national-portal claim aliases (docs/domain.md §2; observed in integration code,
#: not a published spec, so configurable): ``GioiTinh`` by sex and ``LoaiTaiKhoan`` by account type.
NATIONAL_PORTAL_GENDER = {"male": "Nam", "female": "Nữ"}
NATIONAL_PORTAL_ACCOUNT_TYPE = {"individual": "1", "organisation": "2"}

#: Youngest age, in completed years, at which a person may register their own account at
#: ``/signup``. Decree 69/2024/NĐ-CP: from 14 a person registers themselves; a younger child's
#: account is made by a parent (docs/domain.md §2). Change only if the law changes.
SIGNUP_MINIMUM_AGE = 14

#: Failed sign-ins allowed per personal ID number within ``LOGIN_THROTTLE_WINDOW`` seconds (a
#: window starts at the first failure; counted in the hot store, keyed by a digest of the number).
LOGIN_THROTTLE_ATTEMPTS = 5
LOGIN_THROTTLE_WINDOW = 300
#: Failed sign-ins allowed from one client address (any ID numbers) within the same window:
#: stops one password being tried on many numbers. Raise it where many people share one address
#: (a commune office behind NAT); behind a reverse proxy set ``TRUSTED_PROXY_COUNT``.
LOGIN_THROTTLE_ATTEMPTS_PER_ADDRESS = 30

#: How long a person's sign-in history and data-sharing log are kept, seconds (default one year,
#: then pruned as new entries are written, and by ``prune-records``). Policy may lengthen it
#: for audits; see security.md.
ACTIVITY_RETENTION = 365 * 24 * 3600
#: How long ``prune-records`` keeps records of what already ended, in days: SSO sessions (and
#: their participants) after they ended or expired, logout deliveries after they were delivered
#: or gave up. Policy may lengthen it for audits.
RECORD_RETENTION_DAYS = 180

#: QR cross-device sign-in (docs/conformance.md §3c). Lifetime of a code shown on the desktop
#: sign-in page, seconds; at most 90 (docs/domain.md §6 asks for 60-120 s).
QR_LOGIN_LIFETIME = 90
#: Rate limits over ``QR_LOGIN_RATE_WINDOW`` seconds: codes one browser may be shown, codes one
#: IP address may be shown (offices behind one NAT address share it), and approvals or refusals
#: one person may make from their phone. Policy may tune them.
QR_LOGIN_RATE_WINDOW = 600
QR_LOGIN_MAX_PER_BROWSER = 20
QR_LOGIN_MAX_PER_IP = 200
QR_LOGIN_MAX_DECISIONS = 10
#: Approximate places shown on the phone for the desktop's IP address: ``[network, Vietnamese
#: label, English label]``, the most specific network wins; no external geolocation service.
#: Operators may add the province's own ranges (e.g. a commune office's public address).
QR_LOGIN_PLACES = [
    ["127.0.0.0/8", "máy này", "this machine"],
    ["::1/128", "máy này", "this machine"],
    ["10.0.0.0/8", "mạng nội bộ", "local network"],
    ["172.16.0.0/12", "mạng nội bộ", "local network"],
    ["192.168.0.0/16", "mạng nội bộ", "local network"],
    ["fc00::/7", "mạng nội bộ", "local network"],
]

#: Signing keys (docs/operations.md, "Keys"). ``rotate-keys`` publishes a new key pair in the
#: JWKS this many seconds before it starts signing, so relying parties that cache the JWKS hold
#: the new key before the first token signed with it reaches them. One day: the gateway's own
#: ``/jwks`` says ``max-age=300``, but agencies' libraries and hand-written caches often keep a
#: JWKS for hours, up to a day, and a day also leaves the operator time to check the new key.
#: ``rotate-keys --now`` skips the wait (a compromised key). Seconds; policy may lengthen it.
KEY_ROTATION_DELAY = 86400
#: A retired key stays in the JWKS for the longest lifetime of what it signed (ID, access and
#: logout tokens, and the SSO session, during which an ID token comes back as
#: ``id_token_hint``) plus this margin, seconds (late verifiers, clocks, lengthened lifetimes).
KEY_RETENTION_MARGIN = 3600
#: Key-encryption key(s) for the private signing keys in the database: Fernet keys (32 random
#: bytes, URL-safe base64; ``python -c "from cryptography.fernet import Fernet;
#: print(Fernet.generate_key().decode())"``), comma-separated. The first encrypts, all decrypt:
#: to change it put the new one first, run ``init-db`` (re-encrypts), then drop the old one.
#: Operators MUST set it (``GATEWAY_KEY_ENCRYPTION_KEY``) outside development and keep a copy
#: apart from the database backups. Development without one stores keys unencrypted, marked.
KEY_ENCRYPTION_KEY = None

#: Largest request body accepted, bytes.
MAX_CONTENT_LENGTH = 64 * 1024
#: Largest accepted value of a single authorization request parameter, characters.
MAX_PARAMETER_LENGTH = 2048

#: Argon2id parameters (OWASP: m=19 MiB, t=2, p=1).
ARGON2_MEMORY_COST = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1

WTF_CSRF_TIME_LIMIT = 3600
#: Flask-WTF's https check that a form's ``Referer`` is same-origin: off, because every page
#: sends ``Referrer-Policy: no-referrer`` (no form would ever pass it). The origin check that
#: replaces it (``Sec-Fetch-Site``, ``Origin``, ``Referer`` when sent: ``security.py``) runs
#: with the token check on every form. Not a setting to change.
WTF_CSRF_SSL_STRICT = False

#: Requests the provider makes to clients' URLs (``jwks_uri``, logout URIs): timeout in seconds,
#: largest response in bytes, and whether http on loopback is allowed (development and tests only).
OUTBOUND_TIMEOUT = 5
OUTBOUND_MAX_BYTES = 256 * 1024
OUTBOUND_ALLOW_LOOPBACK = False

#: Single logout (OpenID Connect Back-Channel Logout 1.0). Lifetime of a logout token, seconds
#: (signed afresh at each delivery attempt, so retries do not need a longer one).
LOGOUT_TOKEN_LIFETIME = 120
#: Attempts per back-channel delivery before it is marked ``failed``.
LOGOUT_DELIVERY_MAX_ATTEMPTS = 6
#: Seconds before the first retry; doubled after each further failure, up to the maximum
#: (defaults: 30 s, 1, 2, 4, 8 min: about a quarter of an hour in all).
LOGOUT_DELIVERY_BACKOFF = 30
LOGOUT_DELIVERY_BACKOFF_MAX = 3600
#: At sign-out the gateway tries the new deliveries once, inline, for at most this many seconds
#: in all (0: leave everything to the worker), each with this timeout in seconds; the
#: ``deliver-logouts`` worker retries the rest.
LOGOUT_DELIVERY_INLINE_BUDGET = 3
LOGOUT_DELIVERY_INLINE_TIMEOUT = 2
#: Seconds a worker holds a delivery it is attempting (another worker skips it meanwhile).
LOGOUT_DELIVERY_LEASE = 60
#: Seconds between polls of ``deliver-logouts --loop``.
LOGOUT_WORKER_INTERVAL = 5
#: Expired SSO sessions (absolute lifetime or idle timeout passed) are ended, and their clients
#: sent back-channel logouts, by a sweep that ``deliver-logouts``, ``end-expired-sessions`` and
#: ``prune-records`` run: sessions ended per batch (each ``deliver-logouts --loop`` poll sweeps
#: one batch; the others sweep until none is left). Rarely changed.
SSO_SESSION_SWEEP_BATCH = 100

#: Log lines: ``json`` (one JSON object per line: timestamp, level, logger, message, request_id,
#: and for the access log method, endpoint, status, duration_ms, remote_addr) or ``text``.
#: None (default) means ``json`` in production and ``text`` in development and tests.
#: Operators change it only if their log collector wants text.
LOG_FORMAT = None
#: Lowest level logged: ``DEBUG``, ``INFO`` (default: includes one access-log line per request),
#: ``WARNING``, ``ERROR`` or ``CRITICAL``. Authlib is never logged below ``INFO``.
LOG_LEVEL = "INFO"
#: Client networks allowed to read ``/metrics`` (Prometheus); everyone else gets 404. Default:
#: this machine only. Operators add their monitoring network (e.g. ``"10.20.0.0/24"``); behind
#: a load balancer the address is the one ``TRUSTED_PROXY_COUNT`` lets through.
METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


def load_environ(config: dict, environ=os.environ) -> None:
    """Apply ``GATEWAY_<KEY>`` environment variables (values parsed as JSON when they can be)."""
    for name, raw in environ.items():
        if not name.startswith("GATEWAY_") or name in {"GATEWAY_CONFIG"}:
            continue
        key = name[len("GATEWAY_"):]
        if key == "DATABASE_URL":
            key = "SQLALCHEMY_DATABASE_URI"
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        config[key] = value


def finish_config(config: dict, instance_path: str) -> None:
    """Fill values derived from others (development conveniences live only here)."""
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(instance_path, "gateway.db")
    if config.get("ENV") == "development":
        config.setdefault("ISSUER", None)
        if not config.get("ISSUER"):
            config["ISSUER"] = "http://127.0.0.1:5000"
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = secrets.token_urlsafe(32)
            config["SECRET_KEY_GENERATED"] = True
        if urlsplit(config["ISSUER"]).scheme == "http":
            config["SESSION_COOKIE_SECURE"] = False
        config["OUTBOUND_ALLOW_LOOPBACK"] = True
        if not config.get("PAIRWISE_SALT"):
            config["PAIRWISE_SALT"] = "development-pairwise-salt"
    if config.get("ISSUER"):
        config["ISSUER"] = config["ISSUER"].rstrip("/")
    if not config.get("LOG_FORMAT"):
        config["LOG_FORMAT"] = "text" if config.get("ENV") == "development" else "json"


class ConfigurationError(NoAppException):
    """The configuration is unsafe or incomplete for this environment.

    A ``NoAppException`` (click's usage error) so that ``flask --app gateway ...`` in a shell
    without settings prints one line saying what is missing, not a traceback."""

    def format_message(self) -> str:
        return (f"{self.message} (production settings are refused when incomplete; for a local "
                "instance set GATEWAY_ENV=development, see docs/configuration.md)")


def parse_key_encryption_keys(value) -> list[str]:
    """The Fernet keys of ``KEY_ENCRYPTION_KEY`` (a comma-separated string or a list), first
    one first; ``ConfigurationError`` naming the position of one that is not a Fernet key (never
    the value)."""
    from cryptography.fernet import Fernet

    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ConfigurationError("GATEWAY_KEY_ENCRYPTION_KEY must be comma-separated Fernet keys.")
    keys = [item.strip() for item in items if item.strip()]
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            raise ConfigurationError(
                f"GATEWAY_KEY_ENCRYPTION_KEY: key {position} is not a Fernet key (32 random "
                "bytes, URL-safe base64).") from None
    return keys


#: The ``RATELIMIT_*`` values Flask-Limiter records in the config of an app it was bound to
#: (``create_app(dict(app.config))`` for a second node passes them on).
_ratelimit_recorded = {"RATELIMIT_ENABLED": True}


def validate_config(config: dict) -> None:
    """Refuse to start with development-only values outside development."""
    issuer = config.get("ISSUER")
    if not issuer:
        raise ConfigurationError("GATEWAY_ISSUER is not set.")
    parts = urlsplit(issuer)
    if parts.query or parts.fragment or not parts.hostname:
        raise ConfigurationError("GATEWAY_ISSUER must be a URL without query or fragment.")
    lifetime = config.get("QR_LOGIN_LIFETIME")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 0 < lifetime <= 90:
        raise ConfigurationError("QR_LOGIN_LIFETIME must be 1 to 90 seconds.")
    for name in ("KEY_ROTATION_DELAY", "KEY_RETENTION_MARGIN"):
        value = config.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(f"{name} must be whole seconds, 0 or more.")
    key_encryption_keys = parse_key_encryption_keys(config.get("KEY_ENCRYPTION_KEY"))
    # Flask-Limiter would read them (disable the throttles, fall back to memory, add limits);
    # what it writes back into a started app's config, as set up in code, is accepted.
    ratelimit = sorted(name for name, value in config.items() if name.startswith("RATELIMIT_")
                       and _ratelimit_recorded.get(name, object()) != value)
    if ratelimit:
        raise ConfigurationError(
            f"{ratelimit[0]}: the rate limiter is set up in code (gateway/stores/limits.py); "
            "tune LOGIN_THROTTLE_* and QR_LOGIN_* instead.")
    try:
        networks = config.get("TRUSTED_PROXY_NETWORKS")
        if isinstance(networks, str) or not networks:
            raise TypeError(networks)
        for network in networks:
            ipaddress.ip_network(network, strict=False)
        int(config.get("TRUSTED_PROXY_COUNT") or 0)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError("TRUSTED_PROXY_NETWORKS must be a list of the reverse proxy's "
                                 "addresses or networks, e.g. [\"10.20.0.5\"], and "
                                 "TRUSTED_PROXY_COUNT a number.") from exc
    if config.get("ENV") == "development" or config.get("TESTING"):
        return
    if parts.scheme != "https":
        raise ConfigurationError("GATEWAY_ISSUER must be https outside development.")
    secret = config.get("SECRET_KEY") or ""
    if config.get("SECRET_KEY_GENERATED") or len(secret) < 32:
        raise ConfigurationError("GATEWAY_SECRET_KEY must be at least 32 random characters.")
    if not config.get("SESSION_COOKIE_SECURE"):
        raise ConfigurationError("Cookies must be Secure outside development.")
    salt = config.get("PAIRWISE_SALT") or ""
    if len(salt) < 16 or salt == "development-pairwise-salt":
        raise ConfigurationError("GATEWAY_PAIRWISE_SALT must be a secret of 16+ characters.")
    if config.get("OUTBOUND_ALLOW_LOOPBACK"):
        raise ConfigurationError("OUTBOUND_ALLOW_LOOPBACK is for development and tests only.")
    if not key_encryption_keys:
        raise ConfigurationError(
            "GATEWAY_KEY_ENCRYPTION_KEY is not set: the private signing keys must be encrypted "
            "in the database (docs/operations.md, \"Keys\").")

#: Number of reverse proxies in front of the gateway whose X-Forwarded-* headers are trusted.
#: 0 (default) trusts none. Operators behind a TLS-terminating proxy set it to 1.
TRUSTED_PROXY_COUNT = 0
#: Addresses (networks) of those proxies: X-Forwarded-* are believed only from a peer in one of
#: them (anyone else reaching gunicorn directly is seen as themselves). Default: this machine.
#: Operators whose proxy is elsewhere: its address, e.g. ``["10.20.0.5"]``; the same as
#: ``GUNICORN_FORWARDED_ALLOW_IPS``.
TRUSTED_PROXY_NETWORKS = ["127.0.0.1", "::1"]
