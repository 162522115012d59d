"""``create-citizen``: enrol a person from the command line."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from ..extensions import db


@click.command("create-citizen")
@with_appcontext
@click.option("--personal-id", required=True, help="12-digit personal ID number.")
@click.option("--family-name", required=True)
@click.option("--middle-name", default="")
@click.option("--given-name", required=True)
@click.option("--birthdate", required=True, help="YYYY-MM-DD")
@click.option("--gender", type=click.Choice(["male", "female"]), required=True)
@click.option("--email", default=None)
@click.option("--phone-number", default=None)
@click.password_option(help="At least 8 characters; prompted for when omitted.")
def create_citizen_command(personal_id, family_name, middle_name, given_name, birthdate, gender,
                           email, phone_number, password):
    """Create a citizen account (level 1)."""
    from .services import create_citizen

    try:
        born = date.fromisoformat(birthdate)
        citizen = create_citizen(
            personal_id=personal_id, family_name=family_name, middle_name=middle_name,
            given_name=given_name, birthdate=born, gender=gender, password=password,
            email=email, phone_number=phone_number,
        )
        db.session.commit()
    except ValueError as exc:
        db.session.rollback()
        raise click.UsageError(str(exc)) from exc
    click.echo(f"Created citizen {citizen.full_name} ({citizen.personal_id}).")


def _citizen_or_fail(personal_id: str):
    from .services import get_citizen_by_personal_id

    citizen = get_citizen_by_personal_id(personal_id.strip())
    if citizen is None:
        raise click.UsageError(f"no citizen with personal ID number {personal_id}")
    return citizen


@click.command("grant-role")
@with_appcontext
@click.argument("personal_id")
@click.argument("role", type=click.Choice(["commune_officer", "administrator"]))
@click.option("--unit", "unit_code", default=None,
              help="Commune-level unit code (either structure) a commune officer serves.")
def grant_role_command(personal_id, role, unit_code):
    """Give a person a staff role (they must set up an authenticator app to use it)."""
    from .staff import grant_role

    citizen = _citizen_or_fail(personal_id)
    try:
        assignment = grant_role(citizen, role, unit_code)
        db.session.commit()
    except ValueError as exc:
        db.session.rollback()
        raise click.UsageError(str(exc)) from exc
    scope = f" for unit {assignment.unit_code}" if assignment.unit_code else ""
    click.echo(f"{citizen.full_name} is {role}{scope}.")


@click.command("revoke-role")
@with_appcontext
@click.argument("personal_id")
@click.argument("role", type=click.Choice(["commune_officer", "administrator"]))
@click.option("--unit", "unit_code", default=None, help="Only this unit (default: every unit).")
def revoke_role_command(personal_id, role, unit_code):
    """Take a staff role away."""
    from .staff import revoke_role

    citizen = _citizen_or_fail(personal_id)
    removed = revoke_role(citizen, role, unit_code)
    db.session.commit()
    click.echo(f"Removed {removed} {role} role(s) from {citizen.full_name}.")
