"""Exports of the analytics data: one row per request, its job's progress and the file it produced."""

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text, timestamp


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


class Export(SQLModel, table=True):
    """A requested export: what it covers (kind, format, filters), its job's progress and its file.

    `updated_at` moves with every batch the job writes, so a job that stopped moving is known to be dead
    (see `services.exports.jobs.resume_stalled`). The file lives 24 h after it is done (`expires_at`).
    """

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_tenant_created", "tenant_id", "created_at"),
                      Index("ix_exports_status_updated", "status", "updated_at"))

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    requested_by_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    kind: str = text(16)  # "conversations" (one row per conversation cycle) or "daily" (the chart's days)
    format: str = text(8)  # "csv" or "xlsx"
    lang: str = text(8, default="pt-BR")
    # {"since", "until", "team_id", "inbox_id", "label_id", "attendant_id"}: the analytics page's filters.
    filters: dict[str, Any] = json_field()
    status: str = text(12, default=ExportStatus.QUEUED)
    rows_done: int = 0
    rows_total: int = 0
    attempts: int = 0
    file_key: str | None = text(255, nullable=True)
    size: int = Field(default=0, sa_type=BigInteger, nullable=False)
    error: str | None = text(500, nullable=True)
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()
    started_at: dt.datetime | None = timestamp()
    done_at: dt.datetime | None = timestamp()
    expires_at: dt.datetime | None = timestamp()
