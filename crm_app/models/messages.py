"""Messages: every WhatsApp kind, both directions, with delivery status."""

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlalchemy import text as text_clause
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text, timestamp


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderType(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    ATTENDANT = "attendant"
    SYSTEM = "system"
    NOTE = "note"


class MessageKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VOICE = "voice"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    TEMPLATE = "template"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    UNSUPPORTED = "unsupported"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by one worker; never sent again automatically
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    RECEIVED = "received"


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("wa_message_id", name="uq_messages_wa_message_id"),
        UniqueConstraint("tenant_id", "client_key", name="uq_messages_tenant_client_key"),
        UniqueConstraint("media_token", name="uq_messages_media_token"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # The outbound messages still to deliver, per conversation in creation order: the head of each
        # conversation's line (services.channel.outbound) and the sweeper read only these.
        Index("ix_messages_outbound_pending", "conversation_id", "id",
              postgresql_where=text_clause("status IN ('queued', 'sending')"),
              sqlite_where=text_clause("status IN ('queued', 'sending')")),
        # Trigram search (pg_trgm) over the folded text; a plain index on SQLite, where search scans.
        Index("ix_messages_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
        # Analytics: a tenant's messages of a period (today's raw figures, rollup rebuilds, failed sends).
        Index("ix_messages_tenant_created", "tenant_id", "created_at"),
        Index("ix_messages_failed", "tenant_id", "created_at", postgresql_where=text_clause("status = 'failed'"),
              sqlite_where=text_clause("status = 'failed'")),
        # Privacy: whether another message still holds a stored file (outbound files are shared by content).
        Index("ix_messages_media_storage_key", "media_storage_key",
              postgresql_where=text_clause("media_storage_key IS NOT NULL"),
              sqlite_where=text_clause("media_storage_key IS NOT NULL")),
    )

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    conversation_id: int = fk("conversations.id", ondelete="CASCADE")
    direction: Direction = text(10)
    sender_type: SenderType = text(12)
    sender_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    kind: MessageKind = text(20)
    body: str | None = Field(default=None, sa_type=Text, nullable=True)
    # `body` folded for search: lower case, no accents (domain.search.fold); None when there is no text.
    search_text: str | None = Field(default=None, sa_type=Text, nullable=True)
    media_id: str | None = text(128, nullable=True)
    media_mime: str | None = text(128, nullable=True)
    media_storage_key: str | None = text(255, nullable=True)
    # What browsers fetch the stored file by (`/api/media/{media_token}`): random, so media URLs cannot be guessed.
    media_token: str | None = text(64, nullable=True)
    payload: dict[str, Any] = json_field()
    status: MessageStatus = text(12)
    error_code: int | None = None
    error_reason: str | None = text(500, nullable=True)
    wa_message_id: str | None = text(128, nullable=True)
    client_key: str | None = text(64, nullable=True)
    send_attempts: int = 0
    # When the current Graph call was claimed (`sending`): a claim older than the send lease had its worker die.
    claimed_at: dt.datetime | None = timestamp()
    # A retried send waits until then (130429, 131056, 5xx, timeout); None when nothing holds it back.
    next_attempt_at: dt.datetime | None = timestamp()
    reply_to_message_id: int | None = fk("messages.id", nullable=True, index=False, ondelete="SET NULL", big=True)
    reply_to_wa_message_id: str | None = text(128, nullable=True)
    created_at: dt.datetime = now_field()
    sent_at: dt.datetime | None = timestamp()
    delivered_at: dt.datetime | None = timestamp()
    read_at: dt.datetime | None = timestamp()
    failed_at: dt.datetime | None = timestamp()
    # The customer edited it: when the latest edit was sent, and every earlier text, oldest first, as
    # {"body", "at", "wa_message_id"} (the wamid that set that text; a redelivered edit is known by it).
    edited_at: dt.datetime | None = timestamp()
    edit_history: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON, nullable=True)
    # The customer deleted it for everyone; the row stays, its text too if the tenant keeps deleted texts.
    deleted_at: dt.datetime | None = timestamp()
