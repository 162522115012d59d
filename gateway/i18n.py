"""Language choice: Vietnamese by default; English by the visible switch or ``ui_locales``.

Order: the switch (``?lang=``, remembered in the signed session) > ``ui_locales`` of the
authorization request being served (OIDC Core §3.1.2.1) > Vietnamese.
"""

from __future__ import annotations

from flask import current_app, g, request, session


def pick_locale(ui_locales: str | None) -> str | None:
    """First supported language in a space-separated BCP 47 list (``en-US`` counts as ``en``)."""
    supported = current_app.config["LANGUAGES"]
    for tag in (ui_locales or "").split():
        primary = tag.split("-")[0].lower()
        if primary in supported:
            return primary
    return None


def select_locale() -> str:
    supported = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang")
    if chosen in supported:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in supported:
        return session["lang"]
    from_request = pick_locale(g.get("ui_locales"))
    return from_request or current_app.config["BABEL_DEFAULT_LOCALE"]
