"""privacy gaps: indexes for retention's file and raw-webhook lookups

`ix_messages_media_storage_key` (partial: only messages with a file) finds whether another message still holds a
stored file before erasure or retention deletes it; `ix_inbound_events_tenant_received` bounds retention's search
of raw webhook bodies to the days around the messages it strips.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_media_storage_key', ['media_storage_key'], unique=False,
                              postgresql_where=sa.text('media_storage_key IS NOT NULL'),
                              sqlite_where=sa.text('media_storage_key IS NOT NULL'))
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_events_tenant_received', ['tenant_id', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_tenant_received')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_media_storage_key')
