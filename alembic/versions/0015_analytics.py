"""analytics: per-conversation-cycle facts, measured responses, per-day rollups and presence history

- `conversation_facts`: one row per conversation cycle (start or reopen → close) with its milestones and durations
  (wall and business seconds), kept by the services that cause them.
- `conversation_responses`: each next response and each missed 24 h window.
- `analytics_daily`: counts and sums per tenant day, number, team and attendant (rebuilt by jobs).
- `presence_intervals`: attendants' online and away stretches.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 17:07:36.673589
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_tenant_created', ['tenant_id', 'created_at'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_messages_failed', ['tenant_id', 'created_at'], unique=False,
                              postgresql_where=sa.text("status = 'failed'"),
                              sqlite_where=sa.text("status = 'failed'"))
    op.create_table('analytics_hourly',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('messages_in', sa.Integer(), nullable=False),
    sa.Column('conversations_in', sa.Integer(), nullable=False),
    sa.Column('online_seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'day', 'hour', 'inbox_id', 'team_id', name='uq_analytics_hourly_key')
    )
    with op.batch_alter_table('analytics_hourly', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_hourly_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('analytics_daily',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('attendant_id', sa.Integer(), nullable=False),
    sa.Column('opened', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('contained', sa.Integer(), nullable=False),
    sa.Column('unanswered', sa.Integer(), nullable=False),
    sa.Column('handoffs', sa.Integer(), nullable=False),
    sa.Column('windows_missed', sa.Integer(), nullable=False),
    sa.Column('messages_in', sa.Integer(), nullable=False),
    sa.Column('messages_out', sa.Integer(), nullable=False),
    sa.Column('bot_messages', sa.Integer(), nullable=False),
    sa.Column('failed_sends', sa.Integer(), nullable=False),
    sa.Column('frt_count', sa.Integer(), nullable=False),
    sa.Column('frt_sum', sa.Float(), nullable=False),
    sa.Column('resolution_count', sa.Integer(), nullable=False),
    sa.Column('resolution_sum', sa.Float(), nullable=False),
    sa.Column('online_seconds', sa.Float(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'day', 'inbox_id', 'team_id', 'attendant_id', name='uq_analytics_daily_key')
    )
    with op.batch_alter_table('analytics_daily', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_daily_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('presence_intervals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('presence_intervals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_presence_intervals_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_presence_intervals_tenant_user_started', ['tenant_id', 'user_id', 'started_at'],
                              unique=False)

    op.create_table('conversation_facts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handoff_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handoff_reason', sa.String(length=40), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_human_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_human_user_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=12), nullable=True),
    sa.Column('reopened', sa.Boolean(), nullable=False),
    sa.Column('awaiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_customer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_human_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_counted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('customer_messages', sa.Integer(), nullable=False),
    sa.Column('human_messages', sa.Integer(), nullable=False),
    sa.Column('bot_messages', sa.Integer(), nullable=False),
    sa.Column('transfers', sa.Integer(), nullable=False),
    sa.Column('windows_missed', sa.Integer(), nullable=False),
    sa.Column('contained', sa.Boolean(), nullable=True),
    sa.Column('unanswered', sa.Boolean(), nullable=True),
    sa.Column('bot_seconds', sa.Float(), nullable=True),
    sa.Column('bot_business_seconds', sa.Float(), nullable=True),
    sa.Column('queue_seconds', sa.Float(), nullable=True),
    sa.Column('queue_business_seconds', sa.Float(), nullable=True),
    sa.Column('frt_seconds', sa.Float(), nullable=True),
    sa.Column('frt_business_seconds', sa.Float(), nullable=True),
    sa.Column('resolution_seconds', sa.Float(), nullable=True),
    sa.Column('resolution_business_seconds', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['first_human_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'cycle', name='uq_conversation_facts_conversation_cycle')
    )
    with op.batch_alter_table('conversation_facts', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_facts_tenant_closed', ['tenant_id', 'closed_at'], unique=False)
        batch_op.create_index('ix_conversation_facts_tenant_handoff', ['tenant_id', 'handoff_at'], unique=False)
        batch_op.create_index('ix_conversation_facts_tenant_first_human', ['tenant_id', 'first_human_at'],
                              unique=False)
        batch_op.create_index('ix_conversation_facts_tenant_assigned', ['tenant_id', 'assigned_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_facts_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_conversation_facts_tenant_opened', ['tenant_id', 'opened_at'], unique=False)

    op.create_table('conversation_responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('fact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('business_seconds', sa.Float(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['fact_id'], ['conversation_facts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conversation_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_responses_fact_id'), ['fact_id'], unique=False)
        batch_op.create_index('ix_conversation_responses_tenant_at', ['tenant_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_responses_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_tenant_created')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_failed')
        batch_op.drop_index('ix_messages_tenant_created')
    with op.batch_alter_table('analytics_hourly', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_hourly_tenant_id'))
    op.drop_table('analytics_hourly')
    with op.batch_alter_table('conversation_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_responses_tenant_id'))
        batch_op.drop_index('ix_conversation_responses_tenant_at')
        batch_op.drop_index(batch_op.f('ix_conversation_responses_fact_id'))

    op.drop_table('conversation_responses')
    with op.batch_alter_table('conversation_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_facts_tenant_opened')
        batch_op.drop_index(batch_op.f('ix_conversation_facts_tenant_id'))
        batch_op.drop_index('ix_conversation_facts_tenant_handoff')
        batch_op.drop_index('ix_conversation_facts_tenant_first_human')
        batch_op.drop_index('ix_conversation_facts_tenant_assigned')
        batch_op.drop_index('ix_conversation_facts_tenant_closed')

    op.drop_table('conversation_facts')
    with op.batch_alter_table('presence_intervals', schema=None) as batch_op:
        batch_op.drop_index('ix_presence_intervals_tenant_user_started')
        batch_op.drop_index(batch_op.f('ix_presence_intervals_tenant_id'))

    op.drop_table('presence_intervals')
    with op.batch_alter_table('analytics_daily', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_daily_tenant_id'))

    op.drop_table('analytics_daily')
