"""tenant options and the AI settings move into the settings registry

- `tenants.require_2fa_roles`, `session_idle_minutes`, `session_absolute_hours`, `attendants_edit_any_contact`
  and `keep_deleted_message_text` become the tenant's values of `security.*` / `channel.*` settings; a column
  that held the default (no 2FA role, no timeout of its own, the boolean's default) stores nothing, so the
  tenant inherits the install's value like any other tenant.
- Each `ai_settings` row becomes the tenant's `ai.*` values (every field: a saved row is a tenant that chose).
  The API key stays encrypted, but the registry keeps a secret as encrypted JSON text, so it is decrypted and
  encrypted again in that form (with the install's ENCRYPTION_KEY).
- Every copied value gets a history row ("system", with the reason below), so the history says where it came
  from. Then the columns and the table are dropped.

Downgrade puts the columns and the table back and fills them with what the tenant had in effect (its value,
else the install's global value where the old column could hold it, else the column's default), then removes
the tenant values it moved back. History rows stay.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:40:00.000000
"""

import datetime as dt
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_app import crypto

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASON = "Migrated from the old tenant column or AI settings (0010)"

# tenant column -> (setting key, the column's default: a column holding it stores no tenant value)
TENANT_COLUMNS = {
    'require_2fa_roles': ('security.require_2fa_roles', []),
    'session_idle_minutes': ('security.session_idle_minutes', None),
    'session_absolute_hours': ('security.session_absolute_hours', None),
    'attendants_edit_any_contact': ('security.attendants_edit_any_contact', False),
    'keep_deleted_message_text': ('channel.keep_deleted_message_text', True),
}
# ai_settings column -> (setting key, default when a tenant has no value at all)
AI_COLUMNS = {
    'enabled': ('ai.enabled', False),
    'base_url': ('ai.base_url', 'https://api.openai.com/v1'),
    'model': ('ai.model', 'gpt-4o-mini'),
    'timeout_seconds': ('ai.timeout_seconds', 15.0),
    'min_confidence': ('ai.min_confidence', 0.6),
    'input_cost_per_mtok': ('ai.input_cost_per_mtok', 0.15),
    'output_cost_per_mtok': ('ai.output_cost_per_mtok', 0.60),
    'monthly_budget_usd': ('ai.monthly_budget_usd', 0.0),
    'system_prompt': ('ai.system_prompt', None),
}
API_KEY = 'ai.api_key'
MOVED_KEYS = [key for key, _ in TENANT_COLUMNS.values()] + [key for key, _ in AI_COLUMNS.values()] + [API_KEY]

values_table = sa.table(
    'setting_values', sa.column('id', sa.Integer), sa.column('tenant_id', sa.Integer), sa.column('key', sa.String),
    sa.column('value', sa.JSON(none_as_null=True)), sa.column('secret_value', sa.Text),
    sa.column('updated_at', sa.DateTime(timezone=True)), sa.column('updated_by_user_id', sa.Integer))
changes_table = sa.table(
    'setting_changes', sa.column('tenant_id', sa.Integer), sa.column('key', sa.String),
    sa.column('secret', sa.Boolean), sa.column('old_set', sa.Boolean), sa.column('old_value', sa.JSON),
    sa.column('old_secret', sa.Text), sa.column('new_set', sa.Boolean), sa.column('new_value', sa.JSON),
    sa.column('actor_user_id', sa.Integer), sa.column('actor_label', sa.String), sa.column('reason', sa.Text),
    sa.column('rollback_of', sa.Integer), sa.column('created_at', sa.DateTime(timezone=True)))
tenants_table = sa.table('tenants', sa.column('id', sa.Integer), *(
    sa.column(name, sa.JSON if name == 'require_2fa_roles' else sa.Integer if 'session' in name else sa.Boolean)
    for name in TENANT_COLUMNS))
ai_table = sa.table('ai_settings', sa.column('tenant_id', sa.Integer), sa.column('api_key', sa.Text),
                    sa.column('updated_at', sa.DateTime(timezone=True)), sa.column('enabled', sa.Boolean),
                    sa.column('base_url', sa.String), sa.column('model', sa.String),
                    sa.column('system_prompt', sa.Text),
                    *(sa.column(name, sa.Float) for name in AI_COLUMNS if name.endswith(('_seconds', '_confidence',
                                                                                          '_mtok', '_usd'))))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def upgrade() -> None:
    bind = op.get_bind()
    copied: list[tuple[int, str, object, str | None]] = []  # (tenant, key, value, encrypted secret)
    for row in bind.execute(sa.select(tenants_table)).mappings():
        for column, (key, default) in TENANT_COLUMNS.items():
            stored = row[column]
            if column == 'require_2fa_roles':
                stored = sorted(set(stored or []))
            if stored is not None and stored != default:
                copied.append((row['id'], key, stored, None))
    if sa.inspect(bind).has_table('ai_settings'):
        for row in bind.execute(sa.select(ai_table)).mappings():
            for column, (key, _) in AI_COLUMNS.items():
                if row[column] is not None:
                    copied.append((row['tenant_id'], key, row[column], None))
            if row['api_key']:
                plain = crypto.decrypt(row['api_key'])
                copied.append((row['tenant_id'], API_KEY, None, crypto.encrypt(json.dumps(plain))))
    now = _now()
    for tenant_id, key, value, secret in copied:
        bind.execute(values_table.insert().values(tenant_id=tenant_id, key=key, value=value, secret_value=secret,
                                                  updated_at=now, updated_by_user_id=None))
        bind.execute(changes_table.insert().values(
            tenant_id=tenant_id, key=key, secret=secret is not None, old_set=False, old_value=None, old_secret=None,
            new_set=True, new_value=value, actor_user_id=None, actor_label='system', reason=REASON,
            rollback_of=None, created_at=now))

    # Never a table copy on SQLite: dropping the old `tenants` would cascade into every tenant's rows (the
    # foreign keys are on, and cannot be turned off inside the migration's transaction). SQLite 3.35+ drops
    # a plain column in place.
    with op.batch_alter_table('tenants', schema=None, recreate='never') as batch_op:
        for column in TENANT_COLUMNS:
            batch_op.drop_column(column)
    with op.batch_alter_table('ai_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_settings_tenant_id'))
    op.drop_table('ai_settings')


def downgrade() -> None:
    op.create_table(
        'ai_settings',
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
        sa.UniqueConstraint('tenant_id', name='uq_ai_settings_tenant'),
    )
    with op.batch_alter_table('ai_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ai_settings_tenant_id'), ['tenant_id'], unique=False)
    with op.batch_alter_table('tenants', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('require_2fa_roles', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('session_idle_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('session_absolute_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('keep_deleted_message_text', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('attendants_edit_any_contact', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    bind = op.get_bind()
    stored: dict[int | None, dict[str, tuple[object, str | None]]] = {}
    query = sa.select(values_table.c.tenant_id, values_table.c.key, values_table.c.value,
                      values_table.c.secret_value).where(values_table.c.key.in_(MOVED_KEYS))
    for tenant_id, key, value, secret in bind.execute(query):
        stored.setdefault(tenant_id, {})[key] = (value, secret)
    install = stored.pop(None, {})

    def effective(tenant: dict, key: str, default: object) -> object:
        for scope in (tenant, install):
            if key in scope and scope[key][0] is not None:
                return scope[key][0]
        return default

    for tenant_id in [row[0] for row in bind.execute(sa.select(tenants_table.c.id))]:
        mine = stored.get(tenant_id, {})
        columns = {column: effective(mine, key, default) for column, (key, default) in TENANT_COLUMNS.items()}
        bind.execute(tenants_table.update().where(tenants_table.c.id == tenant_id).values(**columns))
        if not any(key.startswith('ai.') for key in mine):
            continue
        row = {column: mine[key][0] if key in mine and mine[key][0] is not None else default
               for column, (key, default) in AI_COLUMNS.items()}
        secret = mine.get(API_KEY, (None, None))[1]
        row['api_key'] = crypto.encrypt(json.loads(crypto.decrypt(secret))) if secret else None
        bind.execute(ai_table.insert().values(tenant_id=tenant_id, updated_at=_now(), **row))
    bind.execute(values_table.delete().where(values_table.c.tenant_id.is_not(None),
                                             values_table.c.key.in_(MOVED_KEYS)))
