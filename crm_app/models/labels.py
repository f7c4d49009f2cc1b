"""Labels and the conversations that carry them."""

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, now_field, tenant_field, text


class Label(SQLModel, table=True):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_labels_tenant_name"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    name: str = text(60)
    color: str = text(20, default="gray")
    created_at: dt.datetime = now_field()


class ConversationLabel(SQLModel, table=True):
    __tablename__ = "conversation_labels"
    __table_args__ = (UniqueConstraint("conversation_id", "label_id", name="uq_conversation_labels_pair"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    conversation_id: int = fk("conversations.id", ondelete="CASCADE")
    label_id: int = fk("labels.id", ondelete="CASCADE")
