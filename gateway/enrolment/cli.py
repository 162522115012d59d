"""``create-citizen``: enrol a person from the command line (the password hashed here, by
``accounts.passwords``; ``identity`` stores only the hash)."""

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
    from ..accounts import passwords
    from ..identity.services import create_citizen

    try:
        born = date.fromisoformat(birthdate)
        citizen = create_citizen(
            personal_id=personal_id, family_name=family_name, middle_name=middle_name,
            given_name=given_name, birthdate=born, gender=gender,
            password_hash=passwords.hash_password(password),
            email=email, phone_number=phone_number,
        )
        db.session.commit()
    except ValueError as exc:
        db.session.rollback()
        raise click.UsageError(str(exc)) from exc
    click.echo(f"Created citizen {citizen.full_name} ({citizen.personal_id}).")
