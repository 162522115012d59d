"""Single logout: when an SSO session ends, every client that received tokens in it is told.

- OpenID Connect Back-Channel Logout 1.0: a logout token (§2.4) per participating client with a
  ``backchannel_logout_uri``, POSTed from the server (§2.5), queued as ``LogoutDelivery`` rows
  and retried with exponential backoff until delivered or ``failed`` (§2.8: the OP should retry).
- OpenID Connect Front-Channel Logout 1.0: the URLs (with ``iss`` and ``sid`` when the client
  asked for them, §2) that the logged-out page loads in hidden iframes.

Participants are recorded when a client receives tokens (``record_participant``). Views call
``end_sso_session`` and nothing else: it ends the session, queues the logout tokens, tries the
due ones once inline within a short time budget, and returns the front-channel URLs. Sessions
that run out (absolute lifetime, idle timeout) are ended the same way by the sweep,
``end_expired_sessions``, which the ``deliver-logouts`` worker runs before each poll (and
``end-expired-sessions`` and ``prune-records``); the worker delivers and retries the rest.
"""

from __future__ import annotations

import secrets
import time

from authlib.common.urls import add_params_to_uri
from flask import current_app
from joserfc import jwt

from ..clock import now
from ..observability import metrics
from . import keys, logout_outbox, outbound, session_store, storage
from .claims import get_subject
from .ports import get_ports

#: Back-Channel Logout §2.4: the one event a logout token carries.
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: §2.4: the ``typ`` header that tells a logout token from an ID token.
LOGOUT_TOKEN_TYPE = "logout+jwt"


def record_participant(sid: str | None, client_id: str, citizen_id: int | None) -> None:
    """Called when ``client_id`` receives tokens in SSO session ``sid``."""
    storage.record_session_participant(sid, client_id, citizen_id)


#: Why a session ended, kept with each delivery (``LogoutDelivery.claims["reason"]``, not a claim
#: of the logout token): a person or client ended it, or it ran out (absolute lifetime, idle).
REASON_LOGOUT = "logout"
REASON_EXPIRED = "expired"
REASON_IDLE = "idle"


def end_sso_session(user_session, *, deliver_inline: bool = True) -> list[str]:
    """End ``user_session`` (revoking its tokens) and log its clients out.

    Queues one back-channel logout per participating client that registered a
    ``backchannel_logout_uri``, then, when ``deliver_inline``, tries those deliveries once
    within ``LOGOUT_DELIVERY_INLINE_BUDGET`` seconds (the worker retries what is left).
    Returns the front-channel logout URLs for the logged-out page to load. Safe to call for a
    session that has already ended, or that another request is ending (nothing is sent twice).
    """
    ended, frontchannel = _end_session(user_session, reason=REASON_LOGOUT)
    if ended and deliver_inline:
        budget = current_app.config["LOGOUT_DELIVERY_INLINE_BUDGET"]
        if budget > 0:
            ids = [d.id for d in logout_outbox.get_logout_deliveries_for_session(user_session.sid)]
            if ids:
                deliver_due_logouts(
                    ids=ids, timeout=current_app.config["LOGOUT_DELIVERY_INLINE_TIMEOUT"],
                    budget=budget,
                )
    return frontchannel


def end_expired_sessions(*, batch_size: int | None = None,
                         max_batches: int | None = None) -> dict:
    """The sweep: end every session not ended whose absolute lifetime (``SSO_SESSION_LIFETIME``)
    or idle timeout (``SSO_SESSION_IDLE_TIMEOUT``) has passed, exactly as a sign-out does
    (``_end_session``: tokens revoked, back-channel logouts queued for the worker), in batches of
    ``batch_size`` (default ``SSO_SESSION_SWEEP_BATCH``), at most ``max_batches`` of them.
    Nobody's browser is there, so no front-channel logout. Any number of sweepers may run at
    once: each session is ended, and its clients queued, by one of them only.

    Returns ``{"expired": n, "idle": n, "more": bool}``: sessions this call ended by reason, and
    whether it stopped at ``max_batches`` with a full last batch (more may be left)."""
    batch_size = batch_size or current_app.config["SSO_SESSION_SWEEP_BATCH"]
    counts = {REASON_EXPIRED: 0, REASON_IDLE: 0, "more": False}
    batches = 0
    while max_batches is None or batches < max_batches:
        found = session_store.get_expired_user_sessions(batch_size)
        batches += 1
        for user_session in found:
            reason = REASON_EXPIRED if now() >= user_session.expires_at else REASON_IDLE
            ended, _ = _end_session(user_session, reason=reason, only_if_expired=True)
            if ended:
                counts[reason] += 1
        if len(found) < batch_size:
            break
    else:
        counts["more"] = True
    return counts  # the commands print it


def _end_session(user_session, *, reason: str,
                 only_if_expired: bool = False) -> tuple[bool, list[str]]:
    """The one ending of a session (``session_store`` explains the order): the cookie's handle
    goes; then the ending is claimed (a ``SessionEnding`` row), the session's tokens revoked and
    a back-channel logout queued per participant with a ``backchannel_logout_uri``, all in one
    commit, and nothing at all when another request or worker claimed it first; then the
    session leaves the hot store. ``only_if_expired`` (the sweep): only if it has run out, read
    afresh. Returns ``(ended, front-channel URLs)``."""
    ended_at = None
    if only_if_expired:
        fresh = session_store.get_user_session_by_sid(user_session.sid)
        if fresh is not None and session_store.is_live(fresh):
            return False, []  # used again since it was found: it stays, due later
        ended_at = session_store.due_at(fresh or user_session)  # when it ran out
    session_store.sign_out_handle(user_session)
    try:
        if not session_store.claim_ending(user_session, reason=reason, ended_at=ended_at):
            storage.rollback()
            session_store.forget_user_session(user_session)  # the winner's last step, again
            return False, []
        frontchannel: list[str] = []
        accounts = {}
        for participant in storage.get_session_participants(user_session.sid):
            client = storage.get_client(participant.client_id)
            if client is None:
                continue
            metadata = client.client_metadata
            if metadata.get("backchannel_logout_uri"):
                citizen_id = user_session.citizen_id or participant.citizen_id
                if citizen_id not in accounts:
                    accounts[citizen_id] = get_ports().accounts.find_account(citizen_id)
                logout_outbox.add_logout_delivery(
                    client_id=client.client_id, uri=metadata["backchannel_logout_uri"],
                    sid=user_session.sid,
                    claims={"aud": client.client_id,
                            "sub": get_subject(accounts[citizen_id], client),
                            "sid": user_session.sid, "reason": reason},
                )
            if metadata.get("frontchannel_logout_uri"):
                frontchannel.append(create_frontchannel_logout_url(client, user_session.sid))
        storage.commit()  # the ending, the revoked tokens and the queued deliveries together
    except BaseException:
        storage.rollback()
        raise
    session_store.forget_user_session(user_session)
    return True, frontchannel


def create_frontchannel_logout_url(client, sid: str) -> str:
    """Front-Channel Logout §2: the client's ``frontchannel_logout_uri``, with ``iss`` and
    ``sid`` when it registered ``frontchannel_logout_session_required``."""
    metadata = client.client_metadata
    uri = metadata["frontchannel_logout_uri"]
    if metadata.get("frontchannel_logout_session_required"):
        uri = add_params_to_uri(uri, [("iss", current_app.config["ISSUER"]), ("sid", sid)])
    return uri


def create_logout_token(claims: dict) -> str:
    """Back-Channel Logout §2.4: a JWT signed with the key the client's ID tokens use, typed
    ``logout+jwt``, with ``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``events``, ``sub`` and
    ``sid``, and never a ``nonce`` (§2.4 forbids it, so it cannot pass for an ID token)."""
    client = storage.get_client(claims["aud"])
    alg = client.id_token_signed_response_alg if client is not None else "RS256"
    key = keys.get_signing_key(alg)
    issued = now()
    payload = {
        "iss": current_app.config["ISSUER"],
        "aud": claims["aud"],
        "iat": issued,
        "exp": issued + current_app.config["LOGOUT_TOKEN_LIFETIME"],
        "jti": secrets.token_urlsafe(24),
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    for name in ("sub", "sid"):
        if claims.get(name):
            payload[name] = claims[name]
    header = {"alg": alg, "kid": key.kid, "typ": LOGOUT_TOKEN_TYPE}
    return jwt.encode(header, payload, key, [alg])


def get_retry_delay(attempts: int) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling from
    ``LOGOUT_DELIVERY_BACKOFF``, at most ``LOGOUT_DELIVERY_BACKOFF_MAX``."""
    config = current_app.config
    return min(config["LOGOUT_DELIVERY_BACKOFF"] * 2 ** (attempts - 1),
               config["LOGOUT_DELIVERY_BACKOFF_MAX"])


def deliver(delivery, *, timeout: float | None = None) -> bool:
    """One attempt (§2.5): POST ``logout_token`` form-encoded through the guarded outbound
    client. 200 or 204 is delivered (§2.8); anything else, or no answer, is retried later or,
    after ``LOGOUT_DELIVERY_MAX_ATTEMPTS``, ``failed``. Returns True when delivered."""
    status_code = None
    error = None
    try:
        response = outbound.post_form(
            delivery.uri, {"logout_token": create_logout_token(delivery.claims)}, timeout=timeout
        )
        status_code = response.status
        if status_code not in (200, 204):
            error = f"HTTP {status_code}"
    except outbound.OutboundError as exc:
        error = str(exc)
    delivered = error is None
    attempts = delivery.attempts + 1
    next_attempt_at = None
    if not delivered and attempts < current_app.config["LOGOUT_DELIVERY_MAX_ATTEMPTS"]:
        next_attempt_at = now() + get_retry_delay(attempts)
    current_app.logger.info(
        "back-channel logout %s to client %s: attempt %d, %s", delivery.id, delivery.client_id,
        attempts, "delivered" if delivered else error,
    )
    logout_outbox.record_logout_attempt(delivery, status_code=status_code, error=error,
                                        delivered=delivered, next_attempt_at=next_attempt_at)
    storage.commit()
    metrics.count_logout_delivery("delivered" if delivered else
                                  "retry" if next_attempt_at is not None else "failed")
    return delivered


def deliver_due_logouts(*, ids: list[int] | None = None, limit: int = 100,
                        timeout: float | None = None, budget: float | None = None) -> dict:
    """Attempt every due pending delivery once (or only those in ``ids``), oldest first,
    stopping when ``budget`` seconds have passed. Returns counts by outcome."""
    started = time.monotonic()
    counts = {"delivered": 0, "retry": 0, "failed": 0, "skipped": 0}
    lease = current_app.config["LOGOUT_DELIVERY_LEASE"]
    for delivery in logout_outbox.get_due_logout_deliveries(limit, ids):
        attempt_timeout = timeout
        if budget is not None:
            remaining = budget - (time.monotonic() - started)
            if remaining < 0.1:
                counts["skipped"] += 1  # left for the worker
                continue
            attempt_timeout = min(timeout or remaining, remaining)
        claimed = logout_outbox.claim_logout_delivery(delivery, lease)
        storage.commit()  # the claim holds while the attempt runs
        if not claimed:
            counts["skipped"] += 1  # another worker has it
            continue
        deliver(delivery, timeout=attempt_timeout)
        counts[{"delivered": "delivered", "failed": "failed"}.get(delivery.status, "retry")] += 1
    return counts
