"""Personal data: retention settings and anonymisation.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

import award.models.types


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    pass  # SLOT: filled in by the work that owns this revision


def downgrade():
    pass
