"""WhatsApp message templates, synced from the WABA."""

import datetime as dt
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text


class MessageTemplate(SQLModel, table=True):
    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("inbox_id", "name", "language", name="uq_message_templates_inbox_name_lang"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    inbox_id: int = fk("inboxes.id", ondelete="CASCADE")
    wa_template_id: str = text(64)
    name: str = text(512)
    language: str = text(16)
    category: str = text(32)
    status: str = text(32)
    components: list[dict[str, Any]] = json_field(default_factory=list)
    synced_at: dt.datetime = now_field()
