"""The database schema's version: Alembic revisions in ``gateway/migrations`` (Flask-Migrate).

``init-db`` calls :func:`upgrade_database`, which brings any database the gateway may meet to
the newest revision:

- empty: every revision runs (``upgrade head``);
- versioned (``alembic_version`` exists): the missing revisions run;
- made by ``db.create_all`` before migrations existed (tables, no ``alembic_version``): with
  exactly the schema of release 6ab3e3e it is stamped at :data:`RELEASE_REVISION` and upgraded;
  with exactly the current models' schema it is stamped at ``head``; anything in between is
  refused with the differences (docs/operations.md, "Database", says what to do).
"""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect

from .extensions import db

#: Revision 1: the schema of release 6ab3e3e, what ``db.create_all`` made for deployments.
RELEASE_REVISION = "0001"

#: The tables and columns of release 6ab3e3e (revision 1; tests/test_migrations.py checks it).
RELEASE_SCHEMA = {
    "authorization_codes": ("id", "code_digest", "client_id", "citizen_id", "redirect_uri",
                            "scope", "nonce", "sid", "auth_time", "acr", "amr", "claims",
                            "code_challenge", "code_challenge_method", "issued_at",
                            "expires_at", "used_at"),
    "citizens": ("id", "subject", "personal_id", "family_name", "middle_name", "given_name",
                 "birthdate", "gender", "email", "email_verified", "phone_number",
                 "phone_number_verified", "street_address", "ward_code", "locality", "region",
                 "password_hash", "assurance_level", "created_at", "updated_at"),
    "client_assertion_jtis": ("id", "client_id", "jti_digest", "expires_at"),
    "consents": ("id", "citizen_id", "client_id", "scope", "granted_at"),
    "initial_access_tokens": ("id", "token_digest", "agency_name", "agency_level",
                              "administrative_unit_code", "created_at", "expires_at",
                              "max_uses", "uses", "revoked_at"),
    "login_failures": ("id", "personal_id", "failed_at"),
    "oauth2_clients": ("id", "created_at", "registration_access_token_digest",
                       "initial_access_token_id", "client_id", "client_secret",
                       "client_id_issued_at", "client_secret_expires_at", "client_metadata"),
    "pending_authorizations": ("id", "uid", "browser_digest", "client_id", "params",
                               "login_sid", "consent_given", "denied", "created_at",
                               "expires_at"),
    "qr_logins": ("id", "code_digest", "pending_uid", "browser_digest", "client_id",
                  "ip_address", "user_agent", "status", "created_at", "expires_at", "phone_sid",
                  "citizen_id", "phone_acr", "phone_amr", "decided_at", "consumed_at"),
    "recovery_codes": ("id", "citizen_id", "code_digest", "used_at"),
    "signing_keys": ("id", "kid", "kty", "private_jwk", "active", "created_at", "retired_at"),
    "tokens": ("id", "access_token_digest", "refresh_token_digest", "client_id", "citizen_id",
               "authorization_code_id", "sid", "token_type", "scope", "issued_at", "expires_in",
               "revoked_at"),
    "totp_credentials": ("id", "citizen_id", "secret", "last_step", "created_at"),
    "user_sessions": ("id", "sid", "handle_digest", "citizen_id", "auth_time", "acr", "amr",
                      "created_at", "last_seen_at", "expires_at", "ended_at", "ip_address",
                      "user_agent"),
}

VERSION_TABLE = "alembic_version"


class SchemaError(Exception):
    """The database's schema is one no revision describes; it is left untouched."""


def alembic_config():
    """The Alembic configuration of the bound app (Flask-Migrate's, ``gateway/migrations``)."""
    return current_app.extensions["migrate"].migrate.get_config()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences() -> list:
    """Alembic's differences between the database and the models (empty when they agree)."""
    from . import models  # noqa: F401  (registers every model)

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def describe(difference) -> str:
    """One line for one of Alembic's differences, e.g. ``add_column tokens.family_id``."""
    if isinstance(difference, list):  # modify_* changes of one column come grouped
        return "; ".join(describe(item) for item in difference)
    operation, *args = difference
    try:
        if operation in ("add_table", "remove_table"):
            return f"{operation} {args[0].name}"
        if operation in ("add_column", "remove_column"):
            return f"{operation} {args[1]}.{args[2].name}"
        if operation.startswith("modify_"):
            return f"{operation} {args[1]}.{args[2]}"
        return f"{operation} {args[0].name} on {args[0].table.name}"  # indexes, constraints
    except (AttributeError, IndexError, TypeError):
        return operation


def _check_release_schema(tables: set[str]) -> bool:
    if tables != set(RELEASE_SCHEMA):
        return False
    inspector = inspect(db.engine)
    return all(
        {column["name"] for column in inspector.get_columns(table)} == set(columns)
        for table, columns in RELEASE_SCHEMA.items()
    )


def upgrade_database() -> str:
    """Bring the database to the newest revision (idempotent); returns what was done."""
    from . import models  # noqa: F401  (registers every model)

    config = alembic_config()
    head = head_revision()
    tables = set(inspect(db.engine).get_table_names())
    if VERSION_TABLE in tables:
        before = current_revision()
        if before == head:
            return f"schema at revision {head}, nothing to do"
        command.upgrade(config, "head")
        return f"schema upgraded from revision {before} to {head}"
    if not tables & set(db.metadata.tables):
        command.upgrade(config, "head")
        return f"schema created at revision {head}"
    # Tables without a version: made by db.create_all, before migrations existed.
    if not schema_differences():
        command.stamp(config, "head")
        return f"existing schema matches the models, stamped at revision {head}"
    if _check_release_schema(tables):
        command.stamp(config, RELEASE_REVISION)
        command.upgrade(config, "head")
        return (f"schema of release 6ab3e3e stamped at revision {RELEASE_REVISION}, "
                f"upgraded to {head}")
    differences = "\n".join(f"  {describe(difference)}" for difference in schema_differences())
    raise SchemaError(
        "The database has tables but no alembic_version, and its schema is neither that of "
        "release 6ab3e3e nor the current one; nothing was changed. Differences from the "
        f"current models:\n{differences}\nSee docs/operations.md, \"Database\". (A development "
        "or demo database can simply be deleted instead.)"
    )
