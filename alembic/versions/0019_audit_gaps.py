"""audit gaps: entries stamped by the database at insert

- `audit_logs.created_at` defaults to the database's clock at insert (`clock_timestamp()` on PostgreSQL, UTC with
  microseconds on SQLite) and the application no longer sends it, so an entry's time is taken with its id: a
  transaction held open no longer leaves an early time on a late id (the trail's date ranges walk ids).

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE audit_logs ALTER COLUMN created_at SET DEFAULT clock_timestamp()')
        return
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.alter_column('created_at', existing_type=sa.DateTime(timezone=True), existing_nullable=False,
                              server_default=sa.text(SQLITE_NOW))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE audit_logs ALTER COLUMN created_at DROP DEFAULT')
        return
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.alter_column('created_at', existing_type=sa.DateTime(timezone=True), existing_nullable=False,
                              server_default=None)
