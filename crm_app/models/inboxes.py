"""Inboxes: one WhatsApp Cloud API number each."""

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import id_field, now_field, secret_field, tenant_field, text, timestamp

DEFAULT_GRAPH_BASE_URL = "https://graph.facebook.com/v23.0"


class Inbox(SQLModel, table=True):
    __tablename__ = "inboxes"
    __table_args__ = (UniqueConstraint("phone_number_id", name="uq_inboxes_phone_number_id"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    name: str = text(120)
    phone_number_id: str = text(64)
    waba_id: str = text(64)
    display_number: str = text(32)
    graph_base_url: str = text(255, default=DEFAULT_GRAPH_BASE_URL)
    access_token: str = secret_field()
    app_secret: str = secret_field()
    verify_token: str = secret_field()
    is_active: bool = True
    created_at: dt.datetime = now_field()
    # What the last "Verificar" learnt from Graph (GET /{phone_number_id}), so the page needs no call to Meta.
    verified_name: str | None = text(255, nullable=True)
    quality_rating: str | None = text(32, nullable=True)
    messaging_limit: str | None = text(32, nullable=True)
    last_verified_at: dt.datetime | None = timestamp()
    last_verify_ok: bool | None = None
    last_verify_error_code: int | None = None
    last_verify_error: str | None = text(500, nullable=True)
