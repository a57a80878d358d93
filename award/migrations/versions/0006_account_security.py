"""Account security: password history, forced change, idle tracking.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

import award.models.types


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    pass  # SLOT: filled in by the work that owns this revision


def downgrade():
    pass
