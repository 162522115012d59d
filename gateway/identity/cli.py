"""``grant-role`` and ``revoke-role``: staff roles from the command line (``create-citizen``,
which hashes a password, is ``enrolment.cli``)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db


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
