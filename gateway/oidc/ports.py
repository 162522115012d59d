"""The protocol kernel's plug points: what ``oidc/`` needs to know of people, sessions, consent
and audit, as small interfaces bound by ``create_app``.

The shape is node oidc-provider's: ``findAccount`` (claims come from the account side),
``interactions`` (the protocol only says "needs prompt X"; the interaction side renders it and
resumes the request) and an audit hook — and pyop's: the protocol core never imports the side
that renders pages. ``oidc/`` imports only its own modules, Authlib/joserfc and the platform
(``config``, ``clock``, ``errors``, ``extensions``, ``i18n``, ``security``, ``stores``); the
layering is checked by import-linter (``[importlinter]`` in ``setup.cfg``, run by ``make test``).

The implementations live on the interaction side (``gateway/accounts/ports.py``) and are bound
with :func:`bind_ports` in ``create_app``; tests may bind others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, current_app

# -- values that cross the boundary ---------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """What the protocol knows of a person (OIDC Core §5.1): a local id, the stable opaque
    subject the ``sub`` is derived from (§8), and every claim value the account side would
    release, by standard or national-portal claim name (None or absent: nothing to release).
    ``represents`` and its aliases are present only while the person validly acts for the
    business chosen at sign-in."""

    id: int
    subject: str
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SignIn:
    """The SSO session the browser presents: its ``sid`` (Front/Back-Channel Logout), whose it
    is, and how and when they authenticated (``auth_time``, ``acr``, RFC 8176 ``amr``)."""

    sid: str
    account_id: int
    auth_time: int
    acr: str
    amr: tuple[str, ...] = ()


# -- the interfaces ---------------------------------------------------------------------------


class AccountSource(Protocol):
    """``findAccount``: the people the protocol issues tokens about."""

    def find_account(self, account_id: int | None,
                     representation_id: int | None = None) -> Account | None:
        """The account, with the ``represents`` claims of ``representation_id`` when that is
        still this person's valid role; None when there is no such person."""

    def get_reachable_acr(self, account_id: int) -> str:
        """The highest ``acr`` this person can reach with the factors they have."""

    def check_representation(self, account_id: int, representation_id: int) -> bool:
        """Whether ``representation_id`` is (still) a valid role of this person."""


class SessionSource(Protocol):
    """The browser's SSO session, kept by the interaction side (the cookie)."""

    def get_current(self) -> SignIn | None:
        """The live session of the browser making this request, or None."""

    def get_browser_id(self) -> str:
        """A random identifier of this browser: pending requests are bound to it."""

    def end_current(self) -> list[str]:
        """Sign this browser out (RP-initiated logout); returns the front-channel logout URLs
        the signed-out page must load."""


class ConsentSource(Protocol):
    def check_consent(self, account_id: int, client_id: str, scope: str) -> bool:
        """Whether the person has consented to ``client_id`` receiving ``scope``."""


class AuditSink(Protocol):
    def record_disclosure(self, account_id: int, client_id: str, claim_names: Iterable[str],
                          channel: str) -> None:
        """``client_id`` received ``claim_names`` about the person through ``channel``
        (``id_token`` or ``userinfo``)."""


@dataclass(frozen=True)
class Prompt:
    """One named interaction of the authorization pipeline (node oidc-provider's
    ``interactions.policy``): ``check(context)`` says whether it is needed for this request;
    ``endpoint`` is the page that answers it, given the pending request as ``interaction``; with
    ``prompt=none`` the request ends with ``none_error`` instead (OIDC Core §3.1.2.6). The page
    records its result on the pending request (``interaction_store.save_pending_authorization``) and
    sends the browser to ``oidc.resume``: one resume contract for every prompt."""

    name: str
    check: Callable[[Any], bool]
    endpoint: str
    none_error: type


@dataclass(frozen=True)
class Ports:
    accounts: AccountSource
    sessions: SessionSource
    consent: ConsentSource
    audit: AuditSink
    #: The prompts in the order they are asked (``oidc.interactions``).
    policy: tuple[Prompt, ...]


_EXTENSION = "gateway.oidc.ports"


def bind_ports(app: Flask, ports: Ports) -> None:
    app.extensions[_EXTENSION] = ports


def get_ports() -> Ports:
    return current_app.extensions[_EXTENSION]
