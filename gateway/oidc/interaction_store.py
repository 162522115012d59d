"""Pending authorization requests (interactions) in the hot store.

An authorization request that needs the person (sign-in, a second factor, acting for a business,
consent) waits here while a prompt's page answers it, then resumes through
``/authorize/resume/<uid>`` (``authorization.py``). It lives ``INTERACTION_LIFETIME`` seconds
from its creation, in the hot store (namespace ``interactions``, key the ``uid``): SQL by
default, Redis when configured, and never outlives that lifetime whatever the prompts record on
it. It is bound to the browser that made it (only the digest of the browser id is kept), so a
link to it is useless elsewhere.

Values in and out are :class:`PendingInteraction` dataclasses; every write is durable when it
returns (the hot store's own transaction) and never commits the caller's database session.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field

from flask import current_app

from ..clock import now
from ..stores.hot import get_hot_store
from .models import digest

NAMESPACE = "interactions"


@dataclass
class PendingInteraction:
    """An authorization request waiting for the person; the prompts' results are its fields."""

    uid: str
    browser_digest: str
    client_id: str
    #: The request parameters as a list of ``[name, value]`` pairs (repeats preserved).
    params: list = field(default_factory=list)
    created_at: int = 0
    expires_at: int = 0
    #: ``sid`` of the session created by signing in during this interaction.
    login_sid: str | None = None
    consent_given: bool = False
    denied: bool = False
    #: Whom the person acts for: None (not asked), ``self`` or a representation id.
    acting_for: str | None = None


def create_pending_authorization(*, browser_id: str, client_id: str, params: list) -> str:
    """Store a new pending request for this browser; its ``uid``."""
    uid = secrets.token_urlsafe(24)
    created = now()
    lifetime = current_app.config["INTERACTION_LIFETIME"]
    pending = PendingInteraction(uid=uid, browser_digest=digest(browser_id), client_id=client_id,
                                 params=[list(pair) for pair in params], created_at=created,
                                 expires_at=created + lifetime)
    get_hot_store().put(NAMESPACE, uid, dataclasses.asdict(pending), lifetime)
    return uid


def get_pending_authorization(uid: str | None, browser_id: str | None):
    """The pending request ``uid`` if it belongs to this browser and has not expired."""
    if not uid or not browser_id or not isinstance(uid, str) or len(uid) > 64:
        return None
    value = get_hot_store().get(NAMESPACE, uid)
    if not isinstance(value, dict):
        return None
    pending = PendingInteraction(**value)
    if not secrets.compare_digest(pending.browser_digest, digest(browser_id)):
        return None
    if now() >= pending.expires_at:
        return None
    return pending


def save_pending_authorization(pending: PendingInteraction) -> None:
    """Record what a prompt decided, for the rest of the request's lifetime (none left: the
    request is gone and resuming it answers "expired")."""
    left = pending.expires_at - now()
    if left < 1:
        get_hot_store().delete(NAMESPACE, pending.uid)
        return
    get_hot_store().put(NAMESPACE, pending.uid, dataclasses.asdict(pending), left)


def delete_pending_authorization(pending: PendingInteraction) -> None:
    """The request was answered (a code, or an error to the client): it cannot resume again."""
    get_hot_store().delete(NAMESPACE, pending.uid)
