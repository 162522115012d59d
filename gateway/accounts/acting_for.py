"""The "act for whom?" step of a sign-in (issue 4 §6): after sign-in, before consent, a person
with valid representations acts for themselves or for one of their businesses.

The page of the ``acting_for`` prompt (``ports.POLICY``), like login, the second factor and
consent: ``/login/acting-for`` on the accounts blueprint (endpoint ``accounts.acting_for``).
The choice is stored on the pending authorization request, which resumes; the kernel checks it
again when the code is issued.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..errors import render_error_page
from ..identity.businesses import get_valid_representation, get_valid_representations
from ..oidc import interaction_store, storage
from ..security import allow_client_logo
from .browser import session_citizen
from .forms import ActingForForm
from .views import bp, signed_in_interaction


@bp.app_template_filter("role_name")
def role_name(role):
    return {
        "legal_representative": _("Legal representative"),
        "head": _("Head of the organisation"),
        "authorised": _("Authorised person"),
    }.get(role, role)


@bp.app_template_filter("chosen_representation")
def chosen_representation(pending, citizen):
    """The business chosen on the "act for whom?" page of this pending request (consent page)."""
    if pending is None or citizen is None or pending.acting_for in (None, "self"):
        return None
    return get_valid_representation(pending.acting_for, citizen)


@bp.route("/login/acting-for", methods=["GET", "POST"])
def acting_for():
    """After sign-in, before consent: act for oneself or for one of one's businesses."""
    pending, user_session = signed_in_interaction()
    citizen = session_citizen(user_session)
    form = ActingForForm()
    status = 200
    if form.validate_on_submit():
        choice = form.acting_for.data or ""
        if choice != "self":
            representation = get_valid_representation(choice, citizen)
            if representation is None:
                return render_error_page(403, "access_denied", "You cannot act for this business.")
            choice = str(representation.id)
        pending.acting_for = choice
        interaction_store.save_pending_authorization(pending)
        return redirect(url_for("oidc.resume", uid=pending.uid), code=303)
    elif request.method == "POST":
        status = 400
    client = storage.get_client(pending.client_id)
    allow_client_logo(client)
    return render_template("accounts/acting_for.html", form=form, pending=pending, client=client,
                           citizen=citizen,
                           representations=get_valid_representations(citizen)), status
