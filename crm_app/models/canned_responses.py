"""Canned responses: shortcuts attendants type as /code."""

import datetime as dt

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, now_field, tenant_field, text


class CannedResponse(SQLModel, table=True):
    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("tenant_id", "short_code", name="uq_canned_responses_tenant_code"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    short_code: str = text(40)
    content: str = Field(sa_type=Text, nullable=False)
    created_by_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()
