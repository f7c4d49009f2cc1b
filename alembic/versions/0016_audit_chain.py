"""audit: a hash-chained trail whose personal values live beside it, and the incident register

- `audit_details`: the personal values of an entry (actor's name, before/after values), keyed by the entry's
  `digest` = SHA-256(salt ‖ canonical JSON); erasure deletes them, the chain still verifies.
- `audit_logs` is rebuilt without `actor_label`, `before`, `after` and without any foreign key (ids are plain
  values, so no cascade or SET NULL ever updates an entry), with `digest`, `seq`, `prev_hash`, `hash` and
  `sealed_at`. Existing rows keep their ids and are left unsealed: the sealing job chains them.
- `audit_chain_heads`: the newest sealed position of each tenant's chain and where a purge left its start.
- On PostgreSQL, a trigger refuses UPDATE of a sealed entry (and any change but sealing of an unsealed one), and
  DELETE of a sealed entry outside the documented purge (`SET LOCAL crm.audit_purge = 'on'`).
- `incidents`: the incident register.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 17:30:00.000000
"""

import hashlib
import json
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

GUARD = """
CREATE OR REPLACE FUNCTION audit_logs_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.hash IS NOT NULL AND coalesce(current_setting('crm.audit_purge', true), '') <> 'on' THEN
      RAISE EXCEPTION 'audit entry % is sealed: it cannot be deleted', OLD.id USING ERRCODE = '42501';
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
CREATE TRIGGER audit_logs_guard BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_guard();
"""


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _new_logs_table() -> None:
    op.create_table('audit_logs',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('seq', BIG_ID, nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('hash', sa.String(length=64), nullable=True),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )


def _new_logs_indexes() -> None:
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.create_index('ix_audit_logs_tenant_id', ['tenant_id'], unique=False)
        batch_op.create_index('ix_audit_logs_tenant_id_id', ['tenant_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_logs_tenant_seq', ['tenant_id', 'seq'], unique=True)
        batch_op.create_index('ix_audit_logs_tenant_actor', ['tenant_id', 'actor_user_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_logs_tenant_action', ['tenant_id', 'action', 'id'], unique=False)
        batch_op.create_index('ix_audit_logs_tenant_target', ['tenant_id', 'target_type', 'target_id', 'id'],
                              unique=False)
        batch_op.create_index('ix_audit_logs_tenant_ip', ['tenant_id', 'ip', 'id'], unique=False)
        batch_op.create_index('ix_audit_logs_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_logs_unsealed', ['tenant_id', 'id'], unique=False,
                              postgresql_where=sa.text('hash IS NULL'), sqlite_where=sa.text('hash IS NULL'))


def _set_aside(table: str, indexes: Sequence[str]) -> None:
    """Rename `table` to `<table>_old`, freeing its index, key and sequence names for the new table."""
    postgres = op.get_bind().dialect.name == 'postgresql'
    for name in indexes:
        op.drop_index(name, table_name=table)
    op.rename_table(table, f'{table}_old')
    if postgres:
        op.execute(f'ALTER INDEX {table}_pkey RENAME TO {table}_old_pkey')
        op.execute(f'ALTER SEQUENCE {table}_id_seq RENAME TO {table}_old_id_seq')


def _reset_sequence(table: str) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) "
                   f"FROM {table}")


def upgrade() -> None:
    op.create_table('audit_details',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('actor_label', sa.String(length=160), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    op.create_index('ix_audit_details_tenant_id', 'audit_details', ['tenant_id'], unique=False)
    op.create_table('audit_chain_heads',
    sa.Column('tenant_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('purged_seq', sa.BigInteger(), nullable=False),
    sa.Column('purged_hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_index('ix_audit_chain_heads_tenant_id', 'audit_chain_heads', ['tenant_id'], unique=False)
    _set_aside('audit_logs', ('ix_audit_logs_action', 'ix_audit_logs_actor_user_id', 'ix_audit_logs_tenant_id',
                              'ix_audit_logs_tenant_id_id'))
    _new_logs_table()
    _copy_up()
    op.drop_table('audit_logs_old')
    _reset_sequence('audit_logs')
    _new_logs_indexes()
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(GUARD)
    _create_incidents()


def _copy_up() -> None:
    bind = op.get_bind()
    old = sa.table('audit_logs_old', *[sa.column(c) for c in (
        'id', 'tenant_id', 'actor_user_id', 'actor_label', 'action', 'target_type', 'target_id', 'ip',
        'created_at')], sa.column('before', sa.JSON()), sa.column('after', sa.JSON()))
    details = sa.table('audit_details', sa.column('digest'), sa.column('tenant_id'), sa.column('salt'),
                       sa.column('actor_label'), sa.column('before', sa.JSON()), sa.column('after', sa.JSON()))
    logs = sa.table('audit_logs', *[sa.column(c) for c in (
        'id', 'tenant_id', 'actor_user_id', 'action', 'target_type', 'target_id', 'ip', 'created_at', 'digest')])
    for row in bind.execute(sa.select(old).order_by(old.c.id)).mappings():
        salt = secrets.token_hex(16)
        values = {"actor_label": row["actor_label"], "before": row["before"] or {}, "after": row["after"] or {}}
        digest = hashlib.sha256((salt + _canonical(values)).encode()).hexdigest()
        bind.execute(details.insert().values(digest=digest, tenant_id=row["tenant_id"], salt=salt, **values))
        bind.execute(logs.insert().values(
            id=row["id"], tenant_id=row["tenant_id"], actor_user_id=row["actor_user_id"], action=row["action"],
            target_type=row["target_type"], target_id=row["target_id"], ip=row["ip"],
            created_at=row["created_at"], digest=digest))


def _create_incidents() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=4000), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data_categories', sa.JSON(), nullable=False),
    sa.Column('affected_count', sa.Integer(), nullable=False),
    sa.Column('measures', sa.String(length=4000), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('anpd_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_incidents_tenant_id', 'incidents', ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_incidents_tenant_id', table_name='incidents')
    op.drop_table('incidents')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_logs_guard ON audit_logs')
        op.execute('DROP FUNCTION IF EXISTS audit_logs_guard()')
    _set_aside('audit_logs', ('ix_audit_logs_tenant_id', 'ix_audit_logs_tenant_id_id', 'ix_audit_logs_tenant_seq',
                              'ix_audit_logs_tenant_actor', 'ix_audit_logs_tenant_action',
                              'ix_audit_logs_tenant_target', 'ix_audit_logs_tenant_ip',
                              'ix_audit_logs_tenant_created', 'ix_audit_logs_unsealed'))
    op.create_table('audit_logs',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=160), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    # Rows whose tenant or user is gone cannot go back under the old foreign keys: they are dropped.
    op.execute(
        "INSERT INTO audit_logs (id, tenant_id, actor_user_id, actor_label, action, target_type, target_id, "
        "before, after, ip, created_at) "
        "SELECT o.id, o.tenant_id, (SELECT u.id FROM users u WHERE u.id = o.actor_user_id), "
        "coalesce(d.actor_label, ''), o.action, o.target_type, o.target_id, coalesce(d.before, '{}'), "
        "coalesce(d.after, '{}'), o.ip, o.created_at FROM audit_logs_old o "
        "LEFT JOIN audit_details d ON d.digest = o.digest WHERE o.tenant_id IN (SELECT id FROM tenants)")
    op.drop_table('audit_logs_old')
    _reset_sequence('audit_logs')
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.create_index('ix_audit_logs_action', ['action'], unique=False)
        batch_op.create_index('ix_audit_logs_actor_user_id', ['actor_user_id'], unique=False)
        batch_op.create_index('ix_audit_logs_tenant_id', ['tenant_id'], unique=False)
        batch_op.create_index('ix_audit_logs_tenant_id_id', ['tenant_id', 'id'], unique=False)
    op.drop_index('ix_audit_chain_heads_tenant_id', table_name='audit_chain_heads')
    op.drop_table('audit_chain_heads')
    op.drop_index('ix_audit_details_tenant_id', table_name='audit_details')
    op.drop_table('audit_details')
