"""Tenants: one business using the install."""

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import id_field, now_field, text, timestamp


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
    # The tenant's options (2FA roles, session timeouts, ...) are settings: crm_app/services/settings.
    created_at: dt.datetime = now_field()
