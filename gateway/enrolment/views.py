"""Pages of enrolment: self-registration, in-person verification by commune officers, and
businesses and who acts for them (issue 4 §1-§5).

Views are thin: rules live in the forms and in ``identity.staff`` and ``identity.businesses``.
The "act for whom?" step of a sign-in is an interaction prompt: ``accounts.acting_for``.
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..accounts import passwords, totp
from ..accounts.browser import (
    check_second_factor_here,
    current_user_session,
    pending_interaction,
    session_citizen,
    start_user_session,
)
from ..errors import render_error_page
from ..extensions import db
from ..identity.businesses import (
    BusinessError,
    create_business,
    get_business_by_tax_code,
    get_managed_representation,
    get_valid_representations,
    grant_authorisation,
    list_representations,
    revoke_authorisation,
)
from ..identity.services import VIETNAM, create_citizen, get_citizen_by_personal_id, local_today
from ..identity.staff import (
    StaffError,
    check_staff,
    count_residents_by_level,
    get_officer_units,
    get_verifying_unit,
    list_recent_verifications,
    verify_in_person,
)
from ..identity.units import get_unit
from ..oidc import interaction_store
from .forms import (
    AuthoriseForm,
    BusinessForm,
    FindPersonForm,
    RevokeForm,
    SignupForm,
    VerifyForm,
)

bp = Blueprint("enrolment", __name__)


_pending = pending_interaction


def _signed_in_citizen():
    user_session = current_user_session()
    return session_citizen(user_session)


@bp.app_template_filter("vn_datetime")
def vn_datetime(timestamp):
    return datetime.fromtimestamp(timestamp, VIETNAM).strftime("%d/%m/%Y %H:%M")


@bp.app_template_filter("is_staff")
def is_staff(citizen):
    return check_staff(citizen)


@bp.app_template_filter("unit_name")
def unit_name(code):
    unit = get_unit("commune", code) if code else None
    return unit.name if unit else (code or "—")


# -- self-registration ---------------------------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Register a level-1 identity and sign the person in (docs/domain.md §2: level 1 is
    self-registration; level 2 follows at the commune)."""
    pending = _pending()
    form = SignupForm()
    status = 200
    if form.validate_on_submit():
        try:
            citizen = create_citizen(
                personal_id=form.personal_id.data, family_name=form.family_name.data,
                middle_name=form.middle_name.data or "", given_name=form.given_name.data,
                birthdate=form.birthdate.data, gender=form.gender.data,
                password_hash=passwords.hash_password(form.password.data),
                ward_code=form.ward_code.data,
                email=form.email.data or None, phone_number=form.phone_number.data or None,
            )
            db.session.commit()
        except ValueError:
            # Raced with another registration of the same number, or a rule the form missed:
            # nothing was created.
            db.session.rollback()
            form.personal_id.errors.append(_("This registration could not be completed. Check "
                                             "the personal ID number and try again."))
            status = 409
        else:
            user_session = start_user_session(citizen, acr="LoA1", amr=["pwd"])
            if pending is not None:
                pending.login_sid = user_session.sid
                interaction_store.save_pending_authorization(pending)
                return redirect(url_for("oidc.resume", uid=pending.uid), code=303)
            return redirect(url_for("enrolment.welcome"), code=303)
    elif request.method == "POST":
        status = 400
    return render_template("enrolment/signup.html", form=form, pending=pending), status


@bp.get("/signup/done")
def welcome():
    citizen = _signed_in_citizen()
    if citizen is None:
        return redirect(url_for("accounts.login"), code=303)
    return render_template("enrolment/welcome.html", citizen=citizen)


# -- commune officers ----------------------------------------------------------------------------


def officer_required(view):
    """Staff pages: a staff role, an authenticator app, and a code entered in this browser for
    this session (a QR sign-in confirmed with the phone's code does not count: the phone's
    session is only reused, as single sign-on is, and QR codes can be phished)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        user_session = current_user_session()
        if user_session is None:
            return redirect(url_for("accounts.login"), code=303)
        citizen = session_citizen(user_session)
        if not check_staff(citizen):
            return render_error_page(403)
        if not totp.has_second_factor(citizen.id):
            return redirect(url_for("self_service.security", required="officer"), code=303)
        if not check_second_factor_here(user_session):
            return redirect(url_for("accounts.second_factor"), code=303)
        g.officer = citizen
        return view(*args, **kwargs)

    return wrapped


@bp.route("/officer", methods=["GET", "POST"])
@officer_required
def officer():
    find = FindPersonForm()
    person = verify_form = refusal = None
    status = 200
    if request.method == "POST":
        if find.validate_on_submit():
            person = get_citizen_by_personal_id(find.personal_id.data)
            if person is None:
                find.personal_id.errors.append(
                    _("No electronic identity has this personal ID number."))
                status = 404
            else:
                try:
                    get_verifying_unit(g.officer, person)
                except StaffError as exc:
                    refusal, status = exc.message, exc.status
                verify_form = VerifyForm(personal_id=person.personal_id)
        else:
            status = 400
    return _officer_page(find, person, verify_form, refusal, status)


def _officer_page(find, person, verify_form, refusal, status, done=None):
    return render_template(
        "enrolment/officer.html", find=find, person=person, verify_form=verify_form,
        refusal=refusal, done=done, units=get_officer_units(g.officer),
        counts={code: count_residents_by_level(code) for code in get_officer_units(g.officer)},
        verifications=list_recent_verifications(g.officer),
    ), status


@bp.post("/officer/verify")
@officer_required
def officer_verify():
    form = VerifyForm()
    person = get_citizen_by_personal_id(form.personal_id.data or "")
    if person is None:
        return render_error_page(404)
    find = FindPersonForm(MultiDict({"personal_id": person.personal_id}))
    if not form.validate_on_submit():
        return _officer_page(find, person, form, None, 400)
    try:
        verify_in_person(g.officer, person, form.document.data)
        db.session.commit()
    except StaffError as exc:
        db.session.rollback()
        return _officer_page(find, person, form, exc.message, exc.status)
    return _officer_page(FindPersonForm(MultiDict()), None, None, None, 200, done=person)


# -- businesses ----------------------------------------------------------------------------------


def _citizen_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        citizen = _signed_in_citizen()
        if citizen is None:
            return redirect(url_for("accounts.login"), code=303)
        g.citizen = citizen
        return view(*args, **kwargs)

    return wrapped


@bp.get("/business")
@_citizen_required
def businesses():
    return render_template("enrolment/businesses.html", citizen=g.citizen,
                           representations=get_valid_representations(g.citizen))


@bp.route("/business/new", methods=["GET", "POST"])
@_citizen_required
def business_new():
    form = BusinessForm()
    status = 200
    if g.citizen.assurance_level < 2:
        return render_template("enrolment/business_new.html", form=None, citizen=g.citizen), 403
    if form.validate_on_submit():
        try:
            business = create_business(g.citizen, tax_code=form.tax_code.data,
                                       name=form.name.data, ward_code=form.ward_code.data or None)
            db.session.commit()
        except BusinessError as exc:
            db.session.rollback()
            form.tax_code.errors.append(exc.message)
            status = exc.status
        else:
            return redirect(url_for("enrolment.business", tax_code=business.tax_code), code=303)
    elif request.method == "POST":
        status = 400
    return render_template("enrolment/business_new.html", form=form, citizen=g.citizen), status


def _managed_business(tax_code):
    business = get_business_by_tax_code(tax_code)
    if business is None:
        abort(404)
    mine = [r for r in get_valid_representations(g.citizen) if r.business_id == business.id]
    if not mine:
        abort(403)
    return business, mine[0]


def _business_page(business, mine, form=None, message=None, status=200):
    manages = get_managed_representation(g.citizen, business) is not None
    return render_template(
        "enrolment/business.html", business=business, mine=mine, manages=manages,
        representations=list_representations(business) if manages else [],
        form=form or AuthoriseForm(), revoke_form=RevokeForm(), message=message,
        today=local_today(),
    ), status


@bp.get("/business/<tax_code>")
@_citizen_required
def business(tax_code):
    return _business_page(*_managed_business(tax_code))


@bp.post("/business/<tax_code>/authorise")
@_citizen_required
def business_authorise(tax_code):
    business, mine = _managed_business(tax_code)
    form = AuthoriseForm()
    if not form.validate_on_submit():
        return _business_page(business, mine, form, None, 400)
    try:
        grant_authorisation(g.citizen, business, personal_id=form.personal_id.data,
                            valid_until=form.valid_until.data, role=form.role.data)
        db.session.commit()
    except BusinessError as exc:
        db.session.rollback()
        form.personal_id.errors.append(exc.message)
        return _business_page(business, mine, form, None, exc.status)
    return redirect(url_for("enrolment.business", tax_code=business.tax_code), code=303)


@bp.post("/business/<tax_code>/revoke")
@_citizen_required
def business_revoke(tax_code):
    business, mine = _managed_business(tax_code)
    form = RevokeForm()
    if not form.validate_on_submit():
        return render_error_page(400, "csrf", None)
    try:
        revoke_authorisation(g.citizen, business, form.representation_id.data)
        db.session.commit()
    except BusinessError as exc:
        db.session.rollback()
        return _business_page(business, mine, None, exc.message, exc.status)
    return redirect(url_for("enrolment.business", tax_code=business.tax_code), code=303)
