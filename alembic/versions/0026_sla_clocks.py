"""sla clocks: each conversation's SLA milestones and wake-up time, its clocks (state per target, one missed clock per
breach), the warnings and escalation steps done, and on conversations a priority and the next deadline

Existing conversations start with priority 0 and no SLA bookkeeping: their clocks start at their next milestone.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 02:33:50.506401
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('conversation_sla',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('wake_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id')
    )
    with op.batch_alter_table('conversation_sla', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_sla_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_conversation_sla_wake', ['wake_at'], unique=False,
                              postgresql_where=sa.text('wake_at IS NOT NULL'),
                              sqlite_where=sa.text('wake_at IS NOT NULL'))

    op.create_table('sla_actions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'key', name='uq_sla_actions_conversation_key')
    )
    with op.batch_alter_table('sla_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_actions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sla_clocks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'target', 'started_at', name='uq_sla_clocks_conversation_target_start')
    )
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_clocks_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_sla_clocks_tenant_due', ['tenant_id', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_clocks_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('sla_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_conversations_tenant_sla_due', ['tenant_id', 'sla_due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_tenant_sla_due')
        batch_op.drop_column('sla_started_at')
        batch_op.drop_column('sla_due_at')
        batch_op.drop_column('priority')

    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_clocks_tenant_id'))
        batch_op.drop_index('ix_sla_clocks_tenant_due')
        batch_op.drop_index(batch_op.f('ix_sla_clocks_conversation_id'))

    op.drop_table('sla_clocks')
    with op.batch_alter_table('sla_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_actions_tenant_id'))

    op.drop_table('sla_actions')
    with op.batch_alter_table('conversation_sla', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_sla_wake')
        batch_op.drop_index(batch_op.f('ix_conversation_sla_tenant_id'))

    op.drop_table('conversation_sla')
