"""audit gaps: entries stamped by the database at insert, and DELETE only through the documented purge

- `audit_logs.created_at` defaults to the database's clock at insert (`clock_timestamp()` on PostgreSQL, UTC with
  microseconds on SQLite) and the application no longer sends it, so an entry's time is taken with its id: a
  transaction held open no longer leaves an early time on a late id (the trail's date ranges walk ids).
- On PostgreSQL the guard refuses DELETE of any entry, sealed or not, unless the transaction runs the documented
  purge (`SET LOCAL crm.audit_purge = 'on'`, set only by `chain.purge`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"

GUARD = """
CREATE OR REPLACE FUNCTION audit_logs_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF coalesce(current_setting('crm.audit_purge', true), '') <> 'on' THEN
      RAISE EXCEPTION 'audit entry % can only leave through the documented purge', OLD.id USING ERRCODE = '42501';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.hash IS NOT NULL THEN
    RAISE EXCEPTION 'audit entry % is sealed: it cannot be changed', OLD.id USING ERRCODE = '42501';
  END IF;
  IF (NEW.id, NEW.tenant_id, NEW.actor_user_id, NEW.action, NEW.target_type, NEW.target_id, NEW.ip,
      NEW.created_at, NEW.digest) IS DISTINCT FROM (OLD.id, OLD.tenant_id, OLD.actor_user_id, OLD.action,
      OLD.target_type, OLD.target_id, OLD.ip, OLD.created_at, OLD.digest) THEN
    RAISE EXCEPTION 'audit entry %: only sealing may change an entry', OLD.id USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""

OLD_DELETE_RULE = ("IF coalesce(current_setting('crm.audit_purge', true), '') <> 'on' THEN",
                   "IF OLD.hash IS NOT NULL AND coalesce(current_setting('crm.audit_purge', true), '') <> 'on' THEN")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE audit_logs ALTER COLUMN created_at SET DEFAULT clock_timestamp()')
        op.execute(GUARD)
        return
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.alter_column('created_at', existing_type=sa.DateTime(timezone=True), existing_nullable=False,
                              server_default=sa.text(SQLITE_NOW))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(GUARD.replace(*OLD_DELETE_RULE).replace('can only leave through the documented purge',
                                                          'is sealed: it cannot be deleted'))
        op.execute('ALTER TABLE audit_logs ALTER COLUMN created_at DROP DEFAULT')
        return
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.alter_column('created_at', existing_type=sa.DateTime(timezone=True), existing_nullable=False,
                              server_default=None)
