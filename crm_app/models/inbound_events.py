"""Raw webhook bodies, stored before they are acknowledged."""

import datetime as dt
from enum import StrEnum

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, now_field, tenant_field, text, timestamp


class InboundEventStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"


class InboundEvent(SQLModel, table=True):
    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("content_hash", name="uq_inbound_events_content_hash"),
                      # retention: the raw webhooks of a tenant received around the messages it strips
                      Index("ix_inbound_events_tenant_received", "tenant_id", "received_at"))

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    inbox_id: int = fk("inboxes.id", ondelete="CASCADE")
    body: str = Field(sa_type=Text, nullable=False)
    content_hash: str = text(64)
    status: InboundEventStatus = text(12, index=True, default=InboundEventStatus.PENDING)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text, nullable=True)
    received_at: dt.datetime = now_field()
    processed_at: dt.datetime | None = timestamp()
    # When the sweeper queued this event's own job; None once that job ran (or failed). A job that is still
    # waiting is not queued again until it is presumed lost (`ingest.LOST_JOB_AFTER`).
    last_enqueued_at: dt.datetime | None = timestamp()
