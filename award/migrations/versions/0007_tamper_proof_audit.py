"""Tamper-proof audit: append-only triggers and Merkle checkpoints.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

import award.models.types
from award.audit import triggers


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', award.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('recorded_by', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint'))
    )
    dialect = op.get_bind().dialect.name
    triggers.run(op.execute, triggers.create_statements(dialect))


def downgrade():
    dialect = op.get_bind().dialect.name
    triggers.run(op.execute, triggers.drop_statements(dialect))
    op.drop_table('audit_checkpoint')
