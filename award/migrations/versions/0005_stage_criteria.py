"""Per-stage criteria (a stage may have criteria of its own).

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

import award.models.types


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    pass  # SLOT: filled in by the work that owns this revision


def downgrade():
    pass
