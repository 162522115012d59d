"""Forms for people; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

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
