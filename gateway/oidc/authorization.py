"""The authorization endpoint as a pipeline of small named steps (OIDC Core §3.1.2).

Authlib validates the request (client, ``redirect_uri``, ``response_type``, scope, PKCE, nonce,
``prompt`` syntax). This module then decides, in order: must the person sign in (no session,
``prompt=login``, ``max_age`` exceeded, ``id_token_hint`` naming someone else)? must they consent?
and either sends them to the sign-in or consent page with a pending request bound to their
browser, or lets Authlib issue the code. Errors go back to the client only once its
``redirect_uri`` is validated; otherwise the person gets an error page.
"""

from __future__ import annotations

import json
import re

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, scope_to_list
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
    RegistrationNotSupportedError,
)
from flask import current_app, redirect, url_for
from werkzeug.datastructures import MultiDict

from ..accounts import totp
from ..accounts.assurance import (
    UnmetAuthenticationRequirementsError,
    acr_rank,
    check_sso_reusable,
    get_reachable_acr,
    get_required_acr,
)
from ..accounts.browser import current_user_session, get_browser_id
from ..accounts.consent import has_consent
from ..clock import now
from ..errors import render_error_page
from ..identity.businesses import get_valid_representation, get_valid_representations
from . import keys, storage
from .claims import get_subject, parse_claims_request, scopes_for_claims


def _echoable(value: str | None) -> str | None:
    """``value`` if it may appear in an ``error_description`` (RFC 6749 §4.1.2.1), else a marker.

    Authlib echoes an unsupported ``response_type`` into the description and refuses to build
    the error when it holds other characters (a 500 otherwise)."""
    if value is None or not invalid_error_characters(value):
        return value
    return "(unprintable)"


class _Payload:
    def __init__(self, params: MultiDict):
        self.params = params

    @property
    def data(self):
        return self.params

    @property
    def datalist(self):
        return {key: self.params.getlist(key) for key in self.params}

    client_id = property(lambda self: self.params.get("client_id"))
    response_type = property(lambda self: _echoable(self.params.get("response_type")))
    grant_type = property(lambda self: self.params.get("grant_type"))
    redirect_uri = property(lambda self: self.params.get("redirect_uri"))
    scope = property(lambda self: self.params.get("scope"))
    state = property(lambda self: self.params.get("state"))


class AuthorizationRequest(OAuth2Request):
    """An authorization request rebuilt from its parameters (GET, POST or resumed)."""

    def __init__(self, params: MultiDict):
        super().__init__("GET", url_for("oidc.authorize", _external=True))
        self.payload = _Payload(params)
        self.user_session = None

    @property
    def args(self):
        return self.payload.params

    @property
    def form(self):
        return self.payload.params


def _prompts(params) -> set[str]:
    return set((params.get("prompt") or "").split())


def _validate_no_unsupported_parameters(params) -> None:
    """OIDC Core §7.2.1: self-issued ``registration`` is not supported; say so rather than
    silently ignore it. Likewise a ``response_mode`` other than ``query``. (Request objects,
    §6, were resolved by ``RequestObjectExtension`` before this point.)"""
    if params.get("registration") is not None:
        raise RegistrationNotSupportedError()
    # OAuth 2.0 Multiple Response Type Encoding §2.1: only ``query`` is offered; another mode
    # must not be silently replaced by it.
    if params.get("response_mode") not in (None, "query"):
        raise InvalidRequestError("Unsupported 'response_mode': only 'query' is offered.")


_MAX_AGE = re.compile(r"[0-9]{1,10}")  # ASCII digits only: str.isdigit() accepts "²" and "١"


def _max_age(params) -> int | None:
    raw = params.get("max_age")
    if raw is None or raw == "":
        return None
    if not _MAX_AGE.fullmatch(raw):
        raise InvalidRequestError("'max_age' must be a non-negative integer.")
    return int(raw)


def _id_token_hint_subject(params) -> str | None:
    hint = params.get("id_token_hint")
    if not hint:
        return None
    try:
        claims = keys.decode_id_token_hint(hint, current_app.config["ISSUER"], now)
    except ValueError as exc:
        raise InvalidRequestError("'id_token_hint' is not an ID token issued here.") from exc
    return claims["sub"]


def _resolved_params(request) -> MultiDict:
    """The request's parameters after a request object (RFC 9101) replaced them, as strings."""
    data = request.payload.data
    if isinstance(data, MultiDict):
        return MultiDict(data)
    resolved = MultiDict()
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, separators=(",", ":"))
        elif not isinstance(value, str):
            value = str(value)
        resolved.add(key, value)
    return resolved


def _needs_step_up(citizen, user_session, params, signed_in_here: bool) -> bool:
    """``acr_values`` are "at least" (DOMAIN.md §6): step up with a second factor when the
    session is below the level asked for, or when that level is above what single sign-on may
    reuse; refuse when the person cannot reach it at all."""
    required = get_required_acr(params)
    if required is None:
        return False
    reachable = get_reachable_acr(citizen, totp.has_second_factor(citizen.id))
    if acr_rank(reachable) < acr_rank(required):
        raise UnmetAuthenticationRequirementsError()
    if acr_rank(user_session.acr) < acr_rank(required):
        return True
    return not signed_in_here and not check_sso_reusable(required)


def _redirect_to(endpoint: str, client_id: str, params: MultiDict, pending):
    if pending is None:
        uid = storage.create_pending_authorization(
            browser_id=get_browser_id(), client_id=client_id, params=list(params.items(multi=True))
        )
    else:
        uid = pending.uid
    return redirect(url_for(endpoint, interaction=uid), code=303)


def _needs_acting_for_choice(citizen, consent_scope: str, pending) -> bool:
    """Issue 4 §6: a client granted ``organisation`` asks whom the person acts for, once per
    authorization, when they represent at least one business."""
    if "organisation" not in (scope_to_list(consent_scope) or []):
        return False
    if pending is not None and pending.acting_for:
        return False
    return bool(get_valid_representations(citizen))


def _chosen_representation_id(citizen, consent_scope: str, pending) -> int | None:
    """The representation chosen on the "act for whom?" page, re-checked now; raise
    ``PermissionError`` when it is not (or no longer) this person's valid role."""
    if pending is None or pending.acting_for in (None, "self"):
        return None
    if "organisation" not in (scope_to_list(consent_scope) or []):
        return None
    representation = get_valid_representation(pending.acting_for, citizen)
    if representation is None:
        raise PermissionError("not a valid representation of the signed-in person")
    return representation.id


def get_consent_scope(client, params) -> str:
    """The scopes a person consents to: the requested ones plus those covering claims asked for
    individually with ``claims`` (OIDC Core §5.5), narrowed to what the client may have."""
    requested = list(scope_to_list(params.get("scope") or "") or [])
    if "consent" not in _prompts(params):
        # OIDC Core §11: offline access is asked for with prompt=consent, otherwise ignored.
        requested = [s for s in requested if s != "offline_access"]
    requested += scopes_for_claims(parse_claims_request(params.get("claims")))
    return client.get_allowed_scope(" ".join(requested))


def _error_response(server, request, error: OAuth2Error):
    if error.redirect_uri:
        error.state = request.payload.state
        return server.handle_error_response(request, error)
    return render_error_page(400, error.error, error.get_error_description())


def handle_authorization_request(server, params: MultiDict, pending=None):
    """Answer one authorization request; ``pending`` is set when resuming after an interaction."""
    request = AuthorizationRequest(params)
    user_session = current_user_session()
    citizen = user_session.citizen if user_session else None
    try:
        grant = server.get_consent_grant(request=request, end_user=citizen)
    except OAuth2Error as error:
        return _error_response(server, request, error)

    redirect_uri = grant.redirect_uri
    client = grant.client
    # From here on, the parameters that count are those after any request object.
    params = _resolved_params(request)
    prompts = _prompts(params)
    signed_in_here = bool(
        pending and user_session and pending.login_sid == user_session.sid
    )
    try:
        _validate_no_unsupported_parameters(params)
        max_age = _max_age(params)
        hinted_subject = _id_token_hint_subject(params)
        consent_scope = get_consent_scope(client, params)
        needs_login = citizen is None or (
            not signed_in_here
            and (
                "login" in prompts
                or (max_age is not None and now() - user_session.auth_time > max_age)
                or (hinted_subject is not None and hinted_subject != get_subject(citizen, client))
            )
        )
        if needs_login:
            if "none" in prompts:
                raise LoginRequiredError()
            return _redirect_to("accounts.login", client.client_id, params, pending)

        if _needs_step_up(citizen, user_session, params, signed_in_here):
            if "none" in prompts:
                raise LoginRequiredError()
            return _redirect_to("accounts.second_factor", client.client_id, params, pending)

        if _needs_acting_for_choice(citizen, consent_scope, pending):
            if "none" in prompts:
                raise InteractionRequiredError()
            return _redirect_to("accounts.acting_for", client.client_id, params, pending)

        consented = (pending is not None and pending.consent_given) or (
            "consent" not in prompts and has_consent(citizen, client.client_id, consent_scope)
        )
        if not consented and not (pending is not None and pending.denied):
            if "none" in prompts:
                raise ConsentRequiredError()
            return _redirect_to("accounts.consent", client.client_id, params, pending)
    except OAuth2Error as error:
        error.redirect_uri = redirect_uri
        return _error_response(server, request, error)

    try:
        request.representation_id = _chosen_representation_id(citizen, consent_scope, pending)
    except PermissionError:
        return render_error_page(403, "access_denied", "You cannot act for this business.")
    request.user_session = user_session
    grant_user = None if pending is not None and pending.denied else citizen
    response = server.create_authorization_response(
        request=request, grant_user=grant_user, grant=grant
    )
    if pending is not None:
        storage.delete_pending_authorization(pending)
    return response
