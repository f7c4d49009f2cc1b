"""The bot: versioned flows per inbox, each conversation's place in its flow, and the FAQ it answers from."""

import datetime as dt
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text, timestamp


class BotFlow(SQLModel, table=True):
    """An inbox's flow: the draft being edited and the published version the bot runs."""

    __tablename__ = "bot_flows"
    __table_args__ = (UniqueConstraint("inbox_id", name="uq_bot_flows_inbox"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    inbox_id: int = fk("inboxes.id", ondelete="CASCADE")
    draft: dict[str, Any] = json_field()
    draft_updated_at: dt.datetime = now_field()
    draft_updated_by_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    # The version number of the published definition; 0 while nothing is published.
    published_version: int = 0
    created_at: dt.datetime = now_field()


class BotFlowVersion(SQLModel, table=True):
    """A published definition. Immutable: publishing again adds a new version."""

    __tablename__ = "bot_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version", name="uq_bot_flow_versions_flow_version"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    flow_id: int = fk("bot_flows.id", ondelete="CASCADE")
    version: int
    definition: dict[str, Any] = json_field()
    published_by_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    published_at: dt.datetime = now_field()


class BotSession(SQLModel, table=True):
    """Where one conversation stands in its flow."""

    __tablename__ = "bot_sessions"
    __table_args__ = (UniqueConstraint("conversation_id", name="uq_bot_sessions_conversation"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    conversation_id: int = fk("conversations.id", ondelete="CASCADE")
    flow_version_id: int | None = fk("bot_flow_versions.id", nullable=True, index=False, ondelete="SET NULL")
    node_id: str | None = text(64, nullable=True)
    # "active" while the bot talks; "handoff" or "closed" when it ended.
    status: str = text(12, default="active")
    retries: int = 0
    variables: dict[str, Any] = json_field()
    # The last customer message this session has consumed (turns never see a message twice).
    last_message_id: int | None = Field(default=None)
    last_activity_at: dt.datetime = now_field()
    # When inactivity closes the conversation; None when nothing is awaited.
    expires_at: dt.datetime | None = timestamp(index=True)
    updated_at: dt.datetime = now_field()


class KnowledgeEntry(SQLModel, table=True):
    """A FAQ or knowledge article the AI answers from."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (
        Index("ix_knowledge_entries_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
    )

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    title: str = text(200)
    content: str = Field(sa_type=Text, nullable=False)
    tags: list[str] = json_field(default_factory=list)
    is_active: bool = True
    # Title, content and tags folded for retrieval (domain.search.fold).
    search_text: str = Field(default="", sa_type=Text, nullable=False)
    created_by_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()


class AiUsage(SQLModel, table=True):
    """One call to the model: tokens, cost and outcome, for the monthly budget."""

    __tablename__ = "ai_usage"
    __table_args__ = (Index("ix_ai_usage_tenant_created", "tenant_id", "created_at"),)

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    conversation_id: int | None = fk("conversations.id", nullable=True, index=False, ondelete="SET NULL")
    user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    # "answer" (the bot) or "suggest" (an attendant's draft).
    purpose: str = text(12)
    model: str = text(120)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    # ok, low_confidence, error, timeout, budget
    outcome: str = text(20)
    latency_ms: int = 0
    created_at: dt.datetime = now_field()
