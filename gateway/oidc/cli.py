"""``create-client``, ``rotate-keys`` and ``list-keys``; single logout's ``deliver-logouts``
worker, ``end-expired-sessions`` and the queue (``list-logout-deliveries``)."""

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
              type=click.Choice(["authorization_code", "refresh_token", "client_credentials"]),
              show_default=True, help="Repeat for several (refresh_token: offline access; "
                                      "client_credentials: agency-to-agency APIs).")
@click.option("--scope", default="openid profile email phone address", show_default=True)
@click.option("--id-token-alg", "id_token_signed_response_alg", default="RS256",
              type=click.Choice(["RS256", "PS256", "ES256"]), show_default=True)
@click.option("--client-id", default=None, help="Choose the client_id (default: random).")
@click.option("--resource-server", is_flag=True,
              help="An API that may check tokens at /introspect (RFC 7662).")
@click.option("--resource", "resource_indicators", multiple=True, metavar="URI",
              help="With --resource-server: a resource indicator (RFC 8707) of this API, an "
                   "absolute https URI; access tokens requested for it have it as aud. Repeat "
                   "for several.")
@click.option("--allowed-resource", "allowed_resources", multiple=True, metavar="URI",
              help="An API (a resource server's --resource) this client may ask access tokens "
                   "for with the resource parameter (RFC 8707). Repeat for several.")
@click.option("--access-token-format", default="opaque", show_default=True,
              type=click.Choice(["opaque", "jwt"]),
              help="jwt: signed RFC 9068 access tokens an API can verify with /jwks.")
@click.option("--backchannel-logout-uri", default=None, metavar="URI",
              help="Back-Channel Logout 1.0: where the gateway posts a logout token (with sid) "
                   "when the person's session ends.")
@click.option("--frontchannel-logout-uri", default=None, metavar="URI",
              help="Front-Channel Logout 1.0: loaded in a hidden frame of the signed-out page.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
def create_client_command(as_json, backchannel_logout_uri, frontchannel_logout_uri, **options):
    """Register a relying party (the same metadata rules as /register); prints its client_id
    and, once, its secret."""
    from authlib.oauth2 import OAuth2Error

    from .registry import create_client

    logout = {}
    if backchannel_logout_uri:
        logout.update(backchannel_logout_uri=backchannel_logout_uri,
                      backchannel_logout_session_required=True)
    if frontchannel_logout_uri:
        logout.update(frontchannel_logout_uri=frontchannel_logout_uri,
                      frontchannel_logout_session_required=True)
    try:
        registration = create_client(
            **{k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()},
            **logout,
        )
        db.session.commit()
    except OAuth2Error as exc:
        db.session.rollback()
        raise click.UsageError(exc.description or exc.error) from exc
    client, secret = registration.client, registration.client_secret
    if as_json:
        click.echo(json.dumps({"client_id": client.client_id, "client_secret": secret,
                               **client.metadata}))
        return
    click.echo(f"client_id:     {client.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("Store the secret now: it is kept only as a hash and cannot be shown again.")


def _echo_keys(as_json: bool, made=None) -> None:
    """Every key, as a table or JSON (with ``made``: ``{"made": [kid…], "keys": […]}``)."""
    from datetime import UTC, datetime

    from .keys import key_statuses

    statuses = [status.as_dict() for status in key_statuses()]
    if as_json:
        click.echo(json.dumps(statuses if made is None
                              else {"made": [k.kid for k in made], "keys": statuses}))
        return

    def when(seconds):
        if seconds is None:
            return "-"
        if seconds == 0:
            return "from the start"
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")

    header = ("kid", "kty", "state", "activates (UTC)", "retires (UTC)", "leaves JWKS (UTC)",
              "encrypted")
    table = [header] + [
        (s["kid"], s["kty"], s["state"], when(s["activates_at"]), when(s["retires_at"]),
         when(s["unpublish_at"]), "yes" if s["encrypted"] else "NO")
        for s in statuses
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                   .rstrip())


@click.command("rotate-keys")
@with_appcontext
@click.option("--now", "immediately", is_flag=True,
              help="Sign with the new keys at once (a compromised key), not after "
                   "KEY_ROTATION_DELAY; the old keys stay published until their tokens expire.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"made": [kid, ...], "keys": [every key]} as JSON (for scripts).')
def rotate_keys_command(immediately, as_json):
    """Publish new signing keys; they sign once KEY_ROTATION_DELAY has passed (or --now)."""
    from .keys import KeyEncryptionError, check_stored_keys, rotate_keys

    try:
        check_stored_keys()
    except KeyEncryptionError as exc:
        raise click.ClickException(f"{exc} No key was made.") from None
    made = rotate_keys(immediately)
    db.session.commit()
    if not as_json:
        if made:
            click.echo("New key ids: " + ", ".join(k.kid for k in made))
        else:
            click.echo("New keys are already published and waiting to activate; nothing made "
                       "(use --now to switch at once).")
    _echo_keys(as_json, made)


@click.command("list-keys")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print every key as JSON (for scripts).")
def list_keys_command(as_json):
    """The signing keys: state (next, active, retired, expired) and when each changes."""
    _echo_keys(as_json)


# -- single logout: the back-channel delivery worker ---------------------------------------------


@click.command("deliver-logouts")
@with_appcontext
@click.option("--loop", is_flag=True, help="Keep running: a worker polling for due deliveries.")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=None,
              help="Seconds between polls with --loop (default: LOGOUT_WORKER_INTERVAL).")
def deliver_logouts_command(loop, interval):
    """End expired SSO sessions, then deliver due back-channel logout tokens, once (or, with
    --loop, until stopped)."""
    import signal
    import time

    from flask import current_app

    from .logout import deliver_due_logouts, end_expired_sessions

    interval = interval or current_app.config["LOGOUT_WORKER_INTERVAL"]
    stopping = []
    if loop:
        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    while True:
        # One batch per poll in the loop, so deliveries never wait behind a long sweep.
        swept = end_expired_sessions(max_batches=1 if loop else None)
        counts = deliver_due_logouts()
        db.session.remove()  # a fresh view of the database at each poll
        ended = swept["expired"] + swept["idle"]
        if not loop or ended:
            click.echo(f"ended {ended} expired sessions")
        if not loop or any(counts.values()):
            click.echo("delivered {delivered}, to retry {retry}, failed {failed}, "
                       "skipped {skipped}".format(**counts))
        if not loop or stopping:
            return
        if swept["more"]:
            continue  # more expired sessions waiting: no pause
        slept = 0.0
        while slept < interval and not stopping:
            time.sleep(min(0.2, interval - slept))
            slept += 0.2
        if stopping:
            return


@click.command("end-expired-sessions")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def end_expired_sessions_command(as_json):
    """End every SSO session past its absolute lifetime or idle timeout as a sign-out does:
    tokens revoked, back-channel logouts queued (delivered by deliver-logouts). For cron."""
    from .logout import end_expired_sessions

    swept = end_expired_sessions()
    db.session.remove()
    ended = swept["expired"] + swept["idle"]
    if as_json:
        click.echo(json.dumps({"ended": ended, "expired": swept["expired"],
                               "idle": swept["idle"]}))
        return
    click.echo(f"ended {ended} expired sessions ({swept['expired']} past their lifetime, "
               f"{swept['idle']} idle)")


@click.command("list-logout-deliveries")
@with_appcontext
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), default=None)
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (for scripts).")
def list_logout_deliveries_command(status, limit, as_json):
    """Back-channel logout deliveries, newest first, and the count of each status."""
    from datetime import UTC, datetime

    from .logout_outbox import count_logout_deliveries, list_logout_deliveries

    rows = list_logout_deliveries(status, limit)
    if as_json:
        click.echo(json.dumps([
            {"id": d.id, "client_id": d.client_id, "uri": d.uri, "status": d.status,
             "attempts": d.attempts, "created_at": d.created_at,
             "next_attempt_at": d.next_attempt_at, "last_attempt_at": d.last_attempt_at,
             "last_status_code": d.last_status_code, "last_error": d.last_error,
             "delivered_at": d.delivered_at, "reason": (d.claims or {}).get("reason"),
             "history": d.history}
            for d in rows
        ]))
        return

    def when(seconds):
        if seconds is None:
            return "-"
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")

    counts = count_logout_deliveries()
    click.echo("  ".join(f"{name}: {counts.get(name, 0)}"
                         for name in ("pending", "delivered", "failed")))
    header = ("id", "client_id", "status", "attempts", "last", "next (UTC)", "uri")
    table = [header] + [
        (str(d.id), d.client_id, d.status, str(d.attempts),
         str(d.last_status_code or d.last_error or "-")[:40], when(d.next_attempt_at), d.uri)
        for d in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        click.echo("  ".join([*cells, row[-1]]))
