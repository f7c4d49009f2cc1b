"""The delivery log of an endpoint (admins): deliveries, their attempts, health figures, resend and replay."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from crm_app.db import after_commit, insert_statement, utcnow
from crm_app.domain import webhooks as rules
from crm_app.errors import NotFound, ValidationError
from crm_app.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEvent
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor
from crm_app.services.webhooks import outbox
from crm_app.services.webhooks.endpoints import access_endpoint

PAGE = 50
STATS_WINDOW = dt.timedelta(days=1)
MAX_REPLAY = 10_000


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery in the log."""

    id: int
    event_type: str
    msg_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    completed_at: dt.datetime | None


@dataclass(frozen=True)
class AttemptRow:
    """One HTTP request of a delivery: its answer, timing and the headers we sent (secrets masked)."""

    id: int
    attempted_at: dt.datetime
    status_code: int | None
    duration_ms: int
    request_headers: dict[str, Any]
    response_body: str
    error: str | None


@dataclass(frozen=True)
class EndpointStats:
    """An endpoint's health over the last day: attempts, success rate (0-1) and p95 duration."""

    attempts: int
    success_rate: float | None
    p95_ms: float | None


def list_deliveries(session: Session, *, actor: Actor, endpoint_id: int, status: str | None = None,
                    before_id: int | None = None) -> list[DeliveryRow]:
    """The endpoint's deliveries, newest first, one page (admins)."""
    access_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    query = (select(WebhookDelivery, WebhookEvent.event_type, WebhookEvent.msg_id)
             .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
             .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.tenant_id == actor.tenant_id))
    if status:
        query = query.where(WebhookDelivery.status == status)
    if before_id:
        query = query.where(WebhookDelivery.id < before_id)
    rows = session.exec(query.order_by(WebhookDelivery.id.desc()).limit(PAGE)).all()
    return [DeliveryRow(d.id, kind, msg_id, str(d.status), d.attempts, d.last_status_code, d.last_error, d.created_at,
                        d.next_attempt_at, d.completed_at) for d, kind, msg_id in rows]


def _delivery(session: Session, actor: Actor, delivery_id: int) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.tenant_id != actor.tenant_id:
        raise NotFound("webhook delivery not found")
    access_endpoint(session, actor=actor, endpoint_id=delivery.endpoint_id)
    return delivery


def list_attempts(session: Session, *, actor: Actor, delivery_id: int) -> list[AttemptRow]:
    """Every attempt of one delivery, oldest first (admins)."""
    delivery = _delivery(session, actor, delivery_id)
    rows = session.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
                        .order_by(WebhookAttempt.id)).all()
    return [AttemptRow(a.id, a.attempted_at, a.status_code, a.duration_ms, a.request_headers, a.response_body,
                       a.error) for a in rows]


def endpoint_stats(session: Session, *, actor: Actor, endpoint_id: int) -> EndpointStats:
    """Success rate and p95 duration of the endpoint's attempts over the last day (admins)."""
    access_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    rows = session.exec(select(WebhookAttempt.status_code, WebhookAttempt.duration_ms).where(
        WebhookAttempt.endpoint_id == endpoint_id, WebhookAttempt.attempted_at >= utcnow() - STATS_WINDOW)
        .order_by(WebhookAttempt.id.desc()).limit(10_000)).all()
    if not rows:
        return EndpointStats(0, None, None)
    ok = sum(1 for code, _ in rows if code is not None and 200 <= code < 300)
    return EndpointStats(len(rows), ok / len(rows), rules.percentile([ms for _, ms in rows], 95))


def resend_delivery(session: Session, *, actor: Actor, delivery_id: int) -> DeliveryRow:
    """Reenviar: send a finished delivery again from the start of the schedule (same `webhook-id`)."""
    delivery = _delivery(session, actor, delivery_id)
    session.refresh(delivery, with_for_update=True)
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise ValidationError("this delivery is already waiting to be sent", field="status")
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, utcnow()
    delivery.completed_at = delivery.lease_until = None
    session.add(delivery)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="webhook.resend",
                 target_type="webhook_delivery", target_id=delivery.id)
    endpoint_id = delivery.endpoint_id
    after_commit(session, lambda: outbox.kick_drain(endpoint_id))
    event = session.get(WebhookEvent, delivery.event_id)
    return DeliveryRow(delivery.id, event.event_type, event.msg_id, str(delivery.status), 0, delivery.last_status_code,
                       delivery.last_error, delivery.created_at, delivery.next_attempt_at, None)


def replay(session: Session, *, actor: Actor, endpoint_id: int, since: dt.datetime,
           until: dt.datetime | None = None) -> int:
    """Send every event of `[since, until)` the endpoint subscribes to again (new or finished deliveries; those
    still waiting are left alone). Returns how many were queued."""
    endpoint = access_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    until = until or utcnow()
    if since.tzinfo is None or until.tzinfo is None or since >= until:
        raise ValidationError("give an aware start before the end", field="since")
    query = select(WebhookEvent.id).where(WebhookEvent.tenant_id == actor.tenant_id, WebhookEvent.created_at >= since,
                                          WebhookEvent.created_at < until, WebhookEvent.event_type != rules.PING)
    if endpoint.event_types:
        query = query.where(WebhookEvent.event_type.in_(endpoint.event_types))
    event_ids = session.exec(query.order_by(WebhookEvent.id).limit(MAX_REPLAY + 1)).all()
    if len(event_ids) > MAX_REPLAY:
        raise ValidationError(f"at most {MAX_REPLAY} events at once: choose a shorter period", field="since")
    count = _requeue(session, actor.tenant_id, endpoint_id, list(event_ids))
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="webhook.replay",
                 target_type="webhook_endpoint", target_id=endpoint_id,
                 after={"since": since.isoformat(), "until": until.isoformat(), "events": count})
    after_commit(session, lambda: outbox.kick_drain(endpoint_id))
    return count


def _requeue(session: Session, tenant_id: int, endpoint_id: int, event_ids: list[int]) -> int:
    if not event_ids:
        return 0
    conn = session.connection()
    table = WebhookDelivery.__table__
    now = utcnow()
    rows = [{"tenant_id": tenant_id, "endpoint_id": endpoint_id, "event_id": e, "status": DeliveryStatus.PENDING,
             "attempts": 0, "next_attempt_at": now, "created_at": now} for e in event_ids]
    statement = insert_statement(conn.dialect.name)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["endpoint_id", "event_id"],
        set_={"status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now, "completed_at": None},
        where=(table.c.status == DeliveryStatus.SUCCEEDED) | (table.c.status == DeliveryStatus.FAILED))
    conn.execute(statement, rows)
    return len(event_ids)


@dataclass(frozen=True)
class WebhooksPage:
    """What /settings/webhooks shows: the endpoints, and the chosen one's log and health (if any)."""

    endpoints: list[Any]
    selected: int | None
    deliveries: list[DeliveryRow]
    stats: EndpointStats | None


def webhooks_page(session: Session, *, actor: Actor, endpoint_id: int | None = None) -> WebhooksPage:
    """The settings page's read model (admins): `endpoint_id` picks whose log to show, else the first."""
    from crm_app.services.webhooks.endpoints import list_endpoints

    endpoints = list_endpoints(session, actor=actor)
    ids = [e.id for e in endpoints]
    selected = endpoint_id if endpoint_id in ids else (ids[0] if ids else None)
    if selected is None:
        return WebhooksPage(endpoints, None, [], None)
    return WebhooksPage(endpoints, selected, list_deliveries(session, actor=actor, endpoint_id=selected),
                        endpoint_stats(session, actor=actor, endpoint_id=selected))
