"""security (2FA, SSO, session policy) and the bot (flows, sessions, knowledge, AI, assignment)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:57:05.994478
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

_TRGM = {"postgresql_using": "gin", "postgresql_ops": {"search_text": "gin_trgm_ops"}}

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ai_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('base_url', sa.String(length=255), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('api_key', sa.Text(), nullable=True),
    sa.Column('timeout_seconds', sa.Float(), nullable=False),
    sa.Column('min_confidence', sa.Float(), nullable=False),
    sa.Column('input_cost_per_mtok', sa.Float(), nullable=False),
    sa.Column('output_cost_per_mtok', sa.Float(), nullable=False),
    sa.Column('monthly_budget_usd', sa.Float(), nullable=False),
    sa.Column('system_prompt', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', name='uq_ai_settings_tenant')
    )
    with op.batch_alter_table('ai_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ai_settings_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sso_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_secret', sa.Text(), nullable=False),
    sa.Column('scopes', sa.String(length=255), nullable=False),
    sa.Column('groups_claim', sa.String(length=64), nullable=False),
    sa.Column('group_roles', sa.JSON(), nullable=False),
    sa.Column('default_role', sa.String(length=20), nullable=True),
    sa.Column('auto_create_users', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', name='uq_sso_configs_tenant')
    )
    with op.batch_alter_table('sso_configs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_configs_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('bot_flows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('draft_updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('draft_updated_by_user_id', sa.Integer(), nullable=True),
    sa.Column('published_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['draft_updated_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inbox_id', name='uq_bot_flows_inbox')
    )
    with op.batch_alter_table('bot_flows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_flows_inbox_id'), ['inbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bot_flows_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('knowledge_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('knowledge_entries', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_entries_search_text', ['search_text'], unique=False, **_TRGM)
        batch_op.create_index(batch_op.f('ix_knowledge_entries_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'code_hash', name='uq_recovery_codes_user_hash')
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    op.create_table('bot_flow_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('flow_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('published_by_user_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['flow_id'], ['bot_flows.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('flow_id', 'version', name='uq_bot_flow_versions_flow_version')
    )
    with op.batch_alter_table('bot_flow_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_flow_versions_flow_id'), ['flow_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bot_flow_versions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('ai_usage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), nullable=False),
    sa.Column('completion_tokens', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ai_usage', schema=None) as batch_op:
        batch_op.create_index('ix_ai_usage_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_usage_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('bot_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('flow_version_id', sa.Integer(), nullable=True),
    sa.Column('node_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('last_message_id', sa.Integer(), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['flow_version_id'], ['bot_flow_versions.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', name='uq_bot_sessions_conversation')
    )
    with op.batch_alter_table('bot_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_sessions_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bot_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bot_sessions_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handoff_reason', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('handoff_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=10), nullable=True))
        batch_op.create_index(batch_op.f('ix_conversations_queued_at'), ['queued_at'], unique=False)

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_method', sa.String(length=16), nullable=False, server_default='password'))
        batch_op.add_column(sa.Column('mfa', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignment_mode', sa.String(length=16), nullable=False,
                                      server_default='round_robin'))
        batch_op.add_column(sa.Column('last_assigned_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('business_hours', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('holidays', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('out_of_hours_message', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_teams_last_assigned_user_id', 'users', ['last_assigned_user_id'], ['id'],
                                    ondelete='SET NULL')

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('require_2fa_roles', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('session_idle_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('session_absolute_hours', sa.Integer(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('capacity', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('totp_secret', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sso_subject', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('password_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('password_token_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_password_token_hash'), ['password_token_hash'], unique=False)

    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.create_index('ix_audit_logs_tenant_id_id', ['tenant_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_logs_tenant_id_id')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_password_token_hash'))
        batch_op.drop_column('password_token_expires_at')
        batch_op.drop_column('password_token_hash')
        batch_op.drop_column('sso_subject')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('capacity')
        batch_op.drop_column('password_changed_at')

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('session_absolute_hours')
        batch_op.drop_column('session_idle_minutes')
        batch_op.drop_column('require_2fa_roles')
        batch_op.drop_column('suspended_at')

    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_constraint('fk_teams_last_assigned_user_id', type_='foreignkey')
        batch_op.drop_column('out_of_hours_message')
        batch_op.drop_column('timezone')
        batch_op.drop_column('holidays')
        batch_op.drop_column('business_hours')
        batch_op.drop_column('last_assigned_user_id')
        batch_op.drop_column('assignment_mode')

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('mfa')
        batch_op.drop_column('auth_method')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_queued_at'))
        batch_op.drop_column('resolved_by')
        batch_op.drop_column('queued_at')
        batch_op.drop_column('handoff_at')
        batch_op.drop_column('handoff_reason')

    with op.batch_alter_table('bot_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_sessions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_bot_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_bot_sessions_conversation_id'))

    op.drop_table('bot_sessions')
    with op.batch_alter_table('ai_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_usage_tenant_id'))
        batch_op.drop_index('ix_ai_usage_tenant_created')

    op.drop_table('ai_usage')
    with op.batch_alter_table('bot_flow_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_flow_versions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_bot_flow_versions_flow_id'))

    op.drop_table('bot_flow_versions')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
        batch_op.drop_index(batch_op.f('ix_recovery_codes_tenant_id'))

    op.drop_table('recovery_codes')
    with op.batch_alter_table('knowledge_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_knowledge_entries_tenant_id'))
        batch_op.drop_index('ix_knowledge_entries_search_text', **_TRGM)

    op.drop_table('knowledge_entries')
    with op.batch_alter_table('bot_flows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_flows_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_bot_flows_inbox_id'))

    op.drop_table('bot_flows')
    with op.batch_alter_table('sso_configs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_configs_tenant_id'))

    op.drop_table('sso_configs')
    with op.batch_alter_table('ai_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_settings_tenant_id'))

    op.drop_table('ai_settings')
