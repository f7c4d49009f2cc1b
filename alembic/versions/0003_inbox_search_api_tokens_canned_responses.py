"""inbox search, api tokens, canned responses

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:17:15.418823

Search columns hold text folded by `crm_app.domain.search.fold`; PostgreSQL indexes them with pg_trgm.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_app.domain.search import contact_search_text, fold

_TRGM = {"postgresql_using": "gin", "postgresql_ops": {"search_text": "gin_trgm_ops"}}

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _backfill() -> None:
    """Fold the existing names and bodies in Python, so that search finds old rows too."""
    conn = op.get_bind()
    contacts = conn.execute(sa.text("SELECT id, name, phone_e164, email FROM contacts")).all()
    for row in contacts:
        conn.execute(sa.text("UPDATE contacts SET search_text = :s WHERE id = :i"),
                     {"s": contact_search_text(row.name, row.phone_e164, row.email), "i": row.id})
    result = conn.execute(sa.text("SELECT id, body FROM messages WHERE body IS NOT NULL")
                          .execution_options(yield_per=1000))
    for batch in result.partitions(1000):
        conn.execute(sa.text("UPDATE messages SET search_text = :s WHERE id = :i"),
                     [{"s": fold(row.body), "i": row.id} for row in batch])


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_api_tokens_token_hash')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.func.current_timestamp()))
        batch_op.create_foreign_key('fk_canned_responses_created_by_user_id', 'users', ['created_by_user_id'], ['id'],
                                    ondelete='SET NULL')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
        batch_op.create_index('ix_contacts_search_text', ['search_text'], unique=False, **_TRGM)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_message_preview', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('first_reply_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_conversations_tenant_assignee', ['tenant_id', 'assignee_id'], unique=False)
        batch_op.create_index('ix_conversations_tenant_status_last', ['tenant_id', 'status', 'last_message_at'],
                              unique=False)
        batch_op.create_index('ix_conversations_tenant_window', ['tenant_id', 'last_customer_message_at'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
        batch_op.create_index('ix_messages_conversation_id_id', ['conversation_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_search_text', ['search_text'], unique=False, **_TRGM)

    _backfill()


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_search_text', **_TRGM)
        batch_op.drop_index('ix_messages_conversation_id_id')
        batch_op.drop_column('search_text')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_tenant_window')
        batch_op.drop_index('ix_conversations_tenant_status_last')
        batch_op.drop_index('ix_conversations_tenant_assignee')
        batch_op.drop_column('first_reply_at')
        batch_op.drop_column('last_message_preview')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_search_text', **_TRGM)
        batch_op.drop_column('search_text')

    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.drop_constraint('fk_canned_responses_created_by_user_id', type_='foreignkey')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('created_by_user_id')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_tokens_tenant_id'))

    op.drop_table('api_tokens')

