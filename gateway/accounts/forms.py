"""Forms for people; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..identity.personal_id import PROVINCE_CODES


def _known_province(form, field):
    from wtforms.validators import ValidationError

    if field.data and field.data[:3] not in PROVINCE_CODES:
        raise ValidationError(_l("The first three digits are not a province code."))


class LoginForm(FlaskForm):
    personal_id = StringField(
        _l("Personal ID number"),
        filters=[lambda v: (v or "").strip().replace(" ", "")],
        validators=[
            DataRequired(_l("Enter your 12-digit personal ID number.")),
            # ASCII digits only: ``\d`` also matches other scripts' digits.
            Regexp(r"^[0-9]{12}\Z", message=_l("A personal ID number has exactly 12 digits.")),
            _known_province,
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=256)],
    )


class ConsentForm(FlaskForm):
    decision = HiddenField()


class LogoutForm(FlaskForm):
    pass


class ActingForForm(FlaskForm):
    """The "act for whom?" step: ``self`` or the id of one of the person's representations."""

    acting_for = HiddenField()


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Verification code"),
        filters=[lambda v: (v or "").strip()],
        validators=[DataRequired(_l("Enter the 6-digit code from your authenticator app.")),
                    Length(max=32)],
    )


class TotpEnrolForm(FlaskForm):
    code = StringField(
        _l("Verification code"),
        filters=[lambda v: (v or "").strip()],
        validators=[DataRequired(_l("Enter the 6-digit code from your authenticator app.")),
                    Length(max=32)],
    )


def _normalise_phone(value):
    """``0912 345 678``, ``+84 912-345-678`` → ``+84912345678`` (the stored form)."""
    digits = "".join(c for c in (value or "") if c not in " .-()")
    if digits.startswith("0") and len(digits) == 10:
        digits = "+84" + digits[1:]
    return digits or None


class ContactForm(FlaskForm):
    """The contact details a person may change themselves (the rest comes from the registry)."""

    email = StringField(
        _l("Email address"),
        filters=[lambda v: (v or "").strip() or None],
        validators=[
            Optional(),
            Length(max=254),
            # One ``@``, a dotted domain, no spaces: delivery is what really checks an address.
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z",
                   message=_l("Enter an email address like ten@example.vn.")),
        ],
    )
    phone_number = StringField(
        _l("Mobile phone number"),
        filters=[_normalise_phone],
        validators=[
            Optional(),
            # Vietnamese mobile numbers: +84 then 9 digits starting 3, 5, 7, 8 or 9.
            Regexp(r"^\+84[35789][0-9]{8}\Z",
                   message=_l("Enter a Vietnamese mobile number like 0912 345 678.")),
        ],
    )


class PasswordConfirmForm(FlaskForm):
    """Re-entering the password before a sensitive change (removing the second factor)."""

    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=256)],
    )
