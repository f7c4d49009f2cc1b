"""The transactional outbox of outgoing webhook events: `emit`, the one call every area makes.

`emit(session, tenant_id, event_type, data)` goes where the change happens, in its transaction: one INSERT on the
session's connection, nothing else before commit. It lives in `core` so that every context may call it (contexts
import only downward); `crm_app.services.webhooks` relays the rows and delivers them. After commit a Redis flag
(SET NX) queues one relay job for a whole burst; if Redis is down the row waits in PostgreSQL for the sweeper.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from crm_app.db import after_commit, utcnow
from crm_app.domain import webhooks as rules
from crm_app.models import WebhookEndpoint, WebhookEvent
from crm_app.queue import get_redis
from crm_app.services.core import jobs

RELAY_FLAG = "crm:webhooks:relay"
FLAG_TTL = 60  # a flag whose job was lost expires; the sweeper covers the gap
_INSERT_EVENT = sa.insert(WebhookEvent.__table__)
_endpoints = WebhookEndpoint.__table__


def new_msg_id() -> str:
    """A `webhook-id`: unique, no dots, the same on every attempt to every endpoint."""
    return "msg_" + secrets.token_hex(12)


def payload_of(event_type: str, data: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """The JSON body of an event, in the Standard Webhooks shape."""
    return {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}


def emit(session: Session, tenant_id: int, event_type: str, data: dict[str, Any]) -> None:
    """Record `event_type` for `tenant_id` in the caller's transaction; its webhook endpoints hear it after commit.

    Raises:
        ValueError: For a type that is not in the registry (`crm_app.domain.webhooks.EVENT_TYPES`).
    """
    if not rules.is_event_type(event_type):
        raise ValueError(f"unknown webhook event type {event_type!r}: register it in crm_app/domain/webhooks.py")
    if not _has_endpoints(session, tenant_id):
        return
    now = utcnow()
    session.connection().execute(_INSERT_EVENT, {
        "tenant_id": tenant_id, "msg_id": new_msg_id(), "event_type": event_type,
        "payload": payload_of(event_type, data, now), "created_at": now, "relayed_at": None})
    if not session.info.get("webhooks_kick"):
        session.info["webhooks_kick"] = True
        after_commit(session, _kicker(session))


def _has_endpoints(session: Session, tenant_id: int) -> bool:
    """Whether the tenant has any endpoint (enabled or not: a disabled one gets its events once enabled again);
    asked once per transaction, so a tenant without webhooks pays one indexed lookup per transaction."""
    known = session.info.setdefault("webhooks_tenants", {})
    if tenant_id not in known:
        known[tenant_id] = session.connection().execute(
            sa.select(_endpoints.c.id).where(_endpoints.c.tenant_id == tenant_id).limit(1)).first() is not None
    return known[tenant_id]


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _forget_endpoints(session: Session) -> None:
    if not session.in_nested_transaction():  # the next transaction asks again and kicks again
        session.info.pop("webhooks_tenants", None)
        session.info.pop("webhooks_kick", None)


def _kicker(session: Session):
    def kick() -> None:
        session.info.pop("webhooks_kick", None)
        kick_relay()
    return kick


def kick_relay() -> None:
    """Queue one relay run unless one is already queued (the flag)."""
    if get_redis().set(RELAY_FLAG, "1", nx=True, ex=FLAG_TTL):
        jobs.enqueue("relay_webhook_events", tag=str(time.time_ns()))
