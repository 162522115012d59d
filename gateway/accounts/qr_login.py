"""QR cross-device sign-in: a phone that is signed in confirms a sign-in on a computer.

The rules of docs/conformance.md §3c (draft-ietf-oauth-cross-device-security) and
docs/domain.md §6, and where each is enforced:

* **Bound to the initiating browser**: a code belongs to one pending authorization request and to
  the desktop's ``browser_id`` (signed Flask session); status and completion look it up by both,
  so a confirmed code cannot sign in another browser.
* **Short-lived, single use**: ``QR_LOGIN_LIFETIME`` (≤ 90 s); every status change is a
  compare-and-set in the storage seam (pending → scanned → approved/denied → consumed); a newer
  code on the same page cancels the older one.
* **Context before confirmation**: the phone shows the agency (``client_name``), the desktop's IP
  address and approximate place (``QR_LOGIN_PLACES``, no external service), its browser and time.
* **Only the phone that scanned it decides**: the first signed-in phone session to open the code
  claims it; another device gets a refusal.
* **Rate limits**: codes per browser and per IP address, decisions per person
  (``QR_LOGIN_MAX_*`` over ``QR_LOGIN_RATE_WINDOW``): fixed windows of the gateway's
  Flask-Limiter extension, counted in the hot store (``gateway.stores.limits``), the browser id
  in keys only as a keyed digest. Codes are counted in ``create_offer`` (the sign-in page still
  shows the password form when refused); decisions by ``limiter.shared_limit`` on the phone's
  ``POST`` (``qr_views``: refused with 429 before anything is decided; only a decision made
  counts).

Assurance: the desktop session's ``amr`` is ``mca`` (RFC 8176, multiple-channel) plus the phone
session's own methods. Its ``acr`` is the lowest of what those methods reach
(``get_session_acr``), the phone session's ``acr``, and ``SSO_REUSE_MAX_ACR``: confirming on the
phone reuses the phone's session, which is what single sign-on does, so it is capped the same way.
A request for a higher level then steps up with the second factor on the computer.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, request, session
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..clock import now
from ..extensions import db
from ..identity.models import Citizen
from ..oidc import storage
from ..oidc.assurance import acr_rank
from ..stores.limits import client_address, key_digest, limit, limiter, per_window
from . import qr_store
from .assurance import get_session_acr
from .browser import current_user_session, get_browser_id, start_user_session
from .totp import create_qr_data_uri

#: Path of the phone page; the QR encodes ``ISSUER + PHONE_PATH + code``.
PHONE_PATH = "/m/qr/"
#: Seconds after expiry during which a code approved in time can still be completed (the desktop
#: polls every 2 s, so an approval in the last second still signs in).
COMPLETION_GRACE = 15
#: How often the desktop page asks for the status, milliseconds.
POLL_INTERVAL_MS = 2000
_RETURN_KEY = "qr_return"


class QrLoginError(Exception):
    """A refusal with the HTTP status and the message people see."""

    status = 400
    message = _l("This QR code cannot be used.")


class QrUnknown(QrLoginError):
    status = 404
    message = _l("This QR code is not valid. Scan the code shown on the computer's sign-in page.")


class QrExpired(QrLoginError):
    status = 410
    message = _l("This QR code has expired. Get a new code on the computer and scan it again.")


class QrUsed(QrLoginError):
    status = 409
    message = _l("This QR code has already been used. Get a new code on the computer.")


class QrOtherDevice(QrLoginError):
    status = 409
    message = _l("This QR code was already scanned on another device.")


class QrNotApproved(QrLoginError):
    status = 409
    message = _l("The sign-in has not been confirmed on the phone.")


class QrRateLimited(QrLoginError):
    status = 429
    message = _l("Too many QR sign-ins in a short time. Wait a few minutes and try again.")


@dataclass
class QrOffer:
    """What the desktop sign-in page shows: the code's URL and image, or why there is none."""

    url: str | None = None
    image: str | None = None
    expires_in: int = 0
    error: str | None = None
    poll_ms: int = POLL_INTERVAL_MS


def _config(key: str):
    return current_app.config[key]


def create_offer(pending) -> QrOffer | None:
    """A fresh code for this browser's pending request (None without one)."""
    if pending is None:
        return None
    browser_id, ip_address = get_browser_id(), client_address()
    window = _config("QR_LOGIN_RATE_WINDOW")
    limits = [(limit(_config("QR_LOGIN_MAX_PER_BROWSER"), window),
               ("qr-codes-browser", key_digest(browser_id)))]
    if ip_address:
        limits.append((limit(_config("QR_LOGIN_MAX_PER_IP"), window),
                       ("qr-codes-address", ip_address)))
    # Test first (a refused request counts nothing), then count: a race past the test loses.
    strategy = limiter.limiter
    if (not all(strategy.test(item, *ids) for item, ids in limits)
            or not all([strategy.hit(item, *ids) for item, ids in limits])):
        return QrOffer(error=str(_l(
            "Too many QR codes were requested from here. Sign in with your password, "
            "or wait a few minutes.")))
    code = secrets.token_urlsafe(24)  # 192 bits
    lifetime = _config("QR_LOGIN_LIFETIME")
    qr_store.create_qr_login(
        code=code, pending_uid=pending.uid, browser_id=browser_id, client_id=pending.client_id,
        ip_address=ip_address, user_agent=request.user_agent.string, lifetime=lifetime,
    )
    url = _config("ISSUER") + PHONE_PATH + code
    return QrOffer(url=url, image=create_qr_data_uri(url), expires_in=lifetime)


def get_effective_status(record) -> str:
    """The stored status, with time applied: a live code past its expiry is ``expired``."""
    current = now()
    if record.status in qr_store.QR_LIVE and current >= record.expires_at:
        return "expired"
    if record.status == "approved" and current >= record.expires_at + COMPLETION_GRACE:
        return "expired"
    return record.status


_STATUS_MESSAGES = {
    "pending": _l("Waiting for confirmation on your phone…"),
    "scanned": _l("Code scanned. Confirm the sign-in on your phone…"),
    "approved": _l("Confirmed on your phone. Signing you in…"),
    "denied": _l("The sign-in was refused on the phone. You can sign in with your password."),
    "expired": _l("The code has expired."),
    "consumed": _l("This code has already been used."),
    "cancelled": _l("A newer code was shown on this page."),
    "unknown": _l("There is no QR code for this sign-in on this browser."),
}


def get_desktop_status(pending) -> dict:
    """The status the desktop page polls; only the browser that shows the code sees it."""
    record = qr_store.get_current_qr_login(pending.uid, get_browser_id()) if pending else None
    status = get_effective_status(record) if record is not None else "unknown"
    expires_in = max(0, record.expires_at - now()) if record is not None else 0
    return {"status": status, "message": str(_STATUS_MESSAGES[status]), "expires_in": expires_in}


def _find_live(code: str, user_session):
    """The code's record if this phone session may still decide on it; raises otherwise."""
    record = qr_store.get_qr_login(code)
    if record is None:
        raise QrUnknown()
    status = get_effective_status(record)
    if status == "expired" or status == "cancelled":
        raise QrExpired()
    if status not in qr_store.QR_LIVE:
        raise QrUsed()
    if status == "scanned" and record.phone_sid != user_session.sid:
        raise QrOtherDevice()
    return record


def open_on_phone(code: str, user_session):
    """The phone opened the code's URL while signed in: claim it for this phone session."""
    record = _find_live(code, user_session)
    if record.status == "pending" and not qr_store.mark_qr_login_scanned(
            record, phone_sid=user_session.sid):
        record = _find_live(code, user_session)  # another request won the race: explain why
    return record


def decisions_per_window() -> str:
    """The limit on decisions per person, as a Flask-Limiter limit string."""
    return per_window(_config("QR_LOGIN_MAX_DECISIONS"), _config("QR_LOGIN_RATE_WINDOW"))


def decider() -> str | None:
    """Whose decisions a phone's request counts against: the citizen of its session."""
    user_session = current_user_session()
    return str(user_session.citizen_id) if user_session is not None else None


def decide_on_phone(code: str, user_session, approve: bool):
    """Approve (binding the code to the phone's citizen) or refuse. Rate-limited per person
    around the phone's request (``qr_views.decisions_limit``: :func:`decisions_per_window`
    keyed by :func:`decider`)."""
    citizen_id = user_session.citizen_id
    record = open_on_phone(code, user_session)
    if not qr_store.decide_qr_login(record, phone_sid=user_session.sid, citizen_id=citizen_id,
                                   approve=approve, acr=user_session.acr,
                                   amr=list(user_session.amr or [])):
        _find_live(code, user_session)
        raise QrUsed()
    return record


def get_desktop_assurance(citizen, phone_acr: str, phone_amr: list[str]) -> tuple[str, list]:
    """``acr`` and ``amr`` of the desktop session (see the module docstring for why)."""
    amr = sorted({"mca", *phone_amr})
    levels = [get_session_acr(citizen, amr), phone_acr, _config("SSO_REUSE_MAX_ACR")]
    return min(levels, key=acr_rank), amr


def complete_on_desktop(pending):
    """Start the desktop's SSO session for the citizen who approved this browser's code."""
    record = qr_store.get_current_qr_login(pending.uid, get_browser_id())
    if record is None:
        raise QrUnknown()
    status = get_effective_status(record)
    if status == "expired":
        raise QrExpired()
    if status != "approved":
        raise QrUsed() if status in ("consumed", "cancelled") else QrNotApproved()
    citizen = db.session.scalar(select(Citizen).where(Citizen.id == record.citizen_id))
    if citizen is None or not qr_store.consume_qr_login(record):
        raise QrUsed()
    acr, amr = get_desktop_assurance(citizen, record.phone_acr, record.phone_amr or [])
    return start_user_session(citizen, acr=acr, amr=amr)


def describe_place(ip_address: str | None) -> str | None:
    """An approximate place for an IP address from ``QR_LOGIN_PLACES`` (most specific wins)."""
    try:
        address = ipaddress.ip_address(ip_address or "")
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    english = str(get_locale()) == "en"
    best = None
    for network, label_vi, label_en in _config("QR_LOGIN_PLACES"):
        try:
            net = ipaddress.ip_network(network, strict=False)
        except ValueError:
            continue
        if address.version == net.version and address in net and (
                best is None or net.prefixlen > best[0].prefixlen):
            best = (net, label_en if english else label_vi)
    return best[1] if best else None


def describe_request(record) -> dict:
    """What the phone shows before the person confirms."""
    client = storage.get_client(record.client_id)
    return {
        "client_name": client.client_name if client else record.client_id,
        "ip_address": record.ip_address,
        "place": describe_place(record.ip_address),
        "user_agent": record.user_agent,
        # A proximity hint (docs/conformance.md §3c): only ever shown when true.
        "same_network": bool(record.ip_address) and record.ip_address == request.remote_addr,
        "created": format_datetime(_utc(record.created_at), "short"),
        "expires_in": max(0, record.expires_at - now()),
    }


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def remember_phone_page(code: str) -> None:
    """Come back to the phone page after signing in on the phone (kept only briefly)."""
    session[_RETURN_KEY] = {"path": PHONE_PATH + code, "at": now()}


def pop_return_path() -> str | None:
    """The phone page to go back to after a sign-in without an authorization request."""
    remembered = session.pop(_RETURN_KEY, None)
    if not isinstance(remembered, dict) or now() - remembered.get("at", 0) > _config(
            "INTERACTION_LIFETIME"):
        return None
    path = remembered.get("path")
    if isinstance(path, str) and path.startswith(PHONE_PATH) and "/" not in path[len(PHONE_PATH):]:
        return path
    return None
