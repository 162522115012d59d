"""The authorization endpoint as one table of small named steps (OIDC Core §3.1.2).

Reading ``AUTHORIZATION_STEPS`` is reading the protocol (node oidc-provider's
``lib/actions/authorization/index.js``): Authlib validates the client, the exact
``redirect_uri``, ``response_type``, scope, PKCE and ``nonce`` (request objects, RFC 9101,
replace the parameters first); then the parameters Authlib does not know are checked; then the
interaction policy (``ports.Ports.policy``, ``interactions.py``) asks, prompt by prompt, whether
the person must sign in, step up, choose whom they act for, or consent — and either sends the
browser to that prompt's page with a pending request bound to it, or lets Authlib issue the
code. Errors go back to the client only once its ``redirect_uri`` is validated; before that the
person gets an error page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, scope_to_list
from authlib.oidc.core.errors import RegistrationNotSupportedError
from flask import current_app, redirect, url_for
from werkzeug.datastructures import MultiDict

from ..clock import now
from ..errors import render_error_page
from . import interaction_store, keys
from .claims import parse_claims_request, scopes_for_claims
from .ports import Account, SignIn, get_ports


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


def get_consent_scope(client, params) -> str:
    """The scopes a person consents to: the requested ones plus those covering claims asked for
    individually with ``claims`` (OIDC Core §5.5), narrowed to what the client may have."""
    requested = list(scope_to_list(params.get("scope") or "") or [])
    if "consent" not in _prompts(params):
        # OIDC Core §11: offline access is asked for with prompt=consent, otherwise ignored.
        requested = [s for s in requested if s != "offline_access"]
    requested += scopes_for_claims(parse_claims_request(params.get("claims")))
    return client.get_allowed_scope(" ".join(requested))




# -- the pipeline ---------------------------------------------------------------------------------


@dataclass
class AuthorizationContext:
    """One authorization request on its way through ``AUTHORIZATION_STEPS``."""

    server: object
    params: MultiDict
    #: The pending request when resuming after a prompt (``oidc.resume``), else None.
    pending: object | None
    request: AuthorizationRequest
    sign_in: SignIn | None
    account: Account | None
    grant: object | None = None
    client: object | None = None
    #: Set once Authlib has validated it: from then on errors go back to the client.
    redirect_uri: str | None = None
    prompts: set[str] = field(default_factory=set)
    max_age: int | None = None
    hinted_subject: str | None = None
    consent_scope: str = ""
    representation_id: int | None = None

    @property
    def signed_in_here(self) -> bool:
        """The person signed in during this very interaction (the login prompt was answered)."""
        return bool(self.pending and self.sign_in and self.pending.login_sid == self.sign_in.sid)


class _Respond(Exception):
    """A step's answer that ends the pipeline (a page or a redirect)."""

    def __init__(self, response):
        self.response = response


def check_client(ctx: AuthorizationContext) -> None:
    """Authlib: client, exact ``redirect_uri``, ``response_type``, scope, PKCE S256, nonce
    replay, single-valued parameters, request objects (RFC 9101)."""
    ctx.grant = ctx.server.get_consent_grant(request=ctx.request, end_user=ctx.account)
    ctx.client = ctx.grant.client
    ctx.redirect_uri = ctx.grant.redirect_uri
    # From here on, the parameters that count are those after any request object.
    ctx.params = _resolved_params(ctx.request)
    ctx.prompts = _prompts(ctx.params)


def check_unsupported_parameters(ctx: AuthorizationContext) -> None:
    _validate_no_unsupported_parameters(ctx.params)


def check_max_age(ctx: AuthorizationContext) -> None:
    ctx.max_age = _max_age(ctx.params)


def check_id_token_hint(ctx: AuthorizationContext) -> None:
    ctx.hinted_subject = _id_token_hint_subject(ctx.params)


def check_scope(ctx: AuthorizationContext) -> None:
    ctx.consent_scope = get_consent_scope(ctx.client, ctx.params)


def run_interactions(ctx: AuthorizationContext) -> None:
    """The first prompt of the policy this request needs: with ``prompt=none`` its error goes
    back to the client (OIDC Core §3.1.2.6), otherwise the browser goes to its page."""
    for prompt in get_ports().policy:
        if prompt.check(ctx):
            if "none" in ctx.prompts:
                raise prompt.none_error()
            raise _Respond(_redirect_to(prompt.endpoint, ctx))


def check_representation(ctx: AuthorizationContext) -> None:
    """The business chosen at the "act for whom?" prompt, re-checked at the moment the code is
    issued: one that is no longer the person's valid role gets a page, not a code."""
    chosen = ctx.pending.acting_for if ctx.pending is not None else None
    if chosen in (None, "self") or "organisation" not in (scope_to_list(ctx.consent_scope) or []):
        return
    try:
        representation_id = int(chosen)
    except ValueError:
        representation_id = None
    if representation_id is None or not get_ports().accounts.check_representation(
        ctx.account.id, representation_id
    ):
        raise _Respond(render_error_page(403, "access_denied", "You cannot act for this business."))
    ctx.representation_id = representation_id


def issue_code(ctx: AuthorizationContext) -> None:
    """Authlib issues the code (or ``access_denied`` when the person refused consent)."""
    ctx.request.user_session = ctx.sign_in
    ctx.request.representation_id = ctx.representation_id
    denied = ctx.pending is not None and ctx.pending.denied
    response = ctx.server.create_authorization_response(
        request=ctx.request, grant_user=None if denied else ctx.account, grant=ctx.grant
    )
    if ctx.pending is not None:
        interaction_store.delete_pending_authorization(ctx.pending)
    raise _Respond(response)


#: The authorization endpoint, step by step. A new endpoint that authorizes (PAR, device flow)
#: is a new table reusing these steps.
AUTHORIZATION_STEPS = (
    check_client,
    check_unsupported_parameters,
    check_max_age,
    check_id_token_hint,
    check_scope,
    run_interactions,
    check_representation,
    issue_code,
)


def _redirect_to(endpoint: str, ctx: AuthorizationContext):
    if ctx.pending is None:
        uid = interaction_store.create_pending_authorization(
            browser_id=get_ports().sessions.get_browser_id(), client_id=ctx.client.client_id,
            params=list(ctx.params.items(multi=True)),
        )
    else:
        uid = ctx.pending.uid
    return redirect(url_for(endpoint, interaction=uid), code=303)


def _error_response(ctx: AuthorizationContext, error: OAuth2Error):
    if ctx.redirect_uri and not error.redirect_uri:
        error.redirect_uri = ctx.redirect_uri
    if error.redirect_uri:
        error.state = ctx.request.payload.state
        return ctx.server.handle_error_response(ctx.request, error)
    return render_error_page(400, error.error, error.get_error_description())


def handle_authorization_request(server, params: MultiDict, pending=None):
    """Answer one authorization request; ``pending`` is set when resuming after a prompt."""
    ports = get_ports()
    sign_in = ports.sessions.get_current()
    account = ports.accounts.find_account(sign_in.account_id) if sign_in else None
    if account is None:
        sign_in = None
    ctx = AuthorizationContext(server=server, params=params, pending=pending,
                               request=AuthorizationRequest(params), sign_in=sign_in,
                               account=account)
    try:
        for step in AUTHORIZATION_STEPS:
            step(ctx)
    except _Respond as answer:
        return answer.response
    except OAuth2Error as error:
        return _error_response(ctx, error)
    raise AssertionError("issue_code always answers")  # pragma: no cover
