"""The browser side of the SSO session: the cookie handle, and the browser's own identity.

The SSO cookie holds a random handle whose digest names an ``SsoSession`` (``oidc.session_store``,
in the hot store); the signed Flask session holds a random ``browser_id`` that binds pending
authorization requests to this browser.
"""

from __future__ import annotations

import secrets

from flask import after_this_request, current_app, g, request, session
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..identity.models import Citizen
from ..oidc import interaction_store, logout, session_store


def get_browser_id() -> str:
    browser_id = session.get("browser_id")
    if not browser_id:
        browser_id = session["browser_id"] = secrets.token_urlsafe(24)
    return browser_id


def pending_interaction():
    """The pending authorization request named in the URL (``?interaction=``), if it belongs to
    this browser and is live; its ``ui_locales`` then choose the page's language."""
    pending = interaction_store.get_pending_authorization(request.args.get("interaction"),
                                                          get_browser_id())
    if pending is not None:
        g.ui_locales = MultiDict(pending.params).get("ui_locales")
    return pending


#: Flask-session key: the SSO session (``sid``, ``auth_time``) whose second factor was entered
#: in this browser.
_SECOND_FACTOR_HERE = "second_factor_here"


def mark_second_factor_here(user_session) -> None:
    """Remember that a second factor was just entered in *this* browser for this session as it
    now stands. ``amr`` alone cannot say so: a QR sign-in carries the phone's methods (RFC 8176
    ``mca``), and a code typed on the phone is not one typed here."""
    session[_SECOND_FACTOR_HERE] = [user_session.sid, user_session.auth_time]


def check_second_factor_here(user_session) -> bool:
    """Whether this browser entered a second factor since ``user_session`` last authenticated
    (any later sign-in or step-up moves ``auth_time`` and needs a new code)."""
    return session.get(_SECOND_FACTOR_HERE) == [user_session.sid, user_session.auth_time]


def current_user_session():
    """The live SSO session of this browser, or None (looked up once per request)."""
    if "user_session" not in g:
        name = current_app.config["SSO_COOKIE_NAME"]
        g.user_session = session_store.get_user_session(request.cookies.get(name))
        if g.user_session is not None:
            session_store.touch_user_session(g.user_session)
    return g.user_session


def session_citizen(user_session):
    """The person signed in with ``user_session`` (None without a session)."""
    if user_session is None:
        return None
    return db.session.get(Citizen, user_session.citizen_id)


def start_user_session(citizen, *, acr: str, amr: list[str]):
    """Sign ``citizen`` in on this browser with a fresh cookie. Signing in again as the same
    person (``prompt=login``, ``max_age``) renews their session, so the other clients' tokens
    under it survive; signing in as someone else ends the previous person's session."""
    previous = current_user_session()
    if previous is not None and previous.citizen_id == citizen.id:
        user_session = previous
        handle = session_store.renew_user_session(previous, acr=acr, amr=amr)
    else:
        if previous is not None:
            end_session(previous, replaced=True)
        user_session, handle = session_store.create_user_session(
            citizen_id=citizen.id,
            acr=acr,
            amr=amr,
            ip_address=request.remote_addr,
            user_agent=request.user_agent.string,
        )
    g.user_session = user_session
    config = current_app.config

    @after_this_request
    def set_cookie(response):
        response.set_cookie(
            config["SSO_COOKIE_NAME"],
            handle,
            max_age=config["SSO_SESSION_LIFETIME"],
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
            path="/",
        )
        return response

    return user_session


def end_session(user_session, *, replaced: bool = False) -> list[str]:
    """The one way an SSO session ends before its time: sign-out, RP-initiated logout, the person
    ending it from "my account" (possibly another device's), or another person signing in on
    this browser (``replaced``: a new cookie follows). The session's tokens are revoked and its
    clients logged out (``logout.end_sso_session``: back-channel deliveries queued and tried);
    when it is this browser's session, the cookie goes too. Returns the front-channel logout
    URLs for the logged-out page to load."""
    current = current_user_session()
    frontchannel_logout_uris = logout.end_sso_session(user_session)
    if not replaced and current is not None and current.sid == user_session.sid:
        _forget_current_session()
    return frontchannel_logout_uris


def end_current_session() -> list[str]:
    """Sign this browser out at the provider (RP-initiated logout, or the person's own choice);
    returns the front-channel logout URLs the logged-out page must load."""
    user_session = current_user_session()
    frontchannel_logout_uris = []
    if user_session is not None:
        frontchannel_logout_uris = end_session(user_session)
    _forget_current_session()
    return frontchannel_logout_uris


def _forget_current_session() -> None:
    g.user_session = None
    if g.get("sso_cookie_cleared"):
        return  # once per response
    g.sso_cookie_cleared = True
    config = current_app.config

    @after_this_request
    def clear_cookie(response):
        response.delete_cookie(
            config["SSO_COOKIE_NAME"],
            path="/",
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response
