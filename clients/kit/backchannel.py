"""Back-channel (and front-channel) logout at the relying party (OpenID Connect Back-Channel
Logout 1.0, Front-Channel Logout 1.0).

The gateway POSTs a ``logout_token`` to ``/backchannel-logout`` when a person's SSO session ends.
This module validates it as §2.6 requires (signature by the gateway's published keys, ``iss``,
``aud``, ``iat``, ``events``, ``sid`` or ``sub``, no ``nonce``, ``jti`` not seen before) and
records the ended session; every request of a browser whose sign-in belongs to an ended session
then finds itself signed out (``end_ended_sessions``).

The portal's own session lives in a signed cookie the server cannot reach, so what is kept
server-side is the other half: the ``sid``s (and, for a token without ``sid``, the ``sub`` and
the time) of ended sessions, in ``LogoutStore``. It lives in the process's memory, which suits
these single-process portals; a portal running several processes keeps it in a shared store
(Redis, its database) behind the same three methods.

``/frontchannel-logout`` is the front-channel counterpart, for a portal that registers it: the
gateway's signed-out page loads it in an iframe with ``iss`` and ``sid`` (§2 of that spec).
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

import requests
from flask import Blueprint, current_app, jsonify, request, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

log = logging.getLogger(__name__)

bp = Blueprint("backchannel", __name__)

#: §2.4: the one event a logout token carries.
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Algorithms the gateway signs with (its discovery lists them); never ``none``.
ALGORITHMS = ["RS256", "PS256", "ES256"]
#: Seconds of clock difference tolerated, and the oldest ``iat`` accepted (the gateway signs a
#: fresh token at every delivery attempt, so a logout token is never older than a few seconds).
LEEWAY = 60
MAX_AGE = 600
#: How long an ended session and a seen ``jti`` are remembered (a portal sign-in never lasts
#: longer than the gateway's SSO session, 8 hours by default).
REMEMBER_FOR = 24 * 3600
#: Most ended sessions kept at once (front-channel requests are anonymous).
MAX_ENDED_SESSIONS = 10_000
#: Seconds between forced key downloads: a token naming an unknown ``kid`` (anyone can send
#: one) must not make the portal fetch the gateway's JWKS on every request.
KEY_REFETCH_INTERVAL = 60


class LogoutTokenError(ValueError):
    """The logout token is not valid (§2.6); the message says why (safe to log)."""


class LogoutStore:
    """Ended sessions and seen ``jti`` values, in memory, forgotten after ``REMEMBER_FOR``."""

    def __init__(self, clock=time.time):
        self._lock = threading.Lock()
        self._clock = clock
        self._ended_sids: dict[str, float] = {}
        #: ``sub`` → the ``iat`` of the logout: sessions of that ``sub`` begun before it ended.
        self._ended_subs: dict[str, float] = {}
        self._jtis: dict[str, float] = {}
        self._keys_refetched_at = float("-inf")

    def allow_key_refetch(self) -> bool:
        """True at most once per ``KEY_REFETCH_INTERVAL`` seconds."""
        with self._lock:
            now = self._clock()
            if now - self._keys_refetched_at < KEY_REFETCH_INTERVAL:
                return False
            self._keys_refetched_at = now
            return True

    def _forget_old(self, now: float) -> None:
        for table in (self._ended_sids, self._ended_subs, self._jtis):
            for key in [k for k, at in table.items() if at < now - REMEMBER_FOR]:
                del table[key]

    def record_jti(self, jti: str) -> bool:
        """Remember ``jti``; False if it was seen already (a replay, §2.6 step 10)."""
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            if jti in self._jtis:
                return False
            self._jtis[jti] = now
            return True

    def end_session(self, *, sid: str | None, sub: str | None, at: float) -> None:
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            if len(self._ended_sids) >= MAX_ENDED_SESSIONS:
                # Front-channel requests are anonymous: never let them grow memory without end.
                del self._ended_sids[min(self._ended_sids, key=self._ended_sids.get)]
            if sid:
                self._ended_sids[sid] = self._clock()
            elif sub:
                self._ended_subs[sub] = max(at, self._ended_subs.get(sub, 0))

    def check_ended(self, *, sid: str | None, sub: str | None, signed_in_at: float) -> bool:
        with self._lock:
            if sid and sid in self._ended_sids:
                return True
            return bool(sub) and signed_in_at <= self._ended_subs.get(sub, -1)


def get_logout_store() -> LogoutStore:
    return current_app.extensions["portal.logout_store"]


def validate_logout_token(token: str, *, issuer: str, client_id: str, key_set: KeySet,
                          now: float) -> dict:
    """§2.6: the claims of a valid logout token, else ``LogoutTokenError``."""
    try:
        decoded = jwt.decode(token, key_set, algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError) as exc:
        raise LogoutTokenError(f"bad signature or format ({type(exc).__name__})") from exc
    typ = decoded.header.get("typ")
    if typ is not None and typ.lower() not in ("logout+jwt", "application/logout+jwt"):
        raise LogoutTokenError("typ is not logout+jwt")
    claims = decoded.claims
    # iss, aud, iat, exp and jti (presence, types, values, times) by joserfc; then §2.4's own.
    registry = jwt.JWTClaimsRegistry(
        now=int(now), leeway=LEEWAY,
        iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
        iat={"essential": True}, jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise LogoutTokenError(f"claims refused ({exc.error}: {exc.description})") from exc
    if claims["iat"] < now - MAX_AGE:
        raise LogoutTokenError("iat too old")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise LogoutTokenError("no back-channel logout event")
    if not claims.get("sid") and not claims.get("sub"):
        raise LogoutTokenError("neither sid nor sub")
    if not all(isinstance(claims.get(name, ""), str) for name in ("sid", "sub")):
        raise LogoutTokenError("sid and sub must be strings")
    if "nonce" in claims:
        raise LogoutTokenError("a nonce is forbidden (an ID token?)")
    return dict(claims)


def _key_set(gateway, token: str) -> KeySet:
    """The gateway's published keys, fetched again if the token names an unknown ``kid`` (the
    gateway rotated its keys), at most once per ``KEY_REFETCH_INTERVAL``."""
    key_set = KeySet.import_key_set(gateway.fetch_jwk_set())
    try:
        kid = extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError):
        return key_set
    if (kid and all(key.kid != kid for key in key_set.keys)
            and get_logout_store().allow_key_refetch()):
        key_set = KeySet.import_key_set(gateway.fetch_jwk_set(force=True))
    return key_set


@bp.post("/backchannel-logout")
def backchannel_logout():
    """§2.5, §2.8: 200 when the token is valid (and the session is ended), else 400."""
    from .views import get_gateway, get_settings

    token = request.form.get("logout_token")
    if not token or request.mimetype != "application/x-www-form-urlencoded":
        return _refuse("logout_token missing")
    gateway = get_gateway()
    try:
        metadata = gateway.load_server_metadata()
        claims = validate_logout_token(
            token, issuer=metadata.get("issuer"), client_id=get_settings().client_id,
            key_set=_key_set(gateway, token), now=time.time(),
        )
    except LogoutTokenError as exc:
        return _refuse(str(exc))
    except requests.RequestException as exc:
        log.warning("gateway keys unreachable at back-channel logout: %s", type(exc).__name__)
        return _refuse("gateway keys unreachable", 503)
    store = get_logout_store()
    if not store.record_jti(claims["jti"]):
        return _refuse("jti replayed")
    store.end_session(sid=claims.get("sid"), sub=claims.get("sub"), at=claims["iat"])
    log.info("back-channel logout accepted")
    response = jsonify({})
    response.headers["Cache-Control"] = "no-store"
    return response


def _refuse(reason: str, status: int = 400):
    log.info("back-channel logout refused: %s", reason)
    response = jsonify({"error": "invalid_request", "error_description": reason})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/frontchannel-logout")
def frontchannel_logout():
    """Front-Channel Logout 1.0 §2: with ``iss`` (the gateway) and ``sid``, end that session,
    whichever browser holds it; without them, end this browser's session (its cookie comes
    along when the frame is same-site, as in the demo). Framable by the gateway only."""
    from .views import get_settings

    settings = get_settings()
    iss, sid = request.args.get("iss"), request.args.get("sid")
    if iss is not None or sid is not None:
        if iss != settings.issuer or not sid or len(sid) > 128:
            return _frame_response("", 400, settings.issuer)
        get_logout_store().end_session(sid=sid, sub=None, at=time.time())
        claims = session.get("claims") or {}
        if claims.get("sid") == sid:
            _clear_session()
    else:
        _clear_session()
    log.info("front-channel logout accepted")
    return _frame_response("signed out", 200, settings.issuer)


def _frame_response(body: str, status: int, issuer: str):
    parts = urlsplit(issuer)
    response = current_app.response_class(body, status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; frame-ancestors {parts.scheme}://{parts.netloc}"
    )
    return response


def _clear_session() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def end_ended_sessions() -> None:
    """Before every request: a sign-in whose gateway session has ended is over here too."""
    claims = session.get("claims")
    if not claims:
        return
    if get_logout_store().check_ended(sid=claims.get("sid"), sub=claims.get("sub"),
                                      signed_in_at=session.get("signed_in_at", 0)):
        _clear_session()


def init_app(app) -> None:
    app.extensions["portal.logout_store"] = LogoutStore()
    app.register_blueprint(bp)
    app.before_request(end_ended_sessions)
