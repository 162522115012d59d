"""Forms for self-registration, officer verification and business management (Flask-WTF, so
every one carries a CSRF token)."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from ..accounts.passwords import MIN_LENGTH
from ..identity.personal_id import PROVINCE_CODES
from ..identity.services import get_age, get_citizen_by_personal_id, local_today
from ..identity.units import list_units

#: WTForms' own "Not a valid date value." is not in our catalogue: said in Vietnamese too.
NOT_A_DATE = _l("Enter a real date (day, month, year).")


def _compact(value):
    return (value or "").strip().replace(" ", "")


def _strip(value):
    return " ".join((value or "").split())


def _known_province(form, field):
    if field.data and field.data[:3] not in PROVINCE_CODES:
        raise ValidationError(_l("The first three digits are not a province code."))


def _personal_id_field(label=None):
    return StringField(
        label or _l("Personal ID number"),
        filters=[_compact],
        validators=[
            DataRequired(_l("Enter the 12-digit personal ID number.")),
            # ASCII digits only: ``\d`` also matches other scripts' digits.
            Regexp(r"^[0-9]{12}\Z", message=_l("A personal ID number has exactly 12 digits.")),
            _known_province,
        ],
    )


def commune_choices(blank):
    """Communes of both structures, 2025 first (codes are what is stored, docs/domain.md §4)."""
    units = list_units("commune")
    before = _l("before 1 July 2025")
    current = sorted((u for u in units if u.structure == "2025"), key=lambda u: u.name)
    older = sorted((u for u in units if u.structure != "2025"), key=lambda u: u.name)
    return [SelectChoice("", blank), *(SelectChoice(u.code, u.name) for u in current),
            *(SelectChoice(u.code, f"{u.name} ({before})") for u in older)]


class SignupForm(FlaskForm):
    personal_id = _personal_id_field()
    family_name = StringField(_l("Family name"), filters=[_strip],
                              validators=[DataRequired(_l("Enter your family name.")),
                                          Length(max=80)])
    middle_name = StringField(_l("Middle name"), filters=[_strip],
                              validators=[Optional(), Length(max=80)])
    given_name = StringField(_l("Given name"), filters=[_strip],
                             validators=[DataRequired(_l("Enter your given name.")),
                                         Length(max=80)])
    birthdate = DateField(_l("Date of birth"), invalid_value_message=NOT_A_DATE,
                          validators=[InputRequired(_l("Enter your date of birth."))])
    gender = SelectField(_l("Sex"), choices=[SelectChoice("", "—"),
                                             SelectChoice("male", _l("Male")),
                                             SelectChoice("female", _l("Female"))],
                         invalid_choice_message=_l("Choose your sex."),
                         validators=[DataRequired(_l("Choose your sex."))])
    ward_code = SelectField(_l("Commune or ward of residence"), validate_choice=False,
                            validators=[DataRequired(_l("Choose your commune or ward."))])
    email = StringField(_l("Email (optional)"), filters=[lambda v: (v or "").strip()],
                        validators=[Optional(), Length(max=254),
                                    Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z",
                                           message=_l("This is not an email address."))])
    phone_number = StringField(_l("Phone number (optional)"), filters=[_compact],
                               validators=[Optional(), Regexp(
                                   r"^(\+84|0)[0-9]{9,10}\Z",
                                   message=_l("Enter a Vietnamese phone number, e.g. "
                                              "0901234567."))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Choose a password.")),
        Length(min=MIN_LENGTH, max=256,
               message=_l("The password must have at least %(n)d characters.", n=MIN_LENGTH)),
    ])
    confirm = PasswordField(_l("Repeat the password"), validators=[
        EqualTo("password", message=_l("The two passwords are different.")),
    ])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ward_code.choices = commune_choices(_l("Choose…"))

    def validate_ward_code(self, field):
        if field.data and field.data not in {c.value for c in field.choices if c.value}:
            raise ValidationError(_l("Choose your commune or ward from the list."))

    def validate_birthdate(self, field):
        if field.data is None:
            return  # not a date: the field already says so (WTForms runs the whole chain)
        today = local_today()
        if field.data > today:
            raise ValidationError(_l("The date of birth is in the future."))
        minimum = current_app.config["SIGNUP_MINIMUM_AGE"]
        if get_age(field.data, today) < minimum:
            raise ValidationError(_l(
                "You must be at least %(n)d years old to register your own electronic "
                "identity. A parent registers a younger child's account.", n=minimum))

    def validate_personal_id(self, field):
        """docs/domain.md §3: digits 4-6 encode century, sex and year of birth (no check digit)."""
        if field.errors:
            return  # not 12 digits: the earlier validators said so (the chain goes on after them)
        if field.data and get_citizen_by_personal_id(field.data) is not None:
            raise ValidationError(_l("An electronic identity with this personal ID number "
                                     "already exists. Sign in instead."))
        if not field.data or self.birthdate.data is None or self.gender.data not in (
                "male", "female"):
            return
        century_sex = int(field.data[3])
        year = 1900 + 100 * (century_sex // 2) + int(field.data[4:6])
        if year != self.birthdate.data.year:
            raise ValidationError(_l("The personal ID number does not match the year of birth "
                                     "(digits 4 to 6)."))
        if ("female" if century_sex % 2 else "male") != self.gender.data:
            raise ValidationError(_l("The personal ID number does not match the sex "
                                     "(digit 4)."))


class FindPersonForm(FlaskForm):
    """Posted, not a GET query: personal ID numbers stay out of URLs (proxy logs, browser
    history of a shared commune computer)."""

    personal_id = _personal_id_field()


class VerifyForm(FlaskForm):
    personal_id = HiddenField()
    document = SelectField(_l("Document checked"), choices=[
        SelectChoice("", "—"),
        SelectChoice("chip_id_card", _l("Chip-based citizen ID card")),
        SelectChoice("id_card", _l("Identity card")),
        SelectChoice("passport", _l("Passport")),
    ], invalid_choice_message=_l("Choose the document you checked."),
        validators=[DataRequired(_l("Choose the document you checked."))])


class BusinessForm(FlaskForm):
    tax_code = StringField(_l("Tax code"), filters=[lambda v: (v or "").strip()],
                           validators=[DataRequired(_l("Enter the tax code.")),
                                       Length(max=20)])
    name = StringField(_l("Business name"), filters=[_strip],
                       validators=[DataRequired(_l("Enter the business name.")),
                                   Length(max=200)])
    ward_code = SelectField(_l("Commune or ward of the head office (optional)"),
                            validate_choice=False, validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ward_code.choices = commune_choices("—")


class _EndDateUnlessHead:
    """An authorised person's role needs an end date; the head's may be open-ended."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        if (field.raw_data or [""])[0].strip():
            return
        if form.role.data == "head":
            field.errors[:] = []
            raise StopValidation()
        raise StopValidation(_l("Choose an end date."))


class AuthoriseForm(FlaskForm):
    personal_id = _personal_id_field(_l("Personal ID number of the person to authorise"))
    role = SelectField(_l("Role"), default="authorised", choices=[
        SelectChoice("authorised", _l("Authorised person")),
        SelectChoice("head", _l("Head of the organisation (appointed by the legal "
                                "representative; no end date needed)")),
    ], invalid_choice_message=_l("Choose a role from the list."), validators=[DataRequired()])
    valid_until = DateField(_l("Authorised until"), invalid_value_message=NOT_A_DATE,
                            validators=[_EndDateUnlessHead()])


class RevokeForm(FlaskForm):
    representation_id = HiddenField(validators=[DataRequired()])
