"""hot store

Short-lived state moves to the hot store (gateway/stores/): the table hot_entries holds it when
no Redis is configured. Used client-assertion jtis and failed sign-ins now live there (replay
cache, throttle counters keyed by a digest of the personal ID number), so their tables go; their
rows only mattered for minutes and are not copied (a replayed assertion is still refused by its
exp once the clock skew has passed; throttle windows start afresh).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hot_entries',
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('namespace', 'key', name=op.f('pk_hot_entries'))
    )
    with op.batch_alter_table('hot_entries', schema=None) as batch_op:
        batch_op.create_index('ix_hot_entries_expires_at', ['expires_at'], unique=False)

    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_remote_addr'))
        batch_op.drop_index(batch_op.f('ix_login_failures_personal_id'))
        batch_op.drop_index(batch_op.f('ix_login_failures_failed_at'))

    op.drop_table('login_failures')
    with op.batch_alter_table('client_assertion_jtis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_assertion_jtis_expires_at'))
        batch_op.drop_index('ix_client_assertion_jtis_client_jti')

    op.drop_table('client_assertion_jtis')


def downgrade():
    op.create_table('client_assertion_jtis',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=48), nullable=False),
    sa.Column('jti_digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_assertion_jtis'))
    )
    with op.batch_alter_table('client_assertion_jtis', schema=None) as batch_op:
        batch_op.create_index('ix_client_assertion_jtis_client_jti', ['client_id', 'jti_digest'], unique=True)
        batch_op.create_index(batch_op.f('ix_client_assertion_jtis_expires_at'), ['expires_at'], unique=False)

    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('personal_id', sa.String(length=12), nullable=False),
    sa.Column('failed_at', sa.Integer(), nullable=False),
    sa.Column('remote_addr', sa.String(length=45), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failures_failed_at'), ['failed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_personal_id'), ['personal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_remote_addr'), ['remote_addr'], unique=False)

    with op.batch_alter_table('hot_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_hot_entries_expires_at')

    op.drop_table('hot_entries')
