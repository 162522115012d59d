"""Fixtures and factories shared by every test: ``app``, ``client``, ``runner``, ``clock``,
citizens and relying parties, and ``rp`` (a minimal relying party driving the real HTTP surface
of the in-process app)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway import create_app
from gateway.clock import FrozenClock
from gateway.extensions import db

ISSUER = "http://localhost"
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
PASSWORD = "Correct-Horse-9"
#: The tests' key-encryption key (a Fernet key: 32 bytes, URL-safe base64).
TEST_KEY_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"test-key-encryption-key-32-bytes").decode()


@pytest.fixture
def clock():
    return FrozenClock(1_800_000_000)


def build_app(database_uri: str, clock: FrozenClock, *, tables: bool = True):
    """The gateway on ``database_uri`` with fresh tables and signing keys (``tables=False``:
    an empty database, for the migration tests); disposed afterwards.

    Shared by the SQLite ``app`` fixture, the PostgreSQL tests (tests/test_postgresql.py) and
    tests/test_migrations.py."""
    app = create_app({
        "TESTING": True,
        "ENV": "development",
        "ISSUER": ISSUER,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "CLOCK": clock,
        "SESSION_COOKIE_SECURE": False,
        "KEY_ENCRYPTION_KEY": TEST_KEY_ENCRYPTION_KEY,
    })
    if tables:
        with app.app_context():
            from gateway import models  # noqa: F401
            from gateway.oidc.keys import create_signing_keys

            db.create_all()
            create_signing_keys()
            db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def create_postgresql_database(prefix: str):
    """Yield the URL of a new PostgreSQL database on 127.0.0.1:5432 (trust auth), dropped
    afterwards; skip the test, saying why, where psycopg or the server is absent."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc.__class__.__name__})")
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def app(tmp_path, clock):
    yield from build_app(f"sqlite:///{tmp_path / 'test.db'}", clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Factory:
    def __init__(self, app):
        self.app = app
        self._n = 0

    def citizen(self, **overrides):
        """A citizen with ``password`` (hashed here: ``create_citizen`` takes the hash)."""
        from gateway.accounts.passwords import hash_password
        from gateway.identity.services import create_citizen

        self._n += 1
        data = dict(
            personal_id=f"0860900{self._n:05d}", family_name="Nguyễn", middle_name="Văn",
            given_name=f"An{self._n}", birthdate=date(1990, 1, 1), gender="male",
            password=PASSWORD, email=f"an{self._n}@example.vn", email_verified=True,
            phone_number="+84901234567", street_address="1 Đường 2 Tháng 9",
            locality="Phường Long Châu", region="Tỉnh Vĩnh Long",
        )
        data.update(overrides)
        with self.app.app_context():
            citizen = create_citizen(**{k: v for k, v in data.items() if k != "password"},
                                     password_hash=hash_password(data["password"]))
            db.session.commit()
            return {"id": citizen.id, "personal_id": citizen.personal_id,
                    "password": data["password"], "subject": citizen.subject,
                    "name": citizen.full_name}

    def oauth_client(self, **overrides):
        from gateway.oidc.registry import create_client

        self._n += 1
        data = dict(
            client_name=f"Agency app {self._n}",
            redirect_uris=[f"https://rp{self._n}.example.vn/callback"],
            post_logout_redirect_uris=[f"https://rp{self._n}.example.vn/bye"],
            token_endpoint_auth_method="client_secret_basic",
            scope="openid profile email phone address personal_id",
        )
        data.update(overrides)
        with self.app.app_context():
            registration = create_client(**data)
            db.session.commit()
            client, secret = registration.client, registration.client_secret
            return {"client_id": client.client_id, "client_secret": secret,
                    "redirect_uri": data["redirect_uris"][0],
                    "post_logout_redirect_uri": (data["post_logout_redirect_uris"] or [None])[0],
                    "auth_method": data["token_endpoint_auth_method"]}


@pytest.fixture
def factory(app):
    return Factory(app)


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class RelyingParty:
    """Drives the provider's real endpoints the way a relying party and a browser would."""

    def __init__(self, client, registration, citizen=None):
        self.http = client
        self.reg = registration
        self.citizen = citizen
        self.verifier = None

    def authorize_params(self, **extra):
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code", "client_id": self.reg["client_id"],
            "redirect_uri": self.reg["redirect_uri"], "scope": "openid profile",
            "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge, "code_challenge_method": "S256",
        }
        params.update(extra)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, method="GET", **extra):
        params = self.authorize_params(**extra)
        if method == "GET":
            response = self.http.get("/authorize", query_string=params)
        else:
            response = self.http.post("/authorize", data=params)
        return params, response

    def login(self, location, citizen=None, password=None):
        citizen = citizen or self.citizen
        page = self.http.get(location)
        assert page.status_code == 200, page.get_data(as_text=True)
        token = _csrf(page.get_data(as_text=True))
        return self.http.post(location, data={
            "csrf_token": token, "personal_id": citizen["personal_id"],
            "password": password or citizen["password"],
        })

    def consent(self, location, decision="allow"):
        page = self.http.get(location)
        assert page.status_code == 200
        token = _csrf(page.get_data(as_text=True))
        return self.http.post(location, data={"csrf_token": token, "decision": decision})

    def follow_to_callback(self, response, max_hops=8):
        """Follow gateway redirects (sign-in and consent answered) until the client's redirect."""
        for _ in range(max_hops):
            assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
            location = response.headers["Location"]
            if location.startswith(self.reg["redirect_uri"]):
                return query_of(location)
            path = urlsplit(location).path
            if path == "/login":
                response = self.login(location)
            elif path == "/consent":
                response = self.consent(location)
            else:
                response = self.http.get(location)
        raise AssertionError("too many redirects")

    def code_flow(self, method="GET", **extra):
        params, response = self.authorize(method, **extra)
        result = self.follow_to_callback(response)
        assert result.get("state") == params["state"], result
        return params, result

    def token(self, code, verifier=None, **extra):
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.reg["redirect_uri"],
                "code_verifier": verifier or self.verifier}
        data.update(extra)
        data = {k: v for k, v in data.items() if v is not None}
        headers = {}
        method = self.reg["auth_method"]
        if method == "client_secret_basic":
            raw = f"{self.reg['client_id']}:{self.reg['client_secret']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif method == "client_secret_post":
            data.update(client_id=self.reg["client_id"], client_secret=self.reg["client_secret"])
        else:
            data["client_id"] = self.reg["client_id"]
        return self.http.post("/token", data=data, headers=headers)

    def sign_in_and_get_tokens(self, **extra):
        params, result = self.code_flow(**extra)
        response = self.token(result["code"])
        assert response.status_code == 200, response.get_json()
        return params, response.get_json()


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" type="hidden" value="'
    if marker not in html:
        marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


@pytest.fixture
def rp(client, factory):
    """A registered confidential relying party and a citizen to sign in."""
    return RelyingParty(client, factory.oauth_client(), factory.citizen())


@pytest.fixture
def jwks(client):
    from joserfc.jwk import KeySet

    return KeySet.import_key_set(client.get("/jwks").get_json())


@pytest.fixture(scope="session")
def _signing_key_pool():
    return {"RSA": [], "EC": []}


@pytest.fixture
def fast_signing_keys(monkeypatch, _signing_key_pool):
    """Reuse generated signing keys across tests: RSA generation dominated app set-up.

    Within one test the n-th key generated is still a new, distinct key (rotation keeps
    working); across tests the n-th keys are the same. Opt in with an autouse fixture."""
    from gateway.oidc import keys

    generate_new = keys._generate
    used = {"RSA": 0, "EC": 0}

    def generate(kty):
        pool = _signing_key_pool[kty]
        if used[kty] == len(pool):
            pool.append(generate_new(kty))
        used[kty] += 1
        return pool[used[kty] - 1]

    monkeypatch.setattr(keys, "_generate", generate)


@pytest.fixture
def fast_sqlite():
    """SQLite without fsync (``synchronous=OFF``, journal in memory) for this test's engines.

    Commits dominated the in-process suite's time on a busy disk; durability is irrelevant for
    a throw-away test database, and the SQL semantics are unchanged. Opt in with an autouse
    fixture."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def set_pragmas(dbapi_connection, connection_record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")
            cursor.close()

    event.listen(Engine, "connect", set_pragmas)
    yield
    event.remove(Engine, "connect", set_pragmas)


@pytest.fixture(scope="session")
def _password_hash_cache():
    return {}


@pytest.fixture
def fast_password_hashing(monkeypatch, _password_hash_cache):
    """Enrol citizens with a cached argon2id hash per password (a real hash at the real
    parameters, computed once per session); verification still runs argon2 every time."""
    from gateway.accounts import passwords

    hash_new = passwords.hash_password

    def hash_password(password):
        if password not in _password_hash_cache:
            _password_hash_cache[password] = hash_new(password)
        return _password_hash_cache[password]

    monkeypatch.setattr(passwords, "hash_password", hash_password)
