"""Results settings of a stage (tie-break, too few judges to trim) and an award tier's certificate text.

Existing rows keep today's behaviour: no tie-break (equal totals share the rank), refuse to trim
with too few judges, and the default certificate text.

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
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tie_break', sa.String(length=60), server_default='', nullable=False))
        batch_op.add_column(sa.Column('tie_break_criteria', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('too_few_judges', sa.String(length=10), server_default='error',
                                      nullable=False))
    with op.batch_alter_table('award_tier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('award_text', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('award_tier', schema=None) as batch_op:
        batch_op.drop_column('award_text')
    with op.batch_alter_table('stage', schema=None) as batch_op:
        batch_op.drop_column('too_few_judges')
        batch_op.drop_column('tie_break_criteria')
        batch_op.drop_column('tie_break')
