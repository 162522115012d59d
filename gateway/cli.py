"""Command-line interface (``flask --app gateway <command>``): dashed verbs, one per job."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .enrolment.cli import create_citizen_command
from .extensions import db
from .identity.cli import grant_role_command, revoke_role_command
from .oidc.cli import (
    create_client_command,
    deliver_logouts_command,
    end_expired_sessions_command,
    list_keys_command,
    list_logout_deliveries_command,
    rotate_keys_command,
)

#: Demo citizens (documented in README.md). ID numbers follow docs/domain.md §3: province 086
#: (Vĩnh Long), century/sex digit and birth year consistent with the birth date.
DEMO_PASSWORD = "VinhLong@2025"
DEMO_CITIZENS = [
    dict(personal_id="086090001234", family_name="Nguyễn", middle_name="Văn", given_name="An",
         birthdate=date(1990, 5, 12), gender="male", email="an.nguyen@example.vn",
         email_verified=True, phone_number="+84901234567", street_address="12 Đường 2 Tháng 9",
         locality="Phường Long Châu", region="Tỉnh Vĩnh Long", ward_code="29551"),
    dict(personal_id="086185005678", family_name="Trần", middle_name="Thị", given_name="Bình",
         birthdate=date(1985, 11, 3), gender="female", email="binh.tran@example.vn",
         phone_number="+84907654321", locality="Phường Phước Hậu", region="Tỉnh Vĩnh Long",
         ward_code="29557"),
    dict(personal_id="086201009012", family_name="Lê", middle_name="Hoàng", given_name="Cường",
         birthdate=date(2001, 2, 20), gender="male"),
    # Level 2, legal representative of DEMO_BUSINESS (issue 4 §6: acting for a business).
    dict(personal_id="086088004321", family_name="Võ", middle_name="Thành", given_name="Phát",
         birthdate=date(1988, 7, 14), gender="male", email="phat.vo@example.vn",
         locality="Phường Long Châu", region="Tỉnh Vĩnh Long", ward_code="29551"),
    # Commune officer of Phường Phước Hậu (29557): verifies residents in person (level 2).
    dict(personal_id="086180002468", family_name="Đặng", middle_name="Thị", given_name="Mai",
         birthdate=date(1980, 3, 8), gender="female", email="mai.dang@example.vn",
         locality="Phường Phước Hậu", region="Tỉnh Vĩnh Long", ward_code="29557"),
]
#: The demo business (tax code valid under stdnum.vn.mst) and its legal representative.
DEMO_BUSINESS = dict(tax_code="1500456787", name="Công ty TNHH Thương mại Phát Đạt Vĩnh Long",
                     ward_code="29551", representative="086088004321")
#: Staff roles of the demo: (personal ID, role, unit code).
DEMO_ROLES = [("086180002468", "commune_officer", "29557")]
#: What the launcher prints next to each demo account.
DEMO_NOTES = {
    "086088004321": "Mức độ 2; người đại diện theo pháp luật, MST 1500456787",
    "086180002468": "Cán bộ Phường Phước Hậu: /officer (cài ứng dụng xác thực lần đầu)",
}


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or migrate the schema to the newest revision, encrypt the private signing keys
    under the first KEY_ENCRYPTION_KEY, and create the signing keys (idempotent)."""
    from .oidc.keys import KeyEncryptionError, create_signing_keys, encrypt_stored_keys
    from .schema import SchemaError, upgrade_database

    try:
        click.echo(f"Database: {upgrade_database()}.")
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        counts = encrypt_stored_keys()
    except KeyEncryptionError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc} Nothing was changed in the keys.") from None
    made = create_signing_keys()
    db.session.commit()
    if counts["encrypted"] or counts["re_encrypted"]:
        click.echo(f"Private keys: {counts['encrypted']} encrypted, {counts['re_encrypted']} "
                   "re-encrypted under the first GATEWAY_KEY_ENCRYPTION_KEY.")
    if not current_app.config.get("KEY_ENCRYPTION_KEY"):
        click.echo("Warning: GATEWAY_KEY_ENCRYPTION_KEY is not set: private keys are stored "
                   "unencrypted (development only).")
    click.echo(f"Database ready; {len(made)} new signing key(s).")


@click.command("seed-demo")
@with_appcontext
@click.option("--province-url", default="http://127.0.0.1:5001", show_default=True)
@click.option("--commune-url", default="http://127.0.0.1:5002", show_default=True)
@click.option("--write-clients", type=click.Path(dir_okay=False), default=None,
              help="Write the portals' client credentials and demo accounts to this JSON file.")
def seed_demo_command(province_url, commune_url, write_clients):
    """Add demo citizens and register the two sample portals (idempotent)."""
    from .accounts.passwords import hash_password
    from .identity.services import create_citizen, get_citizen_by_personal_id
    from .oidc.registry import get_client_registry

    for data in DEMO_CITIZENS:
        if get_citizen_by_personal_id(data["personal_id"]) is None:
            create_citizen(password_hash=hash_password(DEMO_PASSWORD), **data)
    db.session.commit()
    _seed_demo_business_and_roles()

    portals = {
        "province": dict(client_id="province-portal", base_url=province_url.rstrip("/"),
                         client_name="Cổng Dịch vụ công tỉnh Vĩnh Long",
                         token_endpoint_auth_method="client_secret_basic",
                         scope="openid profile email phone address personal_id organisation"),
        "commune": dict(client_id="commune-portal", base_url=commune_url.rstrip("/"),
                        client_name="Ủy ban nhân dân Phường Phước Hậu",
                        token_endpoint_auth_method="none", scope="openid profile"),
    }
    out = {}
    for key, spec in portals.items():
        base = spec["base_url"]
        redirect_uris = [f"{base}/callback"]
        logout_uris = [f"{base}/", f"{base}/logged-out"]
        # Back-Channel Logout 1.0: the kit's endpoint (clients/kit/backchannel.py), with sid.
        logout_metadata = {"backchannel_logout_uri": f"{base}/backchannel-logout",
                           "backchannel_logout_session_required": True}
        if key == "commune":
            # Front-Channel Logout 1.0 too, so the demo shows both: the gateway's signed-out
            # page loads the commune portal's /frontchannel-logout in an iframe.
            logout_metadata.update(frontchannel_logout_uri=f"{base}/frontchannel-logout",
                                   frontchannel_logout_session_required=True)
        registry = get_client_registry()
        metadata = {"client_name": spec["client_name"], "redirect_uris": redirect_uris,
                    "post_logout_redirect_uris": logout_uris,
                    "token_endpoint_auth_method": spec["token_endpoint_auth_method"],
                    "scope": spec["scope"], **logout_metadata}
        if registry.get(spec["client_id"]) is not None:
            registry.update(spec["client_id"], metadata, administrator=True)
            secret = registry.reset_secret(spec["client_id"])
        else:
            secret = registry.register(metadata, administrator=True,
                                       client_id=spec["client_id"]).client_secret
        db.session.commit()
        client = registry.get(spec["client_id"])
        out[key] = {"client_id": client.client_id, "client_secret": secret, "base_url": base,
                    "scope": spec["scope"]}
    out["citizens"] = [
        {"personal_id": c["personal_id"], "password": DEMO_PASSWORD,
         "name": " ".join(p for p in (c["family_name"], c["middle_name"], c["given_name"]) if p),
         "note": DEMO_NOTES.get(c["personal_id"], "")}
        for c in DEMO_CITIZENS
    ]
    out["issuer"] = current_app.config["ISSUER"]
    if write_clients:
        path = Path(write_clients)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
        path.chmod(0o600)
    click.echo(f"Demo data ready: {len(DEMO_CITIZENS)} citizens, 2 portals.")


def _seed_demo_business_and_roles() -> None:
    """Phát at level 2 with his business; Mai as the officer of Phường Phước Hậu (idempotent)."""
    from .identity.businesses import create_business, get_business_by_tax_code
    from .identity.services import get_citizen_by_personal_id
    from .identity.staff import grant_role

    representative = get_citizen_by_personal_id(DEMO_BUSINESS["representative"])
    representative.assurance_level = 2
    if get_business_by_tax_code(DEMO_BUSINESS["tax_code"]) is None:
        create_business(representative, tax_code=DEMO_BUSINESS["tax_code"],
                        name=DEMO_BUSINESS["name"], ward_code=DEMO_BUSINESS["ward_code"])
    for personal_id, role, unit_code in DEMO_ROLES:
        grant_role(get_citizen_by_personal_id(personal_id), role, unit_code)
    db.session.commit()


def _prune_steps():
    """``(kind, function)`` in the order they must run: tokens before the codes they came from,
    session participants before their sessions."""
    from .accounts import activity
    from .oidc import keys, logout_outbox, storage, token_store
    from .stores.hot import get_hot_store

    return [
        ("hot_entries", get_hot_store().purge_expired),
        ("tokens", token_store.delete_dead_tokens),
        ("authorization_codes", storage.delete_old_authorization_codes),
        ("session_participants", storage.delete_old_session_participants),
        ("session_endings", storage.delete_old_session_endings),
        ("logout_deliveries", logout_outbox.delete_old_logout_deliveries),
        ("sign_in_events", activity.delete_old_sign_in_events),
        ("disclosure_records", activity.delete_old_disclosure_records),
        ("signing_keys", keys.delete_expired_signing_keys),
    ]


@click.command("prune-records")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def prune_records_command(dry_run, as_json):
    """Delete expired protocol records and old logs nobody needs any more (run daily).

    Never touches citizens, businesses, representations, verifications, roles, consents,
    clients or initial access tokens; signing keys only once they have left the JWKS
    (docs/operations.md, "Routine").

    Expired SSO sessions that were never ended are ended first, as a sign-out ends them (their
    clients' back-channel logouts queued), so none is forgotten before its clients were told."""
    from .oidc import logout, session_store

    days = current_app.config.get("RECORD_RETENTION_DAYS")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise click.ClickException("RECORD_RETENTION_DAYS must be whole days, 1 or more.")
    if dry_run:
        ended = session_store.count_expired_user_sessions()
    else:
        swept = logout.end_expired_sessions()  # commits each ending: not undone by a failure below
        ended = swept["expired"] + swept["idle"]
    counts = {}
    try:
        for kind, step in _prune_steps():
            counts[kind] = step()
    except BaseException:
        db.session.rollback()
        raise
    if dry_run:
        # The same deletions in the same order (so the counts are exact), undone.
        db.session.rollback()
    else:
        db.session.commit()
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "ended_sessions": ended, "deleted": counts}))
        return
    click.echo(("Would end" if dry_run else "Ended") + f" expired sessions: {ended}")
    click.echo("Would delete (dry run):" if dry_run else "Deleted:")
    for kind, count in counts.items():
        click.echo(f"  {kind}: {count}")


# The composition root holds what joins the kernel's registry with the identity register:
# an initial access token names an agency by its administrative unit.


@click.command("issue-registration-token")
@with_appcontext
@click.option("--agency-name", required=True, help="The agency, as people know it.")
@click.option("--level", "agency_level", required=True,
              type=click.Choice(["province", "district", "commune"]))
@click.option("--unit-code", "administrative_unit_code", required=True,
              help="Official code of the agency's administrative unit (86, a district or a "
                   "commune code; pre-2025 and 2025 lists).")
@click.option("--expires-in", "days", default=30, show_default=True,
              type=click.IntRange(1, 365), help="Days the token stays valid.")
@click.option("--max-uses", default=None, type=click.IntRange(1, 1000),
              help="How many apps it may register (default: no limit until it expires).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
def issue_registration_token_command(agency_name, agency_level, administrative_unit_code, days,
                                     max_uses, as_json):
    """Issue an initial access token (RFC 7591 §3) that lets one agency register its apps at
    /register. Printed once: only its hash is stored."""
    from .identity.units import InvalidUnit, validate_unit
    from .oidc.storage import create_initial_access_token

    agency_name = agency_name.strip()
    if not 0 < len(agency_name) <= 200:
        raise click.UsageError("--agency-name: 1 to 200 characters")
    try:
        unit = validate_unit(agency_level, administrative_unit_code)
    except InvalidUnit as exc:
        raise click.UsageError(f"--unit-code: {exc}") from exc
    record, token = create_initial_access_token(
        agency_name=agency_name, agency_level=agency_level,
        administrative_unit_code=unit.code, lifetime=days * 86400, max_uses=max_uses,
    )
    db.session.commit()
    result = {"initial_access_token": token, "agency_name": agency_name,
              "agency_level": agency_level, "administrative_unit_code": unit.code,
              "administrative_unit_name": unit.name, "expires_at": record.expires_at,
              "max_uses": max_uses}
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"initial_access_token: {token}")
    click.echo(f"agency:               {agency_name} ({agency_level}, {unit.code} {unit.name})")
    click.echo(f"valid for:            {days} days" + (f", {max_uses} registrations"
                                                         if max_uses else ""))
    click.echo("Give it to the agency now: it is kept only as a hash and cannot be shown again.")


def init_app(app) -> None:
    for command in (init_db_command, seed_demo_command, create_citizen_command,
                    create_client_command, issue_registration_token_command,
                    rotate_keys_command, list_keys_command, deliver_logouts_command,
                    end_expired_sessions_command,
                    list_logout_deliveries_command, grant_role_command, revoke_role_command,
                    prune_records_command):
        app.cli.add_command(command)
