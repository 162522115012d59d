"""signing key lifecycle and encryption at rest

signing_keys: ``activates_at`` (seconds since the epoch; the key signs from then until a newer
key of its type activates: next / active / retired are derived from these times) replaces
``active`` and ``retired_at``; ``encrypted`` says whether ``private_jwk`` is a Fernet token
(``init-db`` encrypts the existing rows once GATEWAY_KEY_ENCRYPTION_KEY is set).

Existing rows: every key activates at its ``created_at`` or, if later, when the key before it
(retired keys before active ones of their type) was retired, so the active key stays the one
signing and each retired key is published until its ``retired_at`` plus the retention
(gateway/oidc/keys.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:30:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_keys_before = sa.table(
    'signing_keys',
    sa.column('id', sa.Integer()), sa.column('kty', sa.String()),
    sa.column('active', sa.Boolean()), sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('retired_at', sa.DateTime(timezone=True)),
    sa.column('activates_at', sa.Integer()), sa.column('encrypted', sa.Boolean()),
    sa.column('private_jwk', sa.Text()),
)


def _epoch(value) -> int:
    if value is None:
        return 0
    if isinstance(value, str):  # SQLite without type information
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def upgrade():
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activates_at', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('encrypted', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    connection = op.get_bind()
    rows = connection.execute(sa.select(
        _keys_before.c.id, _keys_before.c.kty, _keys_before.c.active,
        _keys_before.c.created_at, _keys_before.c.retired_at)).all()
    # Per type: retired keys first, then active ones, each by creation. A key activates when it
    # was made, or when the key before it was retired if that was later (its successor took
    # over then), and never before the key before it: the newest active key is the one signing.
    ordered = sorted(rows, key=lambda row: (row.kty, bool(row.active), _epoch(row.created_at),
                                            row.id))
    last = {}
    for row in ordered:
        activates_at = max(_epoch(row.created_at), last.get(row.kty, 0))
        last[row.kty] = max(activates_at, _epoch(row.retired_at))
        connection.execute(_keys_before.update().where(_keys_before.c.id == row.id)
                           .values(activates_at=activates_at))

    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.alter_column('activates_at', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('retired_at')
        batch_op.drop_column('active')


def downgrade():
    """Encrypted keys are decrypted with the application's GATEWAY_KEY_ENCRYPTION_KEY (the
    earlier revisions store JSON); the key signing now (by the gateway clock) stays active, the
    others (``next`` ones too) become retired, still published."""
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))

    connection = op.get_bind()
    rows = connection.execute(sa.select(
        _keys_before.c.id, _keys_before.c.kty, _keys_before.c.activates_at,
        _keys_before.c.encrypted, _keys_before.c.private_jwk)).all()
    cipher = None
    if any(row.encrypted for row in rows):
        from cryptography.fernet import Fernet, MultiFernet
        from flask import current_app

        from gateway.config import parse_key_encryption_keys

        keys = parse_key_encryption_keys(current_app.config.get("KEY_ENCRYPTION_KEY"))
        if not keys:
            raise RuntimeError("signing keys are encrypted: set GATEWAY_KEY_ENCRYPTION_KEY to "
                               "downgrade (earlier revisions store them unencrypted)")
        cipher = MultiFernet([Fernet(key) for key in keys])
    from gateway.clock import now as gateway_now

    current = gateway_now()
    signing = {}
    for row in rows:
        best = signing.get(row.kty)
        if row.activates_at <= current and (best is None or
                                            (row.activates_at, row.id) > (best[0], best[1])):
            signing[row.kty] = (row.activates_at, row.id)
    retired_at = datetime.fromtimestamp(current, UTC)
    for row in rows:
        active = signing.get(row.kty, (None, None))[1] == row.id
        values = {"active": active, "retired_at": None if active else retired_at}
        if row.encrypted:
            values["private_jwk"] = cipher.decrypt(row.private_jwk.encode()).decode()
        connection.execute(_keys_before.update().where(_keys_before.c.id == row.id)
                           .values(**values))

    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_column('encrypted')
        batch_op.drop_column('activates_at')
