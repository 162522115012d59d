"""The browser side of the SSO session: the cookie handle, and the browser's own identity.

The SSO cookie holds a random handle whose digest names a ``UserSession``; the signed Flask
session holds a random ``browser_id`` that binds pending authorization requests to this browser.
"""

from __future__ import annotations

import secrets

from flask import after_this_request, current_app, g, request, session

from ..oidc import logout, storage


def get_browser_id() -> str:
    browser_id = session.get("browser_id")
    if not browser_id:
        browser_id = session["browser_id"] = secrets.token_urlsafe(24)
    return browser_id


def current_user_session():
    """The live SSO session of this browser, or None (looked up once per request)."""
    if "user_session" not in g:
        name = current_app.config["SSO_COOKIE_NAME"]
        g.user_session = storage.get_user_session(request.cookies.get(name))
        if g.user_session is not None:
            storage.touch_user_session(g.user_session)
    return g.user_session


def start_user_session(citizen, *, acr: str, amr: list[str]):
    """Sign ``citizen`` in on this browser with a fresh cookie. Signing in again as the same
    person (``prompt=login``, ``max_age``) renews their session, so the other clients' tokens
    under it survive; signing in as someone else ends the previous person's session."""
    previous = current_user_session()
    if previous is not None and previous.citizen_id == citizen.id:
        user_session = previous
        handle = storage.renew_user_session(previous, acr=acr, amr=amr)
    else:
        if previous is not None:
            logout.end_sso_session(previous)
        user_session, handle = storage.create_user_session(
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


def end_current_session() -> list[str]:
    """Sign this browser out at the provider (RP-initiated logout, or the person's own choice).

    The session's clients are logged out too (``logout.end_sso_session``); returns the
    front-channel logout URLs the logged-out page must load."""
    user_session = current_user_session()
    frontchannel_logout_uris = []
    if user_session is not None:
        frontchannel_logout_uris = logout.end_sso_session(user_session)
    g.user_session = None
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

    return frontchannel_logout_uris
