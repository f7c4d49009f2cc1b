"""SLA policies: targets, the conversations they apply to, the warning lead and the escalation chain."""

import datetime as dt
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy import text as text_clause
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text, timestamp


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


class ConversationSla(SQLModel, table=True):
    """A conversation's SLA bookkeeping: its milestones (what `domain.sla.evaluate` reads, kept as they happen) and
    when the SLA job must look at it next (`wake_at`, indexed: the job reads only those due)."""

    __tablename__ = "conversation_sla"
    __table_args__ = (Index("ix_conversation_sla_wake", "wake_at", postgresql_where=text_clause("wake_at IS NOT NULL"),
                            sqlite_where=text_clause("wake_at IS NOT NULL")),)

    conversation_id: int = Field(sa_column=Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"),
                                                  primary_key=True))
    tenant_id: int = tenant_field()
    policy_id: int | None = fk("sla_policies.id", nullable=True, index=False, ondelete="SET NULL")
    # [[iso instant, kind, iso until or null], ...] in order; repeated customer, bot or human messages are kept once
    events: list[list[Any]] = json_field(list)
    wake_at: dt.datetime | None = timestamp()
    evaluated_at: dt.datetime | None = timestamp()


class SlaClock(SQLModel, table=True):
    """One running or finished SLA clock of a conversation: a target's wait from `started_at`, due at `due_at`.

    The latest clock of each target is the conversation's state for that target; a clock whose status is "missed"
    is the record of one breach. The team, attendant and number are the conversation's when the clock finished
    (or now, while it runs): what attainment is reported by.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("conversation_id", "target", "started_at", name="uq_sla_clocks_conversation_target_start"),
        Index("ix_sla_clocks_tenant_due", "tenant_id", "due_at"),
    )

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    conversation_id: int = fk("conversations.id", ondelete="CASCADE")
    policy_id: int | None = fk("sla_policies.id", nullable=True, index=False, ondelete="SET NULL")
    target: str = text(20)  # first_response, next_response, resolution
    status: str = text(10)  # active, hit, missed
    started_at: dt.datetime = timestamp(nullable=False)
    due_at: dt.datetime | None = timestamp()
    done_at: dt.datetime | None = timestamp()
    inbox_id: int | None = fk("inboxes.id", nullable=True, index=False, ondelete="SET NULL")
    team_id: int | None = fk("teams.id", nullable=True, index=False, ondelete="SET NULL")
    assignee_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    updated_at: dt.datetime = now_field()


class SlaAction(SQLModel, table=True):
    """A warning or escalation step the SLA job carried out, by its stable key: never done twice."""

    __tablename__ = "sla_actions"
    __table_args__ = (UniqueConstraint("conversation_id", "key", name="uq_sla_actions_conversation_key"),)

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    conversation_id: int = fk("conversations.id", index=False, ondelete="CASCADE")
    key: str = text(120)
    kind: str = text(10)  # warn, escalate
    action: str | None = text(30, nullable=True)
    done_at: dt.datetime = now_field()
