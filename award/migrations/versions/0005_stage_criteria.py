"""Per-stage criteria (a stage may have criteria of its own).

A criterion with a ``stage_id`` is one of the criteria that stage judges its category on instead of
the category's own (those keep ``stage_id`` NULL). Names stay unique among the category's own
criteria (a partial unique index) and among one stage's criteria of a category.

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
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_criterion_stage_id_stage'), 'stage', ['stage_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_criterion_stage_id'), ['stage_id'], unique=False)
        batch_op.drop_constraint(batch_op.f('uq_criterion_category_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_criterion_stage_id'), ['stage_id', 'category_id', 'name'])
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.create_index('uq_criterion_category_name', ['category_id', 'name'], unique=True,
                              sqlite_where=sa.text('stage_id IS NULL'), postgresql_where=sa.text('stage_id IS NULL'))


def downgrade():
    op.execute("DELETE FROM criterion WHERE stage_id IS NOT NULL")  # marks on them must go first
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.drop_index('uq_criterion_category_name')
        batch_op.drop_constraint(batch_op.f('uq_criterion_stage_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_criterion_category_id'), ['category_id', 'name'])
        batch_op.drop_index(batch_op.f('ix_criterion_stage_id'))
        batch_op.drop_constraint(batch_op.f('fk_criterion_stage_id_stage'), type_='foreignkey')
        batch_op.drop_column('stage_id')
