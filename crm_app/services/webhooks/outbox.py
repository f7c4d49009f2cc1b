"""The relay of the transactional outbox (`crm_app.services.core.outbox.emit` writes the rows).

After commit a Redis flag (SET NX) queues one `relay_webhook_events` job for a whole burst; the relay clears the
flag before it reads, so an event committed while it runs queues the next run. The relay turns each event into
one delivery per subscribed, enabled endpoint of its tenant (unique per endpoint and event, so a relay run twice
writes nothing twice), marks the event relayed in the same transaction and then wakes each touched endpoint's
drain. If Redis is down at commit, or a worker dies mid-relay, nothing is lost: the event is still unrelayed in
PostgreSQL and the sweeper relays it.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from crm_app.db import insert_statement, session_scope, utcnow
from crm_app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from crm_app.queue import get_redis
from crm_app.services.core import jobs
from crm_app.services.core.outbox import FLAG_TTL, RELAY_FLAG, emit, kick_relay, new_msg_id, payload_of

log = logging.getLogger("crm_app.services.webhooks")

__all__ = ["DRAIN_FLAG", "FLAG_TTL", "RELAY_FLAG", "WOKEN", "body_of", "emit", "insert_deliveries", "kick_drain",
           "kick_relay", "new_msg_id", "payload_of", "relay_events"]

DRAIN_FLAG = "crm:webhooks:drain:{}"
WOKEN = "crm:webhooks:woken"  # endpoints with new due work, for a drain already running to take up
RELAY_BATCH = 500
_events, _deliveries, _endpoints = WebhookEvent.__table__, WebhookDelivery.__table__, WebhookEndpoint.__table__


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact JSON, the same on every attempt."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def kick_drain(endpoint_id: int, *, delay: float = 0) -> None:
    """Queue one drain of `endpoint_id` unless one is already queued; `delay` for the next retry's time."""
    if delay > 0:
        jobs.enqueue("deliver_webhooks", endpoint_id, tag=f"at-{int(time.time() + delay)}", delay=delay)
        return
    redis = get_redis()
    redis.sadd(WOKEN, endpoint_id)
    if redis.set(DRAIN_FLAG.format(endpoint_id), "1", nx=True, ex=FLAG_TTL):
        jobs.enqueue("deliver_webhooks", endpoint_id, tag=str(time.time_ns()))


def relay_events() -> int:
    """The job: fan unrelayed events out to deliveries, oldest first, until none is left. Returns how many."""
    get_redis().delete(RELAY_FLAG)
    total = 0
    while True:
        count, endpoint_ids = _relay_batch()
        for endpoint_id in endpoint_ids:
            kick_drain(endpoint_id)
        total += count
        if count < RELAY_BATCH:
            return total


def _relay_batch() -> tuple[int, set[int]]:
    with session_scope() as session:
        conn = session.connection()
        events = conn.execute(sa.select(_events.c.id, _events.c.tenant_id, _events.c.event_type)
                              .where(_events.c.relayed_at.is_(None)).order_by(_events.c.id).limit(RELAY_BATCH)
                              .with_for_update(skip_locked=True)).all()
        if not events:
            return 0, set()
        endpoints = conn.execute(sa.select(_endpoints.c.id, _endpoints.c.tenant_id, _endpoints.c.event_types)
                                 .where(_endpoints.c.tenant_id.in_({e.tenant_id for e in events}),
                                        _endpoints.c.enabled.is_(True))).all()
        now = utcnow()
        rows = [{"tenant_id": e.tenant_id, "endpoint_id": p.id, "event_id": e.id, "status": DeliveryStatus.PENDING,
                 "attempts": 0, "next_attempt_at": now, "created_at": now}
                for e in events for p in endpoints
                if p.tenant_id == e.tenant_id and (not p.event_types or e.event_type in p.event_types)]
        if rows:
            insert_deliveries(session, rows)
        conn.execute(sa.update(_events).where(_events.c.id.in_([e.id for e in events])).values(relayed_at=now))
        return len(events), {r["endpoint_id"] for r in rows}


def insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries, skipping any (endpoint, event) that already has one."""
    conn = session.connection()
    statement = insert_statement(conn.dialect.name)(_deliveries).on_conflict_do_nothing(
        index_elements=["endpoint_id", "event_id"])
    conn.execute(statement, rows)
