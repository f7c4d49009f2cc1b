"""Outgoing webhooks: endpoints, the outbox of events, one delivery per (event, endpoint) and its attempts."""

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy import text as text_clause
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, secret_field, tenant_field, text, timestamp


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at `next_attempt_at`
    SENDING = "sending"  # an attempt holds it until `lease_until`
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the schedule ran out, the endpoint answered 410 or was disabled


class WebhookEndpoint(SQLModel, table=True):
    """A URL of the tenant's that hears the events it subscribed to, signed with its own secret."""

    __tablename__ = "webhook_endpoints"

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    url: str = text(2000)
    description: str = text(255, default="")
    event_types: list[str] = json_field(list)  # empty: every type
    enabled: bool = True
    # Extra request headers as a JSON object, encrypted (they often carry the receiver's own credentials).
    headers_json: str = secret_field()
    timeout_seconds: int = 15
    rate_limit_per_second: int | None = None  # None: no limit
    secret: str = secret_field()  # whsec_..., shown once
    previous_secret: str | None = secret_field(nullable=True)  # still signs until `previous_secret_until`
    previous_secret_until: dt.datetime | None = timestamp()
    failing_since: dt.datetime | None = timestamp()  # first failure after the last success
    disabled_reason: str | None = text(40, nullable=True)  # gone (410), failing (5 days) or None
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()


class WebhookEvent(SQLModel, table=True):
    """The outbox: one row per event, written in the transaction of the change that caused it."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_unrelayed", "id", postgresql_where=text_clause("relayed_at IS NULL"),
                            sqlite_where=text_clause("relayed_at IS NULL")),)

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    msg_id: str = text(40)  # webhook-id: the same on every attempt and every endpoint
    event_type: str = text(60)
    payload: dict[str, Any] = json_field()
    created_at: dt.datetime = now_field()
    relayed_at: dt.datetime | None = timestamp()


class WebhookDelivery(SQLModel, table=True):
    """One event owed to one endpoint; attempts are tried until one succeeds or the schedule runs out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id"),
                      Index("ix_webhook_deliveries_due", "endpoint_id", "status", "next_attempt_at"))

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    endpoint_id: int = fk("webhook_endpoints.id", ondelete="CASCADE", index=False)
    event_id: int = fk("webhook_events.id", ondelete="CASCADE", big=True)
    status: DeliveryStatus = text(10, default=DeliveryStatus.PENDING)
    attempts: int = 0
    next_attempt_at: dt.datetime | None = timestamp()
    lease_until: dt.datetime | None = timestamp()
    last_status_code: int | None = None
    last_error: str | None = text(200, nullable=True)
    created_at: dt.datetime = now_field()
    first_attempt_at: dt.datetime | None = timestamp()
    completed_at: dt.datetime | None = timestamp()


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request of a delivery, as the delivery log shows it (secrets masked, answer cut to 4 KB)."""

    __tablename__ = "webhook_attempts"

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    delivery_id: int = fk("webhook_deliveries.id", ondelete="CASCADE", big=True)
    endpoint_id: int = fk("webhook_endpoints.id", ondelete="CASCADE")
    attempted_at: dt.datetime = now_field()
    status_code: int | None = None
    duration_ms: int = 0
    request_headers: dict[str, Any] = json_field()
    response_body: str = text(4096, default="")
    error: str | None = text(200, nullable=True)


__all__ = ["DeliveryStatus", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent"]
