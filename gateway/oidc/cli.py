"""``create-client`` and ``rotate-keys``."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..extensions import db


@click.command("create-client")
@with_appcontext
@click.option("--name", "client_name", required=True, help="Agency app name shown to people.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option("--auth-method", "token_endpoint_auth_method", default="client_secret_basic",
              type=click.Choice(["client_secret_basic", "client_secret_post", "none"]),
              show_default=True)
@click.option("--grant-type", "grant_types", multiple=True, default=["authorization_code"],
              show_default=True)
@click.option("--scope", default="openid profile email phone address", show_default=True)
@click.option("--id-token-alg", "id_token_signed_response_alg", default="RS256",
              type=click.Choice(["RS256", "PS256", "ES256"]), show_default=True)
@click.option("--client-id", default=None, help="Choose the client_id (default: random).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
def create_client_command(as_json, **options):
    """Register a relying party; prints its client_id and, once, its secret."""
    from .clients import InvalidClientMetadata, create_client

    try:
        client, secret = create_client(
            **{k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
        )
    except InvalidClientMetadata as exc:
        db.session.rollback()
        raise click.UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret,
                               **client.client_metadata}))
        return
    click.echo(f"client_id:     {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("Store the secret now: it is kept only as a hash and cannot be shown again.")


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command():
    """Make new signing keys; the old ones stay published for tokens already issued."""
    from .keys import rotate_keys

    made = rotate_keys()
    db.session.commit()
    click.echo("New key ids: " + ", ".join(k.kid for k in made))
