"""analytics conversation hours: the conversations behind each heatmap cell

`analytics_conversation_hours` keeps, per tenant day and local hour, each conversation whose customer wrote then
(with its number and team), so a weekday × hour cell over several weeks counts each conversation once, as its
click-through lists them. Filled by `rebuild-rollups` (run it once after upgrading: until then the heatmap shows
no stored days).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_conversation_hours',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'day', 'hour', 'conversation_id', name='uq_analytics_conversation_hours_key')
    )
    with op.batch_alter_table('analytics_conversation_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_conversation_hours_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_conversation_hours_conversation_id'), ['conversation_id'],
                              unique=False)
        batch_op.create_index('ix_analytics_conversation_hours_cells',
                              ['tenant_id', 'weekday', 'hour', 'conversation_id', 'day'], unique=False,
                              postgresql_include=['inbox_id', 'team_id'])


def downgrade() -> None:
    with op.batch_alter_table('analytics_conversation_hours', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_conversation_hours_cells')
        batch_op.drop_index(batch_op.f('ix_analytics_conversation_hours_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_analytics_conversation_hours_tenant_id'))
    op.drop_table('analytics_conversation_hours')
