"""Contacts and their WhatsApp identities per inbox."""

import datetime as dt
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("tenant_id", "phone_e164", name="uq_contacts_tenant_phone"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    phone_e164: str = text(20)
    name: str | None = text(160, nullable=True)
    email: str | None = text(254, nullable=True)
    custom_attributes: dict[str, Any] = json_field()
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
