"""settings registry: values per scope, their history, templates

- `setting_values`: one row per (tenant, key); `tenant_id` NULL is the install's global value. Two partial
  unique indexes (PostgreSQL and SQLite both have them) keep one row per key at each scope.
- `setting_changes`: who changed what, when, old and new (secrets only as an encrypted old value), the reason,
  and which change a rollback undid.
- `setting_templates`: named sets of values an operator applies to a tenant.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant() -> sa.Column:
    return sa.Column('tenant_id', sa.Integer(), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=True)


def upgrade() -> None:
    op.create_table(
        'setting_values',
        sa.Column('id', sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('value', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('secret_value', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    )
    op.create_index('ix_setting_values_tenant_id', 'setting_values', ['tenant_id'])
    op.create_index('uq_setting_values_tenant_key', 'setting_values', ['tenant_id', 'key'], unique=True,
                    postgresql_where=sa.text('tenant_id IS NOT NULL'), sqlite_where=sa.text('tenant_id IS NOT NULL'))
    op.create_index('uq_setting_values_global_key', 'setting_values', ['key'], unique=True,
                    postgresql_where=sa.text('tenant_id IS NULL'), sqlite_where=sa.text('tenant_id IS NULL'))
    op.create_table(
        'setting_changes',
        sa.Column('id', sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('secret', sa.Boolean(), nullable=False),
        sa.Column('old_set', sa.Boolean(), nullable=False),
        sa.Column('old_value', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('old_secret', sa.Text(), nullable=True),
        sa.Column('new_set', sa.Boolean(), nullable=False),
        sa.Column('new_value', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('actor_label', sa.String(length=300), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('rollback_of', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_setting_changes_tenant_id', 'setting_changes', ['tenant_id'])
    op.create_index('ix_setting_changes_key', 'setting_changes', ['key'])
    op.create_index('ix_setting_changes_scope_key', 'setting_changes', ['tenant_id', 'key', 'id'])
    op.create_table(
        'setting_templates',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('created_by_user_id', sa.Integer(), nullable=True),
        sa.Column('created_by_label', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_label', sa.String(length=300), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('name', name='uq_setting_templates_name'),
    )


def downgrade() -> None:
    op.drop_table('setting_templates')
    op.drop_table('setting_changes')
    op.drop_table('setting_values')
