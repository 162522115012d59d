"""The interaction side's answers to the protocol kernel's ports (``oidc/ports.py``): people and
their claims (``findAccount``), the browser's SSO session, consent, the audit of disclosures,
and the interaction policy — the prompts in the order a sign-in asks them, each with the page
that answers it. ``create_app`` binds them with :func:`create_ports`.

A new prompt (a passkey, say) is one more ``Prompt`` here and one page that, once answered,
records its result on the pending request and redirects to ``oidc.resume``.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from flask import current_app

from ..extensions import db
from ..identity.businesses import (
    get_represents_claims,
    get_valid_representation,
    get_valid_representations,
)
from ..identity.models import Citizen
from ..oidc import interactions
from ..oidc.ports import Account, Ports, Prompt, SignIn
from . import activity, totp
from .assurance import get_reachable_acr
from .browser import current_user_session, end_current_session, get_browser_id
from .consent import has_consent


def _address(citizen: Citizen) -> dict | None:
    lines = [citizen.street_address, citizen.locality, citizen.region]
    formatted = ", ".join(p for p in lines if p)
    if not formatted:
        return None
    parts = {
        "street_address": citizen.street_address,
        "locality": citizen.locality,
        "region": citizen.region,
        "country": "VN",
        "formatted": formatted + ", Việt Nam",
    }
    return {k: v for k, v in parts.items() if v}


def _represents_claims(citizen: Citizen, representation) -> dict:
    if representation is None:
        return {}
    represents = get_represents_claims(representation)
    return {
        "represents": represents,
        "MaSoThue": represents["tax_code"],
        "TenDoanhNghiep": represents["name"],
        # The person acting for the business (a business acts through a person).
        "NguoiDaiDien": citizen.full_name,
        "LoaiTaiKhoan": current_app.config["NATIONAL_PORTAL_ACCOUNT_TYPE"]["organisation"],
    }


def create_account(citizen: Citizen, representation=None) -> Account:
    """Every claim value of ``citizen`` (standard and national-portal names), with the business
    of ``representation`` when given (a valid one: see ``find_account``)."""
    config = current_app.config
    claims = {
        "name": citizen.full_name,
        "family_name": citizen.family_name,
        "given_name": citizen.given_name,
        "middle_name": citizen.middle_name or None,
        "gender": citizen.gender,
        "birthdate": citizen.birthdate.isoformat(),
        "zoneinfo": "Asia/Ho_Chi_Minh",
        "locale": "vi-VN",
        "updated_at": int(citizen.updated_at.timestamp()) if citizen.updated_at else None,
        "email": citizen.email,
        "email_verified": bool(citizen.email_verified) if citizen.email else None,
        "phone_number": citizen.phone_number,
        "phone_number_verified": bool(citizen.phone_number_verified)
        if citizen.phone_number else None,
        "address": _address(citizen),
        "personal_id": citizen.personal_id,
        "SoDinhDanh": citizen.personal_id,
        "HoVaTen": citizen.full_name,
        "NgayThangNamSinh": citizen.birthdate.strftime("%Y%m%d"),
        "GioiTinh": config["NATIONAL_PORTAL_GENDER"].get(citizen.gender),
        "LoaiTaiKhoan": config["NATIONAL_PORTAL_ACCOUNT_TYPE"]["individual"],
        **_represents_claims(citizen, representation),
    }
    return Account(id=citizen.id, subject=citizen.subject, claims=claims)


class CitizenAccounts:
    """``findAccount`` over the identity register."""

    def find_account(self, account_id, representation_id=None):
        if account_id is None:
            return None
        citizen = db.session.get(Citizen, account_id)
        if citizen is None:
            return None
        # A revoked or expired representation, or someone else's, releases nothing.
        representation = (get_valid_representation(representation_id, citizen)
                          if representation_id is not None else None)
        return create_account(citizen, representation)

    def get_reachable_acr(self, account_id):
        citizen = db.session.get(Citizen, account_id)
        return get_reachable_acr(citizen, totp.has_second_factor(account_id))

    def check_representation(self, account_id, representation_id):
        citizen = db.session.get(Citizen, account_id)
        return get_valid_representation(representation_id, citizen) is not None


class BrowserSessions:
    """The SSO session named by this browser's cookie (``browser.py``)."""

    def get_current(self):
        user_session = current_user_session()
        if user_session is None:
            return None
        return SignIn(sid=user_session.sid, account_id=user_session.citizen_id,
                      auth_time=user_session.auth_time, acr=user_session.acr,
                      amr=tuple(user_session.amr or ()))

    def get_browser_id(self):
        return get_browser_id()

    def end_current(self):
        return end_current_session()


class RememberedConsent:
    def check_consent(self, account_id, client_id, scope):
        return has_consent(db.session.get(Citizen, account_id), client_id, scope)


class ActivityLog:
    """Each release of claims goes to the person's data-sharing log ("Tài khoản của tôi")."""

    def record_disclosure(self, account_id, client_id, claim_names, channel):
        activity.record_disclosure(account_id, client_id, claim_names, channel)


def needs_acting_for_choice(ctx) -> bool:
    """A client granted ``organisation`` asks whom the person acts for, once per authorization,
    when they represent at least one business."""
    if "organisation" not in (scope_to_list(ctx.consent_scope) or []):
        return False
    if ctx.pending is not None and ctx.pending.acting_for:
        return False
    return bool(get_valid_representations(db.session.get(Citizen, ctx.account.id)))


#: The prompts of a sign-in, in order (node oidc-provider's ``interactions.policy``).
POLICY = (
    Prompt("login", interactions.needs_login, "accounts.login", LoginRequiredError),
    Prompt("second_factor", interactions.needs_step_up, "accounts.second_factor",
           LoginRequiredError),
    Prompt("acting_for", needs_acting_for_choice, "accounts.acting_for",
           InteractionRequiredError),
    Prompt("consent", interactions.needs_consent, "accounts.consent", ConsentRequiredError),
)


def create_ports() -> Ports:
    return Ports(accounts=CitizenAccounts(), sessions=BrowserSessions(),
                 consent=RememberedConsent(), audit=ActivityLog(), policy=POLICY)
