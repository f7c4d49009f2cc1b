"""The audit trail: who did what to which object, from where."""

import datetime as dt
from typing import Any

from sqlalchemy import Index
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_logs"
    # The audit page pages newest-first by id within one tenant (keyset).
    __table_args__ = (Index("ix_audit_logs_tenant_id_id", "tenant_id", "id"),)

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    actor_user_id: int | None = fk("users.id", nullable=True, ondelete="SET NULL")
    actor_label: str = text(160)
    action: str = text(80, index=True)
    target_type: str = text(40)
    target_id: str | None = text(64, nullable=True)
    before: dict[str, Any] = json_field()
    after: dict[str, Any] = json_field()
    ip: str | None = text(64, nullable=True)
    created_at: dt.datetime = now_field()
