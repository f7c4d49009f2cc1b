"""Settings of the registry (crm_app/services/settings): values per scope, their history, and templates.

A value whose `tenant_id` is NULL is the install's global value; a tenant's own value overrides it. Values are
JSON as the setting's type dumps them; a secret's value lives only in the encrypted `secret_value` column.
"""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.db import EncryptedString
from crm_app.models._base import id_field, json_field, now_field, text

NULLABLE_JSON = JSON(none_as_null=True)


def _scope_tenant() -> Any:
    """The owning tenant, or NULL for an install-wide (global) row."""
    return Field(default=None, sa_column=Column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"),
                                                nullable=True, index=True))


class SettingValue(SQLModel, table=True):
    """The value of one setting at one scope: a tenant's, or the global one (tenant_id NULL)."""

    __tablename__ = "setting_values"
    __table_args__ = (
        Index("uq_setting_values_tenant_key", "tenant_id", "key", unique=True,
              postgresql_where="tenant_id IS NOT NULL", sqlite_where="tenant_id IS NOT NULL"),
        Index("uq_setting_values_global_key", "key", unique=True,
              postgresql_where="tenant_id IS NULL", sqlite_where="tenant_id IS NULL"),
    )

    id: int | None = id_field()
    tenant_id: int | None = _scope_tenant()
    key: str = text(120)
    value: Any = Field(default=None, sa_column=Column(NULLABLE_JSON, nullable=True))
    secret_value: str | None = Field(default=None, sa_type=EncryptedString, nullable=True)
    updated_at: dt.datetime = now_field()
    updated_by_user_id: int | None = None


class SettingChange(SQLModel, table=True):
    """One change of one setting at one scope. Who changed it is kept as plain values (the user may go).

    `old_set`/`new_set` say whether a value existed at that scope (unset means inherited). A secret's values
    are never in `old_value`/`new_value`; the previous secret is kept encrypted in `old_secret`, for rollback.
    """

    __tablename__ = "setting_changes"
    __table_args__ = (Index("ix_setting_changes_scope_key", "tenant_id", "key", "id"),)

    id: int | None = id_field()
    tenant_id: int | None = _scope_tenant()
    key: str = text(120, index=True)
    secret: bool = False
    old_set: bool = False
    old_value: Any = Field(default=None, sa_column=Column(NULLABLE_JSON, nullable=True))
    old_secret: str | None = Field(default=None, sa_type=EncryptedString, nullable=True)
    new_set: bool = False
    new_value: Any = Field(default=None, sa_column=Column(NULLABLE_JSON, nullable=True))
    actor_user_id: int | None = None
    actor_label: str = text(300, default="system")
    reason: str | None = Field(default=None, sa_type=Text, nullable=True)
    rollback_of: int | None = None
    created_at: dt.datetime = now_field()


class SettingTemplate(SQLModel, table=True):
    """A named set of values a platform operator applies to a tenant in one action ("Pousada padrão")."""

    __tablename__ = "setting_templates"
    __table_args__ = (UniqueConstraint("name", name="uq_setting_templates_name"),)

    id: int | None = id_field()
    name: str = text(120)
    description: str = Field(default="", sa_type=Text, nullable=False)
    values: dict[str, Any] = json_field()
    created_by_user_id: int | None = None
    created_by_label: str = text(300, default="system")
    created_at: dt.datetime = now_field()
    updated_by_label: str = text(300, default="system")
    updated_at: dt.datetime = now_field()
