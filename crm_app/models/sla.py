"""SLA policies: targets, the conversations they apply to, the warning lead and the escalation chain."""

import datetime as dt
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy import text as text_clause
from sqlmodel import SQLModel

from crm_app.models._base import id_field, json_field, now_field, tenant_field, text


class SlaPolicy(SQLModel, table=True):
    """One policy of a tenant. Targets are minutes (None: no target); see `domain.sla_policies` for conditions."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_sla_policies_tenant_name"),
        Index("uq_sla_policies_one_default", "tenant_id", unique=True, postgresql_where=text_clause("is_default"),
              sqlite_where=text_clause("is_default")),
    )

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    name: str = text(120)
    position: int = 0  # the order policies are tried in (lowest first)
    enabled: bool = True
    is_default: bool = False  # applies when no other policy matches; at most one per tenant
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    business_hours_only: bool = True
    conditions: list[dict[str, Any]] = json_field(list)
    warn_before_minutes: int | None = None  # warn the assignee this long before a deadline (None: no warning)
    escalation: list[dict[str, Any]] = json_field(list)
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()
