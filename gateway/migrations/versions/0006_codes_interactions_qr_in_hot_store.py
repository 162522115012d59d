"""codes, pending interactions and QR sign-ins in the hot store

Live authorization codes, pending authorization requests (interactions) and QR sign-in codes
move to the hot store (gateway/oidc/code_store.py, gateway/oidc/interaction_store.py,
gateway/accounts/qr_store.py): the tables pending_authorizations and qr_logins go, and so do the
nonce and PKCE-challenge indexes of authorization_codes, whose rows are now the grants redeemed
codes became (replays of a nonce or challenge are remembered in the hot store). Their rows
lived for minutes and are not copied: a sign-in or QR code in progress during the upgrade starts
again; codes issued but not yet redeemed are refused (the client sends the person back to
/authorize).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qr_logins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qr_logins_pending_uid'))
        batch_op.drop_index(batch_op.f('ix_qr_logins_ip_address'))
        batch_op.drop_index(batch_op.f('ix_qr_logins_created_at'))
        batch_op.drop_index(batch_op.f('ix_qr_logins_citizen_id'))
        batch_op.drop_index(batch_op.f('ix_qr_logins_browser_digest'))
    op.drop_table('qr_logins')
    op.drop_table('pending_authorizations')
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_authorization_codes_client_nonce')
        batch_op.drop_index('ix_authorization_codes_client_challenge')
    # Codes issued but not redeemed are now in the hot store; the rows left are grants.
    op.execute("DELETE FROM authorization_codes WHERE used_at IS NULL")


def downgrade():
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.create_index('ix_authorization_codes_client_challenge', ['client_id', 'code_challenge'], unique=False)
        batch_op.create_index('ix_authorization_codes_client_nonce', ['client_id', 'nonce'], unique=False)
    op.create_table('pending_authorizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('browser_digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=48), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('login_sid', sa.String(length=64), nullable=True),
    sa.Column('consent_given', sa.Boolean(), nullable=False),
    sa.Column('denied', sa.Boolean(), nullable=False),
    sa.Column('acting_for', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_authorizations')),
    sa.UniqueConstraint('uid', name=op.f('uq_pending_authorizations_uid'))
    )
    op.create_table('qr_logins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('pending_uid', sa.String(length=64), nullable=False),
    sa.Column('browser_digest', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=48), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.Column('phone_sid', sa.String(length=64), nullable=True),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('phone_acr', sa.String(length=40), nullable=True),
    sa.Column('phone_amr', sa.JSON(), nullable=True),
    sa.Column('decided_at', sa.Integer(), nullable=True),
    sa.Column('consumed_at', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_qr_logins_citizen_id_citizens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qr_logins')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_qr_logins_code_digest'))
    )
    with op.batch_alter_table('qr_logins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qr_logins_browser_digest'), ['browser_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_qr_logins_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qr_logins_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qr_logins_ip_address'), ['ip_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_qr_logins_pending_uid'), ['pending_uid'], unique=False)
