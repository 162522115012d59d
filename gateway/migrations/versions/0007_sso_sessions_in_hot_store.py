"""SSO sessions in the hot store

SSO sessions move to the hot store (gateway/oidc/session_store.py), found by two sorted indexes
(by the second each session runs out, and by person): the table hot_index holds those when no
Redis is configured. What stays in the database is that a session ended (session_endings, one
row per sid, written with the revoked tokens and the queued logout deliveries), and the
participants. Ended sessions are copied into session_endings; sessions still open at the upgrade
are recorded as ended with the reason "upgrade" (their holders sign in again; no back-channel
logout is sent for them: run `end-expired-sessions` and let the logout worker drain before
upgrading, docs/operations.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hot_index',
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('member', sa.String(length=255), nullable=False),
    sa.Column('score', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('namespace', 'member', name=op.f('pk_hot_index'))
    )
    with op.batch_alter_table('hot_index', schema=None) as batch_op:
        batch_op.create_index('ix_hot_index_namespace_score', ['namespace', 'score'], unique=False)

    op.create_table('session_endings',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=10), nullable=False),
    sa.Column('ended_at', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_session_endings_citizen_id_citizens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sid', name=op.f('pk_session_endings'))
    )
    with op.batch_alter_table('session_endings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_endings_ended_at'), ['ended_at'], unique=False)

    op.execute(
        "INSERT INTO session_endings (sid, citizen_id, reason, ended_at) "
        "SELECT sid, citizen_id, 'logout', ended_at FROM user_sessions WHERE ended_at IS NOT NULL"
    )
    op.execute(
        "INSERT INTO session_endings (sid, citizen_id, reason, ended_at) "
        "SELECT sid, citizen_id, 'upgrade', last_seen_at FROM user_sessions WHERE ended_at IS NULL"
    )
    op.drop_table('user_sessions')


def downgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('handle_digest', sa.String(length=64), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('auth_time', sa.Integer(), nullable=False),
    sa.Column('acr', sa.String(length=40), nullable=False),
    sa.Column('amr', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('last_seen_at', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.Integer(), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_user_sessions_citizen_id_citizens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('handle_digest', name=op.f('uq_user_sessions_handle_digest')),
    sa.UniqueConstraint('sid', name=op.f('uq_user_sessions_sid'))
    )
    # Sessions live in the hot store at this revision; the ended ones come back as ended rows
    # (the handle is unknown: a random placeholder that no cookie names).
    op.execute(
        "INSERT INTO user_sessions (sid, handle_digest, citizen_id, auth_time, acr, amr, "
        "created_at, last_seen_at, expires_at, ended_at) "
        "SELECT sid, 'ended-' || sid, citizen_id, ended_at, 'ended', '[]', ended_at, ended_at, "
        "ended_at, ended_at FROM session_endings WHERE citizen_id IS NOT NULL"
    )
    with op.batch_alter_table('session_endings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_endings_ended_at'))
    op.drop_table('session_endings')
    with op.batch_alter_table('hot_index', schema=None) as batch_op:
        batch_op.drop_index('ix_hot_index_namespace_score')
    op.drop_table('hot_index')
