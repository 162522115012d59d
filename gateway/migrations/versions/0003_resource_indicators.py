"""resource indicators (RFC 8707)

The resource an authorization code and a token were issued for (authorization_codes.resource,
tokens.resource): the access token's audience. Nullable: existing rows have none, which means
the client's own client_id, as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 05:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resource', sa.Text(), nullable=True))

    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resource', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_column('resource')

    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('resource')
