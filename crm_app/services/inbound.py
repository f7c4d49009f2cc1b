"""Inbound WhatsApp webhooks: store before ack, then process once.

`receive_webhook` runs in the web process: verify, store the raw body, commit,
enqueue. `process_inbound_event` runs in a hot worker: one transaction that
upserts contacts, finds or reopens conversations, inserts messages
idempotently on `wa_message_id` and moves statuses forward. The sweeper
re-enqueues what Redis lost; after `MAX_ATTEMPTS` an event is dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.db import after_commit, insert_ignoring_conflicts, session_scope, utcnow
from crm_app.domain import whatsapp
from crm_app.errors import ValidationError
from crm_app.models import InboundEvent, InboundEventStatus, Inbox
from crm_app.queue import QUEUE_HIGH, get_queue
from crm_app.services import audit, conversations
from crm_app.services.actors import Actor, fetch_owned, require_role
from crm_app.services.conversations import InvalidSender

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024
MAX_ATTEMPTS = 6
# A status can arrive before the send that produced its wamid has committed; wait this many tries.
STATUS_WAIT_ATTEMPTS = 3
SWEEP_AFTER = dt.timedelta(seconds=5)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class WebhookOutcome:
    """What the webhook route answers Meta."""

    status: int
    message: str
    event_id: int | None = None
    duplicate: bool = False


class StatusNotYetKnown(Exception):
    """A status names a wamid we have not stored yet; try the event again later."""


def job_id(event_id: int) -> str:
    """The deterministic RQ job id of an event."""
    return f"inbound-{event_id}"


def enqueue_event(event_id: int) -> bool:
    """Queue the processing job; False (and a log line) when Redis is unreachable."""
    try:
        get_queue(QUEUE_HIGH).enqueue("workers.jobs.process_inbound_event", event_id, job_id=job_id(event_id),
                                      result_ttl=300, failure_ttl=86400)
        return True
    except Exception as exc:  # the sweeper recovers from PostgreSQL
        log.warning("could not enqueue inbound event %s: %s", event_id, type(exc).__name__)
        return False


def route_inbox(session: Session, body: dict) -> Inbox | None:
    """The inbox a body is for: by phone_number_id, else by WABA id (template and account events)."""
    for pid in sorted(whatsapp.phone_number_ids(body)):
        inbox = session.exec(select(Inbox).where(Inbox.phone_number_id == pid)).first()
        if inbox is not None:
            return inbox
    for waba_id in whatsapp.waba_ids(body):
        inbox = session.exec(select(Inbox).where(Inbox.waba_id == waba_id).order_by(Inbox.id)).first()
        if inbox is not None:
            return inbox
    return None


def receive_webhook(raw: bytes, signature: str | None) -> WebhookOutcome:
    """Verify and store one POST from Meta. Database errors propagate (the route answers 503)."""
    if len(raw) > MAX_BODY_BYTES:
        return WebhookOutcome(413, "payload larger than 3 MB")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return WebhookOutcome(400, "body is not JSON")
    if not isinstance(body, dict):
        return WebhookOutcome(400, "body is not a JSON object")
    with session_scope() as session:
        inbox = route_inbox(session, body)
        if inbox is None or not whatsapp.verify_signature(raw, signature, inbox.app_secret):
            return WebhookOutcome(403, "invalid signature")
        event_id, duplicate, pending = _store_event(session, inbox, raw)
    if pending:
        enqueue_event(event_id)
    return WebhookOutcome(200, "ok", event_id, duplicate)


def _store_event(session: Session, inbox: Inbox, raw: bytes) -> tuple[int, bool, bool]:
    """Insert the raw body once per content hash. Returns (id, was_duplicate, still_pending)."""
    digest = hashlib.sha256(raw).hexdigest()
    event = InboundEvent(tenant_id=inbox.tenant_id, inbox_id=inbox.id, body=raw.decode(), content_hash=digest)
    new_id = insert_ignoring_conflicts(session, InboundEvent, event.model_dump(exclude={"id"}), ["content_hash"])
    if new_id is not None:
        return new_id, False, True
    existing = session.exec(select(InboundEvent).where(InboundEvent.content_hash == digest)).one()
    return existing.id, True, existing.status in (InboundEventStatus.PENDING, InboundEventStatus.FAILED)


def process_inbound_event(event_id: int) -> str:
    """Apply one stored event exactly once. Returns what happened, for the job result."""
    try:
        with session_scope() as session:
            event = _lock_event(session, event_id)
            if event is None or event.status in (InboundEventStatus.PROCESSED, InboundEventStatus.DEAD):
                return "skipped"
            summary = _apply(session, event)
            event.status, event.processed_at = InboundEventStatus.PROCESSED, utcnow()
            event.attempts += 1
            session.add(event)
    except Exception as exc:
        _record_failure(event_id, exc)
        raise
    return summary


def _lock_event(session: Session, event_id: int) -> InboundEvent | None:
    # FOR UPDATE serialises two workers that got the same event (sweeper + original job).
    return session.exec(select(InboundEvent).where(InboundEvent.id == event_id).with_for_update()).first()


def _apply(session: Session, event: InboundEvent) -> str:
    parsed = whatsapp.parse_webhook(json.loads(event.body))
    created = invalid = 0
    for message in parsed.messages:
        inbox = _inbox_for(session, event, message.phone_number_id)
        try:
            if inbox is not None and conversations.record_inbound_message(session, inbox=inbox, message=message):
                created += 1
        except InvalidSender:
            invalid += 1
    unknown = 0
    for status in parsed.statuses:
        if not conversations.apply_status(session, tenant_id=event.tenant_id, update=status):
            unknown += 1
    if unknown and event.attempts + 1 < STATUS_WAIT_ATTEMPTS:
        raise StatusNotYetKnown(f"{unknown} statuses for unknown messages")
    notes = [f"{unknown} statuses for unknown messages" if unknown else "",
             f"{invalid} messages without a valid sender number" if invalid else "",
             f"webhook errors {[e.get('code') for e in parsed.errors]}" if parsed.errors else "",
             f"ignored fields {sorted(set(parsed.ignored_fields))}" if parsed.ignored_fields else ""]
    event.last_error = "; ".join(n for n in notes if n) or None
    return f"{created} new messages, {len(parsed.statuses) - unknown} statuses applied"


def _inbox_for(session: Session, event: InboundEvent, phone_number_id: str) -> Inbox | None:
    """The inbox of one change, which must belong to the event's tenant."""
    inbox = session.exec(select(Inbox).where(Inbox.phone_number_id == phone_number_id)).first()
    if inbox is None or inbox.tenant_id != event.tenant_id:
        log.warning("event %s names a number outside its tenant; change skipped", event.id)
        return None
    return inbox


def _record_failure(event_id: int, exc: Exception) -> None:
    with session_scope() as session:
        event = session.get(InboundEvent, event_id)
        if event is None:
            return
        event.attempts += 1
        event.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        dead = event.attempts >= MAX_ATTEMPTS
        event.status = InboundEventStatus.DEAD if dead else InboundEventStatus.FAILED
        session.add(event)


def sweep_inbound_events(now: dt.datetime | None = None) -> int:
    """Re-enqueue pending or failed events older than a few seconds. Returns how many."""
    cutoff = (now or utcnow()) - SWEEP_AFTER
    with session_scope() as session:
        ids = session.exec(
            select(InboundEvent.id)
            .where(InboundEvent.status.in_([InboundEventStatus.PENDING, InboundEventStatus.FAILED]),
                   InboundEvent.received_at < cutoff)
            .order_by(InboundEvent.id).limit(SWEEP_BATCH)
        ).all()
    return sum(1 for event_id in ids if enqueue_event(event_id))


@dataclass(frozen=True)
class DeadEventRow:
    """A webhook that could not be processed, as admins see it."""

    id: int
    received_at: dt.datetime
    attempts: int
    last_error: str
    body_preview: str


def list_dead_events(session: Session, *, actor: Actor, limit: int = 100) -> list[DeadEventRow]:
    """The actor's tenant's dead-lettered webhooks, newest first; admins only."""
    require_role(actor, "admin")
    query = (select(InboundEvent).where(InboundEvent.tenant_id == actor.tenant_id,
                                        InboundEvent.status == InboundEventStatus.DEAD)
             .order_by(InboundEvent.id.desc()).limit(limit))
    return [DeadEventRow(e.id, e.received_at, e.attempts, e.last_error or "", e.body[:2000])
            for e in session.exec(query)]


def replay_event(session: Session, *, actor: Actor, event_id: int) -> None:
    """Give a dead-lettered webhook a fresh set of attempts and queue it after commit."""
    require_role(actor, "admin")
    event = fetch_owned(session, InboundEvent, event_id, actor=actor, what="event")
    if event.status != InboundEventStatus.DEAD:
        raise ValidationError("only failed events can be replayed")
    event.status, event.attempts = InboundEventStatus.PENDING, 0
    session.add(event)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="inbound_event.replay",
                 target_type="inbound_event", target_id=event.id, before={"status": "dead"},
                 after={"status": "pending"})
    after_commit(session, lambda: enqueue_event(event_id))
