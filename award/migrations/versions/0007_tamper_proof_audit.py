"""Tamper-proof audit: append-only triggers and Merkle checkpoints.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

import award.models.types


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    pass  # SLOT: filled in by the work that owns this revision


def downgrade():
    pass
