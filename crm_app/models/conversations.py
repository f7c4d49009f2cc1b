"""Conversations and their history of assignments, transfers and statuses."""

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text, timestamp


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    CLOSED = "closed"


class ConversationEventKind(StrEnum):
    ASSIGNMENT = "assignment"
    TRANSFER = "transfer"
    STATUS = "status"
    BOT_HANDOFF = "bot_handoff"
    TAKEOVER = "takeover"
    SNOOZE = "snooze"
    LABEL = "label"
    PRIORITY = "priority"
    SLA = "sla"  # a warning before an SLA deadline, or an escalation step after a breach


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_tenant_status_last", "tenant_id", "status", "last_message_at"),
        Index("ix_conversations_tenant_assignee", "tenant_id", "assignee_id"),
        Index("ix_conversations_tenant_window", "tenant_id", "last_customer_message_at"),
        Index("ix_conversations_tenant_sla_due", "tenant_id", "sla_due_at"),
    )

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    inbox_id: int = fk("inboxes.id", ondelete="CASCADE")
    contact_id: int = fk("contacts.id", ondelete="CASCADE")
    contact_inbox_id: int = fk("contact_inboxes.id", ondelete="CASCADE")
    status: ConversationStatus = text(20, index=True, default=ConversationStatus.OPEN)
    assignee_id: int | None = fk("users.id", nullable=True, ondelete="SET NULL")
    team_id: int | None = fk("teams.id", nullable=True, ondelete="SET NULL")
    bot_active: bool = True
    snoozed_until: dt.datetime | None = timestamp()
    last_message_at: dt.datetime | None = timestamp(index=True)
    last_customer_message_at: dt.datetime | None = timestamp()
    unread_count: int = 0
    # One line for the inbox list: the last message's text or a "[image]"-style placeholder.
    last_message_preview: str | None = text(200, nullable=True)
    # When a human first answered after the bot handed over (analytics and SLA).
    first_reply_at: dt.datetime | None = timestamp()
    # Why and when the bot handed over (exit keyword, retries, ai_error, low_confidence, menu, …).
    handoff_reason: str | None = text(40, nullable=True)
    handoff_at: dt.datetime | None = timestamp()
    # Set while the conversation waits for a free attendant of its team (the queue's order).
    queued_at: dt.datetime | None = timestamp(index=True)
    # Who resolved it when it closed: "bot" (containment) or "human".
    resolved_by: str | None = text(10, nullable=True)
    created_at: dt.datetime = now_field()
    closed_at: dt.datetime | None = timestamp()
    # 0 none, 1 low, 2 medium, 3 high, 4 urgent (`crm_app.domain.sla.PRIORITIES`): set by supervisors and by an
    # SLA escalation; the inbox shows and sorts by it.
    priority: int = 0
    # The next SLA deadline of a running clock and when that clock started (the inbox's countdown chip, its
    # "vence primeiro" sort and "SLA em risco" filter); both None with no running clock. Kept by `services.sla`.
    sla_due_at: dt.datetime | None = timestamp()
    sla_started_at: dt.datetime | None = timestamp()


class ConversationEvent(SQLModel, table=True):
    __tablename__ = "conversation_events"

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    conversation_id: int = fk("conversations.id", ondelete="CASCADE")
    kind: ConversationEventKind = text(20)
    actor_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    from_value: str | None = text(64, nullable=True)
    to_value: str | None = text(64, nullable=True)
    data: dict[str, Any] = json_field()
    created_at: dt.datetime = now_field()
