"""The checks of the protocol's own prompts (OIDC Core §3.1.2.1-§3.1.2.6), for the interaction
policy (``ports.Ports.policy``).

Each ``needs_*`` takes the ``authorization.AuthorizationContext`` and says whether its prompt
must be shown. The interaction side assembles the policy from these and its own prompts (the
"act for whom?" choice, and whatever comes next: a passkey prompt is one more ``Prompt``) and
names the page that answers each; the kernel never renders a login page.
"""

from __future__ import annotations

from ..clock import now
from .assurance import (
    UnmetAuthenticationRequirementsError,
    acr_rank,
    check_sso_reusable,
    get_required_acr,
)
from .claims import get_subject
from .ports import get_ports


def needs_login(ctx) -> bool:
    """No session; or, unless the person has just signed in for this request: ``prompt=login``,
    ``max_age`` exceeded, or an ``id_token_hint`` naming someone else (§3.1.2.1)."""
    if ctx.account is None:
        return True
    if ctx.signed_in_here:
        return False
    if "login" in ctx.prompts:
        return True
    if ctx.max_age is not None and now() - ctx.sign_in.auth_time > ctx.max_age:
        return True
    return ctx.hinted_subject is not None and ctx.hinted_subject != get_subject(
        ctx.account, ctx.client
    )


def needs_step_up(ctx) -> bool:
    """``acr_values`` are "at least": step up with a second factor when the session is below the
    level asked for, or when that level is above what single sign-on may reuse
    (``SSO_REUSE_MAX_ACR``); refuse when the person cannot reach it at all."""
    required = get_required_acr(ctx.params)
    if required is None:
        return False
    reachable = get_ports().accounts.get_reachable_acr(ctx.account.id)
    if acr_rank(reachable) < acr_rank(required):
        raise UnmetAuthenticationRequirementsError()
    if acr_rank(ctx.sign_in.acr) < acr_rank(required):
        return True
    return not ctx.signed_in_here and not check_sso_reusable(required)


def needs_consent(ctx) -> bool:
    """No consent remembered for this client and these scopes, or ``prompt=consent`` (§3.1.2.4),
    unless the person has just answered the consent page (granted or refused)."""
    pending = ctx.pending
    if pending is not None and (pending.consent_given or pending.denied):
        return False
    if "consent" in ctx.prompts:
        return True
    return not get_ports().consent.check_consent(ctx.account.id, ctx.client.client_id,
                                                 ctx.consent_scope)

