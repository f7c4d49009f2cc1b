"""Deliver: one `deliver_webhooks(endpoint_id)` job drains an endpoint's due deliveries over a pooled async client.

A batch is claimed in a short transaction (`pending` -> `sending`, one more attempt, a lease), sent concurrently
outside any transaction (each request within the endpoint's timeout, signed with every valid secret, the same
`webhook-id` on every attempt), then recorded in one transaction: the attempt rows, and each delivery
succeeded, due again later on the schedule (`Retry-After` honoured as a floor) or failed when the schedule is
spent. The recording only touches a delivery still `sending` under the same attempt number, so a batch whose
lease the sweeper took back changes nothing.

One slow endpoint never delays the others, though every drain shares the `default` workers: a drain job serves,
each in its own task on one event loop, its endpoint and every endpoint woken while it runs (`outbox.WOKEN`), and
relays new events itself. So while a slow receiver holds a batch (up to its timeout, 30 s at most) the other
endpoints keep getting theirs from the same job. A job takes new batches for `DRAIN_BUDGET` seconds, and after
that only while an older batch still holds it anyway; an endpoint with work left queues its own job behind the
others, one with nothing due queues itself for its next retry.

`410 Gone` disables the endpoint at once, as do `DISABLE_AFTER_FAILING` of failures with no success; the tenant's
admins are e-mailed either way. A worker killed mid-batch loses nothing: the sweeper finds the lease passed,
counts the attempt as failed (the receiver may have got it: at-least-once) and schedules the next one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import session_scope, utcnow
from crm_app.domain import webhooks as rules
from crm_app.integrations import webhook_http
from crm_app.models import DeliveryStatus, Role, User, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from crm_app.services import settings  # noqa: F401  (loading it hands the outbound-URL policy its reader)
from crm_app.services.webhooks import outbox

log = logging.getLogger("crm_app.services.webhooks")

BATCH = 200
CONCURRENCY = 100
DRAIN_BUDGET = 3.0  # seconds a job drains before it steps behind the other endpoints' jobs
LEASE_MARGIN = 30  # seconds past the endpoint's timeout an attempt may hold its delivery
USER_AGENT = "AtendeCRM-Webhooks/1.0"
_deliveries, _events, _attempts = WebhookDelivery.__table__, WebhookEvent.__table__, WebhookAttempt.__table__


@dataclass(frozen=True)
class Target:
    """What a drain needs of its endpoint, read once per batch (secrets decrypted)."""

    id: int
    tenant_id: int
    url: str
    secrets: list[str]
    headers: dict[str, str]
    timeout: int
    rate_limit: int | None


@dataclass(frozen=True)
class Claimed:
    """One delivery this attempt holds."""

    id: int
    attempt: int
    msg_id: str
    body: bytes


def time_factor() -> float:
    """The process's retry-schedule factor (1 in production)."""
    return get_settings().webhook_time_factor


def load_target(session, endpoint_id: int, now: dt.datetime) -> Target | None:
    """The endpoint as a drain sends to it, or None when it is gone or disabled."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return None
    keys = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        keys.append(endpoint.previous_secret)
    return Target(endpoint.id, endpoint.tenant_id, endpoint.url, keys, json.loads(endpoint.headers_json or "{}"),
                  endpoint.timeout_seconds, endpoint.rate_limit_per_second)


def deliver(endpoint_id: int) -> str:
    """The job: drain `endpoint_id`'s due deliveries, and those of endpoints woken meanwhile (module docstring)."""
    outbox.get_redis().delete(outbox.DRAIN_FLAG.format(endpoint_id))
    return asyncio.run(_Drain(endpoint_id).run())


class _Drain:
    """One job's event loop: a task per endpoint, each claiming, sending and recording batches in turn."""

    POLL = 0.05  # seconds between looks for woken endpoints and new events

    def __init__(self, endpoint_id: int) -> None:
        self.first = endpoint_id
        self.deadline = time.monotonic() + DRAIN_BUDGET
        self.tasks: dict[int, asyncio.Task] = {}
        self.holding: dict[int, float] = {}  # endpoint -> when its batch in flight was claimed
        self.sent = 0

    def may_claim(self, endpoint_id: int) -> bool:
        """Within the budget; after it, only while another endpoint's older batch keeps the job running anyway."""
        now = time.monotonic()
        return now < self.deadline or any(at < self.deadline for other, at in self.holding.items()
                                          if other != endpoint_id)

    async def run(self) -> str:
        more: set[int] = set()
        async with webhook_http.client() as http:
            self.start(http, self.first)
            while self.tasks:
                if time.monotonic() < self.deadline or self.holding:
                    await self.take_up(http)
                done, _ = await asyncio.wait(self.tasks.values(), timeout=self.POLL,
                                             return_when=asyncio.FIRST_COMPLETED)
                for endpoint_id, task in list(self.tasks.items()):
                    if task in done:
                        del self.tasks[endpoint_id]
                        outcome = self.outcome(endpoint_id, task)
                        if outcome is True:
                            more.add(endpoint_id)
                        elif outcome is False:
                            await asyncio.to_thread(_wake_at_next_due, endpoint_id)
        for endpoint_id in more:
            outbox.kick_drain(endpoint_id)  # more may be due: step behind the other jobs
        return f"sent {self.sent}" + (f", more due for {len(more)} endpoint(s)" if more else "")

    @staticmethod
    def outcome(endpoint_id: int, task: asyncio.Task) -> bool | None:
        """A task's result; one endpoint's failure is logged and left to the sweeper, never the whole job's."""
        try:
            return task.result()
        except Exception:
            log.exception("webhook drain of endpoint %s failed; the sweeper takes its attempts back", endpoint_id)
            return None

    def start(self, http, endpoint_id: int) -> None:
        self.tasks[endpoint_id] = asyncio.create_task(self.drain_one(http, endpoint_id))

    async def take_up(self, http) -> None:
        """Relay events committed since, and start a task for each endpoint woken since."""
        redis = outbox.get_redis()
        if redis.exists(outbox.RELAY_FLAG):
            await asyncio.to_thread(outbox.relay_events)
        for raw in redis.spop(outbox.WOKEN, 100) or []:
            endpoint_id = int(raw)
            if endpoint_id not in self.tasks:
                self.start(http, endpoint_id)

    async def drain_one(self, http, endpoint_id: int) -> bool | None:
        """Batches of one endpoint until none is due (False) or the job must end (True: work may be left);
        None when the endpoint is gone or disabled (nothing to wake it for)."""
        while self.may_claim(endpoint_id):
            claimed_at = time.monotonic()
            target, batch = await asyncio.to_thread(claim, endpoint_id)
            if target is None:
                return None
            if not batch:
                return False
            self.holding[endpoint_id] = claimed_at
            try:
                answers = await _send_all(http, target, batch)
                await asyncio.to_thread(record, target, batch, answers)
            finally:
                del self.holding[endpoint_id]
            self.sent += len(batch)
        return True


def claim(endpoint_id: int, limit: int = BATCH) -> tuple[Target | None, list[Claimed]]:
    """Take up to `limit` due deliveries of an enabled endpoint: one more attempt each, under a lease."""
    with session_scope() as session:
        now = utcnow()
        target = load_target(session, endpoint_id, now)
        if target is None:
            return None, []
        if target.rate_limit:  # a batch leaves at the endpoint's rate: it must fit in one timeout, inside the lease
            limit = max(1, min(limit, target.rate_limit * target.timeout))
        conn = session.connection()
        rows = conn.execute(sa.select(_deliveries.c.id, _deliveries.c.attempts, _events.c.msg_id, _events.c.payload)
                            .join(_events, _events.c.id == _deliveries.c.event_id)
                            .where(_deliveries.c.endpoint_id == endpoint_id,
                                   _deliveries.c.status == DeliveryStatus.PENDING,
                                   _deliveries.c.next_attempt_at <= now)
                            .order_by(_deliveries.c.next_attempt_at, _deliveries.c.id).limit(limit)
                            .with_for_update(of=_deliveries, skip_locked=True)).all()
        if not rows:
            return target, []
        lease = now + dt.timedelta(seconds=target.timeout + LEASE_MARGIN)
        conn.execute(sa.update(_deliveries).where(_deliveries.c.id.in_([r.id for r in rows])).values(
            status=DeliveryStatus.SENDING, attempts=_deliveries.c.attempts + 1, lease_until=lease,
            first_attempt_at=sa.func.coalesce(_deliveries.c.first_attempt_at, now)))
        return target, [Claimed(r.id, r.attempts + 1, r.msg_id, outbox.body_of(r.payload)) for r in rows]


def request_headers(target: Target, claimed: Claimed, timestamp: int) -> dict[str, str]:
    """The headers of one attempt: the custom ones, then the Standard Webhooks ones (which win)."""
    return {**target.headers, "content-type": "application/json", "user-agent": USER_AGENT,
            "webhook-id": claimed.msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": rules.signature_header(target.secrets, claimed.msg_id, timestamp, claimed.body)}


async def _send_all(http, target: Target, batch: list[Claimed]) -> list[tuple[dict, webhook_http.Answer]]:
    slots = asyncio.Semaphore(CONCURRENCY)
    interval = 1 / target.rate_limit if target.rate_limit else 0
    start = time.monotonic()

    async def one(index: int, claimed: Claimed) -> tuple[dict, webhook_http.Answer]:
        if interval:  # the endpoint's rate limit: request i leaves no earlier than i / rate seconds in
            await asyncio.sleep(max(0.0, start + index * interval - time.monotonic()))
        async with slots:
            headers = request_headers(target, claimed, int(time.time()))
            answer = await webhook_http.post(http, target.url, claimed.body, headers, target.timeout)
            return headers, answer

    return await asyncio.gather(*(one(i, c) for i, c in enumerate(batch)))


def _outcome(claimed: Claimed, answer: webhook_http.Answer, now: dt.datetime) -> dict:
    """The delivery's new columns after one answer."""
    done = {"b_id": claimed.id, "b_attempt": claimed.attempt, "last_status_code": answer.status,
            "last_error": answer.error, "lease_until": None}
    if answer.status is not None and 200 <= answer.status < 300:
        return {**done, "status": DeliveryStatus.SUCCEEDED, "next_attempt_at": None, "completed_at": now}
    retry_after = rules.parse_retry_after(answer.retry_after, now)
    delay = None if answer.status == 410 else rules.retry_delay(claimed.attempt, factor=time_factor(),
                                                                retry_after=retry_after)
    if delay is None:
        return {**done, "status": DeliveryStatus.FAILED, "next_attempt_at": None, "completed_at": now}
    if delay >= 300 * time_factor():
        delay *= 1 + random.uniform(0, 0.1)  # jitter: a recovering receiver is not hit by every retry at once
    return {**done, "status": DeliveryStatus.PENDING, "next_attempt_at": now + dt.timedelta(seconds=delay),
            "completed_at": None}


_RECORD = (sa.update(_deliveries)
           .where(_deliveries.c.id == sa.bindparam("b_id"), _deliveries.c.status == DeliveryStatus.SENDING,
                  _deliveries.c.attempts == sa.bindparam("b_attempt")))


def record(target: Target, batch: list[Claimed], answers: list[tuple[dict, webhook_http.Answer]]) -> None:
    """Store the attempts and move each delivery on, in one transaction; then the endpoint's health."""
    now = utcnow()
    outcomes = [_outcome(c, a, now) for c, (_, a) in zip(batch, answers, strict=True)]
    attempts = [{"tenant_id": target.tenant_id, "delivery_id": c.id, "endpoint_id": target.id, "attempted_at": now,
                 "status_code": a.status, "duration_ms": a.duration_ms, "response_body": a.body,
                 "request_headers": rules.masked_headers(h, target.headers), "error": a.error}
                for c, (h, a) in zip(batch, answers, strict=True)]
    with session_scope() as session:
        # The endpoint's row first, FOR NO KEY UPDATE: two drains of one endpoint queue here instead of deadlocking
        # (the attempts' foreign key takes KEY SHARE on it, which this lock does not conflict with).
        endpoint = session.exec(select(WebhookEndpoint).where(WebhookEndpoint.id == target.id)
                                .with_for_update(key_share=True)).first()
        conn = session.connection()
        conn.execute(_RECORD.values(status=sa.bindparam("status"), next_attempt_at=sa.bindparam("next_attempt_at"),
                                    completed_at=sa.bindparam("completed_at"), lease_until=sa.bindparam("lease_until"),
                                    last_status_code=sa.bindparam("last_status_code"),
                                    last_error=sa.bindparam("last_error")), outcomes)
        conn.execute(sa.insert(_attempts), attempts)
        statuses = [a.status for _, a in answers]
        update_health(session, endpoint, now, succeeded=any(s and 200 <= s < 300 for s in statuses),
                      gone=410 in statuses)


def update_health(session, endpoint: WebhookEndpoint | None, now: dt.datetime, *, succeeded: bool,
                  gone: bool) -> None:
    """A success clears the failing clock; a 410, or failures for 5 days (times the factor), disables.

    The caller holds the endpoint's row lock."""
    if endpoint is None or not endpoint.enabled:
        return
    if gone:
        disable(session, endpoint, "gone", now)
    elif succeeded:
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            session.add(endpoint)
    elif endpoint.failing_since is None:
        endpoint.failing_since = now
        session.add(endpoint)
    elif now - endpoint.failing_since >= rules.DISABLE_AFTER_FAILING * time_factor():
        disable(session, endpoint, "failing", now)


def disable(session, endpoint: WebhookEndpoint, reason: str, now: dt.datetime) -> None:
    """Turn an endpoint off (its pending deliveries wait for it to be enabled again) and e-mail the admins."""
    from crm_app.services import mail

    endpoint.enabled, endpoint.disabled_reason, endpoint.updated_at = False, reason, now
    session.add(endpoint)
    why = ("it answered 410 Gone" if reason == "gone" else "every attempt failed for 5 days")
    admins = session.exec(select(User).where(User.tenant_id == endpoint.tenant_id, User.role == Role.ADMIN,
                                             User.is_active.is_(True))).all()
    for admin in admins:
        mail.queue_notification(session, tenant_id=endpoint.tenant_id, to=admin.email, locale=admin.locale,
                                user_id=admin.id, title="Webhook disabled",
                                body=f"The webhook endpoint {endpoint.url} was disabled because {why}. "
                                     "Enable it again under Settings > Webhooks once it works.")
    log.warning("webhook endpoint %s disabled (%s)", endpoint.id, reason)


def _wake_at_next_due(endpoint_id: int) -> None:
    """Queue the drain for the endpoint's next due retry (the sweeper is the safety net)."""
    with session_scope() as session:
        endpoints = WebhookEndpoint.__table__
        due = session.connection().execute(
            sa.select(sa.func.min(_deliveries.c.next_attempt_at))
            .join(endpoints, endpoints.c.id == _deliveries.c.endpoint_id)
            .where(_deliveries.c.endpoint_id == endpoint_id, _deliveries.c.status == DeliveryStatus.PENDING,
                   endpoints.c.enabled.is_(True))).scalar()
    if due is not None:
        outbox.kick_drain(endpoint_id, delay=max(0.0, (due - utcnow()).total_seconds()))


def sweep(now: dt.datetime | None = None) -> int:
    """The periodic safety net: take back dead attempts, relay forgotten events, wake endpoints with due work.

    `now` is the clock (tests move it past a lease instead of waiting for it).
    """
    now = now or utcnow()
    taken = _take_back_dead_attempts(now)
    cutoff = now - dt.timedelta(seconds=5)
    with session_scope() as session:
        conn = session.connection()
        stale = conn.execute(sa.select(sa.func.count()).select_from(_events).where(
            _events.c.relayed_at.is_(None), _events.c.created_at < cutoff)).scalar()
        due = conn.execute(sa.select(_deliveries.c.endpoint_id).distinct()
                           .join(WebhookEndpoint.__table__, WebhookEndpoint.__table__.c.id == _deliveries.c.endpoint_id)
                           .where(_deliveries.c.status == DeliveryStatus.PENDING,
                                  _deliveries.c.next_attempt_at <= now,
                                  WebhookEndpoint.__table__.c.enabled.is_(True))).scalars().all()
    if stale:
        outbox.relay_events()
    for endpoint_id in due:
        outbox.kick_drain(endpoint_id)
    return taken + len(due)


def _take_back_dead_attempts(now: dt.datetime) -> int:
    """Deliveries whose lease passed: the attempt died midway (it counts, and may have arrived); schedule the next."""
    with session_scope() as session:
        conn = session.connection()
        dead = conn.execute(sa.select(_deliveries.c.id, _deliveries.c.attempts, _deliveries.c.tenant_id,
                                      _deliveries.c.endpoint_id)
                            .where(_deliveries.c.status == DeliveryStatus.SENDING, _deliveries.c.lease_until < now)
                            .limit(1000).with_for_update(skip_locked=True)).all()
        if not dead:
            return 0
        lost = webhook_http.Answer(None, "", None, 0, "the attempt was interrupted (it may have arrived)")
        outcomes = [_outcome(Claimed(d.id, d.attempts, "", b""), lost, now) for d in dead]
        conn.execute(_RECORD.values(status=sa.bindparam("status"), next_attempt_at=sa.bindparam("next_attempt_at"),
                                    completed_at=sa.bindparam("completed_at"), lease_until=sa.bindparam("lease_until"),
                                    last_status_code=sa.bindparam("last_status_code"),
                                    last_error=sa.bindparam("last_error")), outcomes)
        conn.execute(sa.insert(_attempts), [
            {"tenant_id": d.tenant_id, "delivery_id": d.id, "endpoint_id": d.endpoint_id, "attempted_at": now,
             "status_code": None, "duration_ms": 0, "response_body": "", "request_headers": {},
             "error": lost.error} for d in dead])
    for endpoint_id in {d.endpoint_id for d in dead}:  # each one's retry is due later: wake its drain then
        _wake_at_next_due(endpoint_id)
    log.info("took back %s interrupted webhook attempt(s)", len(dead))
    return len(dead)
