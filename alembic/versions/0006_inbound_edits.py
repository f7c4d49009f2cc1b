"""inbound edits and deletions, the close race and the sweeper

- `messages.edited_at`, `messages.edit_history`: a customer's edit replaces the text; every earlier text is
  kept, oldest first, with the wamid that set it (a redelivered edit is recognised by it).
- `messages.deleted_at`: the customer deleted the message for everyone; the row stays.
- `tenants.keep_deleted_message_text`: whether a deleted message keeps its text for audit (the default) or
  is blanked.
- `inbound_events.last_enqueued_at`: when the sweeper last queued the event's job; set while that job
  waits, so the sweeper does not queue it again every pass.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('edit_history', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keep_deleted_message_text', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_enqueued_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_column('last_enqueued_at')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('keep_deleted_message_text')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('edit_history')
        batch_op.drop_column('edited_at')
