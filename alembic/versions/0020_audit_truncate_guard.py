"""audit truncate guard: TRUNCATE of the audit trail only through the documented purge

A row trigger never fires for TRUNCATE, so `TRUNCATE audit_logs` emptied the trail past the guard that refuses
every DELETE. On PostgreSQL a statement trigger now refuses it too, unless the transaction runs the documented
purge (`SET LOCAL crm.audit_purge = 'on'`, the same setting the DELETE guard honours). SQLite has no triggers of
ours and is left as it is.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD = """
CREATE OR REPLACE FUNCTION audit_logs_truncate_guard() RETURNS trigger AS $$
BEGIN
  IF coalesce(current_setting('crm.audit_purge', true), '') <> 'on' THEN
    RAISE EXCEPTION 'audit entries can only leave through the documented purge: TRUNCATE is refused'
      USING ERRCODE = '42501';
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_logs_truncate_guard BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_truncate_guard();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_logs_truncate_guard ON audit_logs')
        op.execute('DROP FUNCTION IF EXISTS audit_logs_truncate_guard()')
