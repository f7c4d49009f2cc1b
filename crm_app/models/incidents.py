"""The incident register (ANPD Resolution 15/2024, GDPR art. 33): what leaked, how many, and the clocks."""

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from crm_app.db import UTCDateTime
from crm_app.models._base import id_field, json_field, now_field, tenant_field, text, timestamp


class IncidentStatus(StrEnum):
    OPEN = "open"
    NOTIFIED = "notified"
    CLOSED = "closed"


class Incident(SQLModel, table=True):
    """One security incident; the deadlines are computed from `detected_at`, never stored."""

    __tablename__ = "incidents"

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    title: str = text(200)
    description: str = text(4000, default="")
    occurred_at: dt.datetime | None = timestamp()
    detected_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    data_categories: list[str] = json_field(list)
    affected_count: int = Field(default=0, nullable=False)
    measures: str = text(4000, default="")
    status: str = text(12, default=IncidentStatus.OPEN.value)
    anpd_notified_at: dt.datetime | None = timestamp()
    created_by_user_id: int | None = Field(default=None, nullable=True)
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()
    extra: dict[str, Any] = json_field()
