"""Inbound WhatsApp webhooks: store before ack, then process once.

`receive_webhook` runs in the web process: verify, store the raw body, commit,
enqueue. `process_inbound_event` runs in a hot worker: one transaction that
upserts contacts, finds or reopens conversations, inserts messages
idempotently on `wa_message_id` and moves statuses forward. The sweeper
re-enqueues what Redis lost; after `MAX_ATTEMPTS` an event is dead-lettered.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass

from rq.timeouts import BaseTimeoutException
from sqlalchemy import Connection, bindparam, or_, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from crm_app import crypto
from crm_app.db import after_commit, async_pool, get_engine, insert_ignoring_conflicts, session_scope, utcnow
from crm_app.domain import whatsapp
from crm_app.errors import ValidationError
from crm_app.models import InboundEvent, InboundEventStatus, Inbox
from crm_app.queue import get_async_redis, get_redis
from crm_app.services.channel import inbound
from crm_app.services.channel.inbound import InvalidSender
from crm_app.services.core import audit, jobs
from crm_app.services.core.actors import Actor, fetch_owned, require_role

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024
MAX_ATTEMPTS = 6
# A status can arrive before the send that produced its wamid has committed; wait this many tries.
STATUS_WAIT_ATTEMPTS = 3
SWEEP_AFTER = dt.timedelta(seconds=5)
# A pending event this old gets its own job even if a drainer seems alive (its flag lives 30 s at most).
STALE_AFTER = dt.timedelta(seconds=30)
SWEEP_BATCH = 500
# An event's own job that has not run this long after the sweeper queued it is presumed lost (Redis lost
# it): the sweeper queues it again. A job that ran and failed clears the mark, so a retry is not delayed.
LOST_JOB_AFTER = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class WebhookOutcome:
    """What the webhook route answers Meta."""

    status: int
    message: str
    event_id: int | None = None
    duplicate: bool = False
    pending: bool = False


class StatusNotYetKnown(Exception):
    """A status names a wamid we have not stored yet; try the event again later."""


def enqueue_event(event_id: int) -> bool:
    """Queue the processing job; False (and a log line) when Redis is unreachable."""
    try:
        with get_redis().pipeline() as pipe:  # one round trip instead of several
            jobs.enqueue("process_inbound_event", event_id, pipeline=pipe)
            pipe.execute()
        return True
    except Exception as exc:  # the sweeper recovers from PostgreSQL
        log.warning("could not enqueue inbound event %s: %s", event_id, type(exc).__name__)
        return False


@dataclass(frozen=True)
class Route:
    """Where a webhook goes: the inbox, its tenant and the secret that signs its bodies."""

    inbox_id: int
    tenant_id: int
    app_secret: str


class _RouteCache:
    """Routing results per body routing key, kept `ttl` seconds so an ack needs no query and no decryption.

    A wrong signature against a cached secret is re-checked against a fresh lookup, so a rotated
    secret works at once; the TTL bounds how long a moved or deleted inbox is still routed to.
    """

    def __init__(self, ttl: float = 30.0, size: int = 1024):
        self.ttl, self.size = ttl, size
        self._entries: dict[tuple, tuple[float, object]] = {}

    def get(self, key: tuple):
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: tuple, route) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, route)

    def drop(self, key: tuple) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


_routes = _RouteCache()


def forget_routes() -> None:
    """Drop every cached route (tests; an operator who moved numbers between tenants)."""
    _routes.clear()
    _inboxes.clear()


def _routing_key(body: dict) -> tuple:
    return tuple(sorted(whatsapp.phone_number_ids(body))), tuple(whatsapp.waba_ids(body))


def lookup_route(conn: Connection, key: tuple) -> Route | None:
    """The inbox a body is for: by phone_number_id, else by WABA id (template and account events)."""
    pids, waba_ids = key
    if not pids and not waba_ids:
        return None
    query = (select(Inbox.id, Inbox.tenant_id, Inbox.app_secret, Inbox.phone_number_id, Inbox.waba_id)
             .where(or_(Inbox.phone_number_id.in_(pids), Inbox.waba_id.in_(waba_ids))).order_by(Inbox.id))
    return _pick_route(conn.execute(query).all(), key)


def _pick_route(rows, key: tuple) -> Route | None:
    """From (id, tenant_id, app_secret, phone_number_id, waba_id) rows in id order: the first phone number
    match, else the first WABA match. The secret is already decrypted."""
    pids, waba_ids = key
    by_pid = {r[3]: r for r in rows}
    by_waba: dict[str, object] = {}
    for r in rows:
        by_waba.setdefault(r[4], r)
    found = next((by_pid[p] for p in pids if p in by_pid), None) or next(
        (by_waba[w] for w in waba_ids if w in by_waba), None)
    return None if found is None else Route(found[0], found[1], found[2])


def receive_webhook(raw: bytes, signature: str | None) -> WebhookOutcome:
    """Verify, store and enqueue one POST from Meta. Database errors propagate (the route answers 503)."""
    outcome = store_webhook(raw, signature)
    if outcome.pending:
        notify_event(outcome.event_id)
    return outcome


class DatabaseUnavailable(Exception):
    """The fast path could not store the event: the route answers 503 and Meta retries."""


_FAST_INSERT = ("INSERT INTO inbound_events (tenant_id, inbox_id, body, content_hash, status, attempts, received_at) "
                "VALUES (%s, %s, %s, %s, 'pending', 0, %s) ON CONFLICT (content_hash) DO NOTHING RETURNING id")
_FAST_EXISTING = "SELECT id, status FROM inbound_events WHERE content_hash = %s"
_FAST_ROUTE = ("SELECT id, tenant_id, app_secret, phone_number_id, waba_id FROM inboxes "
               "WHERE phone_number_id = ANY(%s) OR waba_id = ANY(%s) ORDER BY id")


async def receive_webhook_async(raw: bytes, signature: str | None) -> WebhookOutcome | None:
    """`receive_webhook` on the event loop, for PostgreSQL: the same steps with no thread hop.

    Verify (a cached route, else one query), one autocommit INSERT, then RQ's own enqueue commands.
    Returns None on SQLite, which only the sync path serves; raises DatabaseUnavailable.
    """
    import psycopg

    pool = async_pool()
    if pool is None:
        return None
    key = _routing_key_of(raw)
    if isinstance(key, WebhookOutcome):
        return key
    for attempt in (1, 2):  # a second try covers a pooled connection that PostgreSQL dropped
        try:
            async with pool.connection() as conn:
                outcome = await _verify_and_store_async(conn, key, raw, signature)
            break
        except psycopg.OperationalError as exc:
            _routes.drop(key)
            await pool.discard_idle()  # after a PostgreSQL restart every idle connection is dead
            if attempt == 2:
                raise DatabaseUnavailable(type(exc).__name__) from exc
        except psycopg.Error as exc:
            _routes.drop(key)  # a deleted inbox breaks the insert's foreign key until the cache forgets it
            raise DatabaseUnavailable(type(exc).__name__) from exc
    if outcome.pending:
        await notify_event_async(outcome.event_id)
    return outcome


async def _verify_and_store_async(conn, key: tuple, raw: bytes, signature: str | None) -> WebhookOutcome:
    route = _routes.get(key)
    if route is None or not whatsapp.verify_signature(raw, signature, route.app_secret):
        route = None  # nothing cached, or the secret may have been rotated: read it again
        if key[0] or key[1]:
            rows = await (await conn.execute(_FAST_ROUTE, (list(key[0]), list(key[1])))).fetchall()
            route = _pick_route([(r[0], r[1], crypto.decrypt(r[2]), r[3], r[4]) for r in rows], key)
        if route is None or not whatsapp.verify_signature(raw, signature, route.app_secret):
            _routes.drop(key)
            return WebhookOutcome(403, "invalid signature")
        _routes.put(key, route)
    digest = hashlib.sha256(raw).hexdigest()
    row = await (await conn.execute(_FAST_INSERT, (route.tenant_id, route.inbox_id, raw.decode(), digest,
                                                   utcnow()))).fetchone()
    if row is not None:
        return WebhookOutcome(200, "ok", row[0], False, True)
    # ON CONFLICT waited for the first writer to commit, so this statement sees its row.
    existing = await (await conn.execute(_FAST_EXISTING, (digest,))).fetchone()
    return WebhookOutcome(200, "ok", existing[0], True,
                          existing[1] in (InboundEventStatus.PENDING, InboundEventStatus.FAILED))


def _routing_key_of(raw: bytes) -> tuple | WebhookOutcome:
    """The routing key of a raw body, or the answer for a body we refuse (413, 400)."""
    if len(raw) > MAX_BODY_BYTES:
        return WebhookOutcome(413, "payload larger than 3 MB")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return WebhookOutcome(400, "body is not JSON")
    if not isinstance(body, dict):
        return WebhookOutcome(400, "body is not a JSON object")
    return _routing_key(body)


def store_webhook(raw: bytes, signature: str | None) -> WebhookOutcome:
    """Verify one POST from Meta and commit it; the caller enqueues when `pending`, after this returns.

    Database errors propagate (the route answers 503). One retry covers a pooled connection that
    PostgreSQL dropped (a restart): the insert is idempotent on the content hash.
    """
    key = _routing_key_of(raw)
    if isinstance(key, WebhookOutcome):
        return key
    try:
        return _verify_and_store(key, raw, signature)
    except DBAPIError as exc:
        _routes.drop(key)  # a deleted inbox breaks the insert's foreign key until the cache forgets it
        if not exc.connection_invalidated:
            raise
        return _verify_and_store(key, raw, signature)


def _verify_and_store(key: tuple, raw: bytes, signature: str | None) -> WebhookOutcome:
    # Autocommit: the single INSERT is its own transaction, durable when PostgreSQL answers, in one round trip.
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        route = _routes.get(key)
        if route is None or not whatsapp.verify_signature(raw, signature, route.app_secret):
            route = lookup_route(conn, key)  # nothing cached, or the secret may have been rotated
            if route is None or not whatsapp.verify_signature(raw, signature, route.app_secret):
                _routes.drop(key)
                return WebhookOutcome(403, "invalid signature")
            _routes.put(key, route)
        event_id, duplicate, pending = _store_event(conn, route, raw)
    return WebhookOutcome(200, "ok", event_id, duplicate, pending)


def _store_event(conn: Connection, route: Route, raw: bytes) -> tuple[int, bool, bool]:
    """Insert the raw body once per content hash. Returns (id, was_duplicate, still_pending)."""
    digest = hashlib.sha256(raw).hexdigest()
    values = {"tenant_id": route.tenant_id, "inbox_id": route.inbox_id, "body": raw.decode(),
              "content_hash": digest, "status": InboundEventStatus.PENDING, "attempts": 0, "received_at": utcnow()}
    new_id = insert_ignoring_conflicts(conn, InboundEvent, values, ["content_hash"])
    if new_id is not None:
        return new_id, False, True
    # ON CONFLICT waited for the first writer to commit, so this fresh statement sees its row.
    existing = conn.execute(select(InboundEvent.id, InboundEvent.status)
                            .where(InboundEvent.content_hash == digest)).one()
    return existing.id, True, existing.status in (InboundEventStatus.PENDING, InboundEventStatus.FAILED)


def process_inbound_event(event_id: int) -> str:
    """Apply one stored event exactly once. Returns what happened, for the job result."""
    return _process(lambda session: _lock_event(session, event_id), event_id)[1]


def _process(lock, event_id: int | None) -> tuple[int | None, str]:
    """Lock an event with `lock(session)`, apply it and mark it processed, in one transaction.

    Returns (the event's id or None when `lock` found nothing, summary). A failure is recorded on the
    event (failed, or dead after MAX_ATTEMPTS) and raised.
    """
    try:
        with session_scope() as session:
            event = lock(session)
            if event is None or event.status in (InboundEventStatus.PROCESSED, InboundEventStatus.DEAD):
                return (None if event is None else event.id), "skipped"
            event_id = event.id
            summary, notes = _apply(session, event)
            session.connection().execute(
                update(_events).where(_events.c.id == event_id).values(
                    status=InboundEventStatus.PROCESSED, processed_at=utcnow(), attempts=_events.c.attempts + 1,
                    last_error=notes))
    except Exception as exc:
        _inboxes.clear()  # a moved or deleted inbox must not keep failing from the cache
        if event_id is not None:
            _record_failure(event_id, exc)
        raise
    return event_id, summary


_events = InboundEvent.__table__
_EVENT_COLUMNS = (_events.c.id, _events.c.tenant_id, _events.c.status, _events.c.attempts, _events.c.body)
_LOCK_EVENT = select(*_EVENT_COLUMNS).where(_events.c.id == bindparam("id")).with_for_update()
# The oldest pending event no other drainer holds: arrival order, and two drainers never wait on each other.
_LOCK_NEXT = (select(*_EVENT_COLUMNS).where(_events.c.status == InboundEventStatus.PENDING)
              .order_by(_events.c.id).limit(1).with_for_update(skip_locked=True))


def _lock_event(session: Session, event_id: int):
    # FOR UPDATE serialises two workers that got the same event (sweeper + original job).
    return session.connection().execute(_LOCK_EVENT, {"id": event_id}).first()


def _lock_next(session: Session):
    return session.connection().execute(_LOCK_NEXT).first()


# Draining: a burst of webhooks costs one RQ job per hot worker, not one per webhook. RQ's own cost per
# job (about 5 ms on 2 cores) was as large as processing an event. Each slot has a flag in Redis: the webhook
# that sets it queues a drain job, the others just store. The drainer clears its flag before its last look,
# so an event stored meanwhile is seen either by that look or by the webhook that sets the flag again.
DRAIN_FLAG_TTL = 30  # seconds; refreshed while draining, so a killed drainer blocks its slot this long at most
DRAIN_BATCH = 200  # events per job, then the drain requeues itself behind the other hot jobs (outbound sends)
DRAIN_GROUP = 10  # events per transaction: one commit (a WAL flush) for ten events


def drain_slots() -> int:
    """How many drain jobs may run at once: one per hot worker."""
    from crm_app.config import get_settings

    return max(1, get_settings().hot_workers)


def drain_flag(slot: int) -> str:
    """The Redis key that says a drain job for `slot` is queued or running."""
    return f"crm:inbound:drain:{slot}"


def _start_drain(slot: int, tag: str) -> bool:
    """Raise `slot`'s flag and queue its drainer, unless the flag is already up."""
    tag = f"{tag}-{time.time_ns()}"  # unique: a redelivered webhook must not overwrite a queued job's hash
    if not get_redis().set(drain_flag(slot), tag, nx=True, ex=DRAIN_FLAG_TTL):
        return False
    try:
        jobs.enqueue("drain_inbound_events", slot, tag=tag)
    except Exception:
        get_redis().delete(drain_flag(slot))  # no job behind the flag: let the next webhook try
        raise
    return True


def notify_event(event_id: int) -> bool:
    """After a webhook's commit: make sure a drainer will see the event. False when Redis is unreachable."""
    try:
        _start_drain(event_id % drain_slots(), str(event_id))
        return True
    except Exception as exc:  # the sweeper recovers from PostgreSQL
        log.warning("could not queue a drain for inbound event %s: %s", event_id, type(exc).__name__)
        return False


async def notify_event_async(event_id: int) -> bool:
    """`notify_event` on the event loop."""
    slot, tag = event_id % drain_slots(), f"{event_id}-{time.time_ns()}"
    redis = get_async_redis()
    try:
        if await redis.set(drain_flag(slot), tag, nx=True, ex=DRAIN_FLAG_TTL):
            try:
                await jobs.enqueue_on_loop("drain_inbound_events", slot, tag=tag)
            except BaseException:
                await redis.delete(drain_flag(slot))  # no job behind the flag: let the next webhook try
                raise
        return True
    except Exception as exc:  # the sweeper recovers from PostgreSQL
        log.warning("could not queue a drain for inbound event %s: %s", event_id, type(exc).__name__)
        return False


def drain_inbound_events(slot: int, batch: int = DRAIN_BATCH, group: int = DRAIN_GROUP) -> str:
    """Process pending events, oldest first, until none is left or `batch` were done (then requeue)."""
    redis, flag = get_redis(), drain_flag(slot)
    done = failed = 0
    while done + failed < batch:
        redis.expire(flag, DRAIN_FLAG_TTL)
        applied, failures = _process_group(min(group, batch - done - failed))
        done, failed = done + applied, failed + failures
        if applied or failures:
            continue
        redis.delete(flag)
        if not _has_pending() or not redis.set(flag, "drain", nx=True, ex=DRAIN_FLAG_TTL):
            return f"{done} processed, {failed} failed, queue empty"
    jobs.enqueue("drain_inbound_events", slot, tag=f"more-{time.time_ns()}")
    return f"{done} processed, {failed} failed, requeued"


def _process_group(size: int) -> tuple[int, int]:
    """Lock up to `size` pending events and apply them in one transaction: one commit for the group.

    If any of them fails, the group is rolled back and each is applied on its own, so that only the
    bad one is recorded as failed. Returns (applied, failed). Database outages propagate.
    """
    events = []
    try:
        with session_scope() as session:
            events = session.connection().execute(_lock_next_statement(size)).all()
            for event in events:
                _, notes = _apply(session, event)
                session.connection().execute(
                    update(_events).where(_events.c.id == event.id).values(
                        status=InboundEventStatus.PROCESSED, processed_at=utcnow(),
                        attempts=_events.c.attempts + 1, last_error=notes))
        return len(events), 0
    except BaseTimeoutException:
        raise  # RQ's job timeout: not a bad event
    except DBAPIError as exc:
        if exc.connection_invalidated or not events:
            raise  # the database is down: the flag expires and the sweeper takes over
    except Exception:  # noqa: BLE001 - one bad event; find it below
        pass
    applied = failed = 0
    for event in events:
        try:
            if process_inbound_event(event.id) != "skipped":
                applied += 1
        except BaseTimeoutException:
            raise
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise
            failed += 1  # recorded on the event; the sweeper retries it
        except Exception:  # noqa: BLE001 - recorded on the event; the sweeper retries it
            failed += 1
    return applied, failed


@functools.lru_cache(maxsize=8)
def _lock_next_statement(size: int):
    return _LOCK_NEXT.limit(size)


def _has_pending() -> bool:
    """Whether a pending event is free to take; one that another worker holds is that worker's to finish."""
    with get_engine().connect() as conn:
        found = conn.execute(_LOCK_NEXT).first() is not None
        conn.rollback()
    return found


def _apply(session: Session, event) -> tuple[str, str | None]:
    """Store the event's messages and statuses. Returns (summary, notes for `last_error`)."""
    parsed = whatsapp.parse_webhook(json.loads(event.body))
    created = invalid = 0
    for message in parsed.messages:
        inbox = _inbox_for(session, event, message.phone_number_id)
        try:
            if inbox is not None and inbound.record_inbound_message(
                    session, inbox_id=inbox[0], tenant_id=inbox[1], message=message):
                created += 1
        except InvalidSender:
            invalid += 1
    unknown = 0
    for status in parsed.statuses:
        if not inbound.apply_status(session, tenant_id=event.tenant_id, update=status):
            unknown += 1
    if unknown and event.attempts + 1 < STATUS_WAIT_ATTEMPTS:
        raise StatusNotYetKnown(f"{unknown} statuses for unknown messages")
    notes = [f"{unknown} statuses for unknown messages" if unknown else "",
             f"{invalid} messages without a valid sender number" if invalid else "",
             f"webhook errors {[e.get('code') for e in parsed.errors]}" if parsed.errors else "",
             f"ignored fields {sorted(set(parsed.ignored_fields))}" if parsed.ignored_fields else ""]
    summary = f"{created} new messages, {len(parsed.statuses) - unknown} statuses applied"
    return summary, "; ".join(n for n in notes if n) or None


_inboxes = _RouteCache()


def _inbox_for(session: Session, event, phone_number_id: str) -> tuple[int, int] | None:
    """(id, tenant id) of one change's inbox, which must belong to the event's tenant; cached briefly."""
    key = ("pid", phone_number_id)
    inbox = _inboxes.get(key)
    if inbox is None:
        inbox = session.connection().execute(
            select(Inbox.id, Inbox.tenant_id).where(Inbox.phone_number_id == phone_number_id)).first()
        if inbox is not None:
            inbox = tuple(inbox)
            _inboxes.put(key, inbox)
    if inbox is None or inbox[1] != event.tenant_id:
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
        event.last_enqueued_at = None  # the job ran: the next sweep may queue a retry at once
        session.add(event)


def sweep_inbound_events(now: dt.datetime | None = None) -> int:
    """Recover events whose job was lost (Redis down, a worker killed). Returns how many jobs it queued.

    Failed events, and pending ones older than STALE_AFTER, get their own job, unless the one the sweeper
    queued earlier is still waiting (`last_enqueued_at`, younger than LOST_JOB_AFTER) or a worker holds the
    event right now. Younger pending events only need a drainer: one is started for each slot whose flag
    is down (a live drainer keeps its flag up).
    """
    now = now or utcnow()
    with session_scope() as session:
        ids = _claim_for_jobs(session, now)
        waiting = session.exec(select(InboundEvent.id).where(
            InboundEvent.status == InboundEventStatus.PENDING, InboundEvent.received_at < now - SWEEP_AFTER,
            InboundEvent.received_at >= now - STALE_AFTER).limit(1)).first()
    lost = [event_id for event_id in ids if not enqueue_event(event_id)]
    if lost:
        _unmark_enqueued(lost, now)  # no job behind the mark: the next sweep tries again
    queued = len(ids) - len(lost)
    if waiting is not None:
        queued += sum(1 for slot in range(drain_slots()) if _start_drain(slot, "sweep"))
    return queued


def _claim_for_jobs(session: Session, now: dt.datetime) -> list[int]:
    """The events that need their own job now, marked as queued at `now` (committed before the enqueue,
    so a job that runs and fails at once clears the mark after it, not before)."""
    ids = session.exec(
        select(InboundEvent.id)
        .where(or_(InboundEvent.status == InboundEventStatus.FAILED, InboundEvent.received_at < now - STALE_AFTER),
               InboundEvent.status.in_([InboundEventStatus.PENDING, InboundEventStatus.FAILED]),
               InboundEvent.received_at < now - SWEEP_AFTER,
               or_(InboundEvent.last_enqueued_at.is_(None), InboundEvent.last_enqueued_at < now - LOST_JOB_AFTER))
        .order_by(InboundEvent.id).limit(SWEEP_BATCH).with_for_update(skip_locked=True)  # held: being processed
    ).all()
    if ids:
        session.exec(update(InboundEvent).where(InboundEvent.id.in_(ids)).values(last_enqueued_at=now))
    return list(ids)


def _unmark_enqueued(event_ids: list[int], at: dt.datetime) -> None:
    with session_scope() as session:
        session.exec(update(InboundEvent).where(InboundEvent.id.in_(event_ids),
                                                InboundEvent.last_enqueued_at == at).values(last_enqueued_at=None))


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
    event.status, event.attempts, event.last_enqueued_at = InboundEventStatus.PENDING, 0, utcnow()
    session.add(event)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="inbound_event.replay",
                 target_type="inbound_event", target_id=event.id, before={"status": "dead"},
                 after={"status": "pending"})
    after_commit(session, lambda: enqueue_event(event_id))
