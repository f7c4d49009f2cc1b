"""WhatsApp numbers set up in the UI: what the last verification against Graph learnt

- `inboxes.verified_name`, `quality_rating`, `messaging_limit`: Graph's `verified_name`, `quality_rating`
  and `whatsapp_business_manager_messaging_limit` of the number, as of the last "Verificar".
- `inboxes.last_verified_at`, `last_verify_ok`, `last_verify_error_code`, `last_verify_error`: when that was
  and how it went (Meta's error code and text when it failed), so the page shows it without calling Meta.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ('verified_name', 'quality_rating', 'messaging_limit', 'last_verified_at', 'last_verify_ok',
           'last_verify_error_code', 'last_verify_error')


def upgrade() -> None:
    with op.batch_alter_table('inboxes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('quality_rating', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('messaging_limit', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('last_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_verify_ok', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('last_verify_error_code', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_verify_error', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inboxes', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
