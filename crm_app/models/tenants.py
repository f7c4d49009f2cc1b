"""Tenants: one business using the install."""

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import id_field, json_field, now_field, text, timestamp


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("slug", name="uq_tenants_slug"),)

    id: int | None = id_field()
    name: str = text(120)
    slug: str = text(60)
    timezone: str = text(64, default="America/Sao_Paulo")
    locale: str = text(10, default="pt-BR")
    is_active: bool = True
    suspended_at: dt.datetime | None = timestamp()
    # Roles that must use 2FA, e.g. ["admin", "supervisor"].
    require_2fa_roles: list[str] = json_field(default_factory=list)
    # Session timeouts for this tenant; None uses the install's defaults (30 min idle, 12 h absolute).
    session_idle_minutes: int | None = None
    session_absolute_hours: int | None = None
    # Attendants may edit any contact of the tenant; off, only contacts of conversations they can open.
    attendants_edit_any_contact: bool = False
    # A message the customer deletes keeps its text for audit (shown on hover); off, the text is blanked.
    keep_deleted_message_text: bool = True
    created_at: dt.datetime = now_field()
