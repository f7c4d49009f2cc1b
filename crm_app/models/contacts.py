"""Contacts and their WhatsApp identities per inbox."""

import datetime as dt
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "phone_e164", name="uq_contacts_tenant_phone"),
        Index("ix_contacts_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
        Index("ix_contacts_tenant_created", "tenant_id", "created_at"),  # analytics: new contacts per day
    )

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    phone_e164: str = text(20)
    name: str | None = text(160, nullable=True)
    email: str | None = text(254, nullable=True)
    custom_attributes: dict[str, Any] = json_field()
    # Name, phone digits and e-mail folded for search (domain.search.fold).
    search_text: str = Field(default="", sa_type=Text, nullable=False)
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()


class ContactInbox(SQLModel, table=True):
    __tablename__ = "contact_inboxes"
    __table_args__ = (UniqueConstraint("inbox_id", "wa_id", name="uq_contact_inboxes_inbox_wa_id"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    contact_id: int = fk("contacts.id", ondelete="CASCADE")
    inbox_id: int = fk("inboxes.id", ondelete="CASCADE")
    wa_id: str = text(32)
    created_at: dt.datetime = now_field()
