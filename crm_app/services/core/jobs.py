"""The one job registry: each background job's function, queue, id rule, timeout and retry policy.

Nothing else names a job's import path. Services queue work with `enqueue(name, *args)` (or
`enqueue_after_commit` inside a transaction), and a lower context starts work in a higher one only
this way: by name, after commit, never by importing upward. The scheduler reads the periodic jobs
from here, and `crm_app/processes.py` runs one set of workers per queue.

Queues are named by latency and length, so a long job never delays a short deadline:
`high` is WhatsApp in and out, `bot` is bot turns and their AI calls, `default` is short periodic
work, and `bulk` is long work (exports, backups, data-subject bundles, retention).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from rq import Retry
from rq.job import Job
from sqlmodel import Session

from crm_app.db import after_commit
from crm_app.queue import QUEUE_BOT, QUEUE_BULK, QUEUE_DEFAULT, QUEUE_HIGH, enqueue_async, get_queue

JOBS_MODULE = "workers.jobs"


@dataclass(frozen=True)
class JobSpec:
    """How one job is queued.

    `job_id` turns the job's arguments (and an optional tag, for jobs that may legitimately be queued
    again while one is pending) into its RQ id, so that the same work queued twice is one job.
    `every` is the interval in seconds of a periodic job (the scheduler registers those).
    """

    name: str
    queue: str
    job_id: Callable[..., str]
    timeout: int = 180
    result_ttl: int = 300
    failure_ttl: int = 86400
    retry: tuple[int, ...] = ()
    every: int | None = None

    @property
    def func(self) -> str:
        """The import path RQ stores and a worker imports."""
        return f"{JOBS_MODULE}.{self.name}"


def _periodic(name: str) -> Callable[..., str]:
    return lambda *args, tag=None: f"periodic-{name.replace('_', '-')}"


# Media downloads are retried after 5 s, 30 s, 2 min and 10 min.
MEDIA_RETRY_INTERVALS = (5, 30, 120, 600)

_SPECS = (
    # high: WhatsApp in and out, on the SimpleWorker pool (no fork per job)
    JobSpec("process_inbound_event", QUEUE_HIGH, lambda event_id, tag=None: f"inbound-{event_id}", timeout=60),
    JobSpec("drain_inbound_events", QUEUE_HIGH, lambda slot, tag=None: f"inbound-drain-{slot}-{tag}",
            timeout=300, result_ttl=60),
    # One attempt per run (no sleeping): re-queued with a tag (`after-<id>`, `retry-<n>`, `slot-<ms>`) and a delay.
    JobSpec("send_outbound_message", QUEUE_HIGH,
            lambda message_id, tag=None: f"send-message-{message_id}" + (f"-{tag}" if tag else ""), timeout=120),
    JobSpec("send_read_receipt", QUEUE_HIGH,
            lambda message_id, typing=False, tag=None: f"read-{message_id}-{int(bool(typing))}", timeout=60),
    # Unique per request: a fixed id re-queued after the first run finished would keep that run's
    # expiry, and the second could find its job hash gone (RQ skips it) until the 30 s sweep.
    JobSpec("assign_waiting", QUEUE_HIGH,
            lambda tenant_id, tag=None: f"assign-waiting-{tenant_id}-{tag or time.time_ns()}", timeout=60,
            result_ttl=60),
    # compliance: a customer's opt-out word, Meta's 131050 (withdrawn marketing consent); once per message
    JobSpec("apply_opt_out", QUEUE_HIGH, lambda message_id, tag=None: f"opt-out-{message_id}", timeout=60),
    JobSpec("apply_meta_opt_out", QUEUE_HIGH, lambda message_id, tag=None: f"meta-opt-out-{message_id}",
            timeout=60),
    # the opt-outs whose job above was lost (Redis down at the commit): found again in `messages`
    JobSpec("sweep_opt_outs", QUEUE_HIGH, _periodic("sweep_opt_outs"), every=60, timeout=300),
    JobSpec("sweep_inbound_events", QUEUE_HIGH, _periodic("sweep_inbound_events"), every=10, timeout=120),
    JobSpec("sweep_queued_messages", QUEUE_HIGH, _periodic("sweep_queued_messages"), every=30, timeout=120),
    JobSpec("assign_waiting_all", QUEUE_HIGH, _periodic("assign_waiting"), every=30, timeout=120),
    # bot: one debounced turn per burst of customer messages (AI calls included, up to 120 s); a turn of a tenant
    # at its concurrency cap is queued again under a tag: woken by a freed place (`woken-<ns>`) or by itself
    # later (`capped-<ns>`)
    JobSpec("run_bot_turn", QUEUE_BOT, lambda conversation_id, message_id=None, tag=None:
            f"bot-turn-{conversation_id}-{message_id or 'sweep'}-{tag or (0 if message_id else int(time.time()))}",
            timeout=300),
    # default: short work and periodic sweeps
    JobSpec("download_media", QUEUE_DEFAULT, lambda message_id, tag=None: f"media-{message_id}", timeout=300,
            result_ttl=3600, failure_ttl=7 * 86400, retry=MEDIA_RETRY_INTERVALS),
    JobSpec("sync_templates", QUEUE_DEFAULT, lambda inbox_id, tag=None: f"sync-templates-{inbox_id}", timeout=120,
            result_ttl=600),
    JobSpec("sweep_pending_media", QUEUE_DEFAULT, _periodic("sweep_pending_media"), every=300, timeout=120),
    JobSpec("wake_snoozed", QUEUE_DEFAULT, _periodic("wake_snoozed"), every=60, timeout=120),
    JobSpec("sweep_bot_turns", QUEUE_DEFAULT, _periodic("sweep_bot_turns"), every=15, timeout=120),
    JobSpec("expire_bot_sessions", QUEUE_DEFAULT, _periodic("expire_bot_sessions"), every=60, timeout=300),
    JobSpec("sync_all_templates", QUEUE_DEFAULT, _periodic("sync_templates"), every=3600, timeout=120),
    # One attempt per run: a retry is the same job queued again under a tag (`retry-<n>-<ns>`, `resend-<ns>`,
    # `sweep-<s>`) with a delay; the row lock and its status make a second run a no-op.
    JobSpec("send_email", QUEUE_DEFAULT,
            lambda email_id, tag=None: f"send-email-{email_id}" + (f"-{tag}" if tag else ""), timeout=120,
            result_ttl=3600),
    JobSpec("sweep_queued_emails", QUEUE_DEFAULT, _periodic("sweep_queued_emails"), every=60, timeout=120),
    # Outgoing webhooks: one relay run per burst of events, one drain per endpoint (queued again under a tag:
    # `<ns>` when woken, `at-<s>` for the next due retry); the sweep takes back dead attempts and lost wake-ups.
    JobSpec("relay_webhook_events", QUEUE_DEFAULT, lambda tag=None: f"webhooks-relay-{tag}", timeout=300,
            result_ttl=60),
    JobSpec("deliver_webhooks", QUEUE_DEFAULT, lambda endpoint_id, tag=None: f"webhooks-deliver-{endpoint_id}-{tag}",
            timeout=300, result_ttl=60),
    JobSpec("sweep_webhooks", QUEUE_DEFAULT, _periodic("sweep_webhooks"), every=10, timeout=120),
    # The audit chain: entries are written unsealed and chained here within seconds; the head is anchored
    # outside the database and the whole chain verified once a day.
    JobSpec("seal_audit_chains", QUEUE_DEFAULT, _periodic("seal_audit_chains"), every=5, timeout=120, result_ttl=30),
    JobSpec("anchor_audit_chains", QUEUE_DEFAULT, _periodic("anchor_audit_chains"), every=86400, timeout=300),
    JobSpec("refresh_analytics", QUEUE_DEFAULT, _periodic("refresh_analytics"), every=600, timeout=600),
    # A conversation that changed hands: its earlier stored analytics days rebuilt under its new owner.
    JobSpec("restate_analytics", QUEUE_DEFAULT, lambda conversation_id, tag=None:
            f"analytics-restate-{conversation_id}", timeout=600),
    # SLA: one evaluation per milestone (unique ids, like assign_waiting), and the sweep of the conversations whose
    # next deadline, warning or escalation step has come (`services.sla.tracking`)
    JobSpec("evaluate_sla", QUEUE_DEFAULT,
            lambda conversation_id, tag=None: f"sla-evaluate-{conversation_id}-{tag or time.time_ns()}", timeout=120,
            result_ttl=60),
    JobSpec("sweep_sla", QUEUE_DEFAULT, _periodic("sweep_sla"), every=10, timeout=300, result_ttl=30),
    # data-subject requests whose `bulk` job died midway (a killed worker, Redis lost): queued again to resume
    JobSpec("resume_privacy_requests", QUEUE_DEFAULT, _periodic("resume_privacy_requests"), every=300, timeout=120),
    # exports whose job died midway (queued again from the start), and expired export files (deleted)
    JobSpec("sweep_exports", QUEUE_DEFAULT, _periodic("sweep_exports"), every=60, timeout=300),
    # bulk: long work (retention now; exports, backups and bundles later)
    # A data-subject request's job (access bundle, erasure): resumable from the step it recorded on the request.
    JobSpec("run_privacy_request", QUEUE_BULK, lambda request_id, tag=None:
            f"privacy-request-{request_id}" + (f"-{tag}" if tag else ""), timeout=3600, result_ttl=3600),
    # An analytics export (CSV or XLSX): one run per attempt; the sweep below queues a dead one again (`retry-<n>-<s>`).
    JobSpec("run_export", QUEUE_BULK, lambda export_id, tag=None: f"export-{export_id}" + (f"-{tag}" if tag else ""),
            timeout=1800, result_ttl=3600),
    JobSpec("apply_retention", QUEUE_BULK, _periodic("apply_retention"), every=86400, timeout=4 * 3600),
    # the DPO's report of the month before, once per tenant and month (checked every six hours)
    JobSpec("generate_dpo_reports", QUEUE_BULK, _periodic("generate_dpo_reports"), every=6 * 3600, timeout=1800),
    JobSpec("purge_expired_sessions", QUEUE_BULK, _periodic("purge_expired_sessions"), every=3600, timeout=1800),
    JobSpec("verify_audit_chains", QUEUE_BULK, _periodic("verify_audit_chains"), every=86400, timeout=3600),
    # the Verificar integridade button: one tenant's chain, once per request (the tag is the request's token)
    JobSpec("verify_audit_chain", QUEUE_BULK, lambda tenant_id, user_id=None, ip=None, token=None, tag=None:
            f"audit-verify-{tenant_id}-{tag or token}", timeout=3600, result_ttl=3600),
)
JOBS: dict[str, JobSpec] = {spec.name: spec for spec in _SPECS}


def spec(name: str) -> JobSpec:
    """The registry entry of `name`; a KeyError names the unknown job."""
    return JOBS[name]


def periodic_jobs() -> list[JobSpec]:
    """The jobs the scheduler runs on an interval."""
    return [s for s in _SPECS if s.every]


def job_id(name: str, *args, tag: str | None = None) -> str:
    """The deterministic RQ id of `name(*args)`."""
    return JOBS[name].job_id(*args, tag=tag)


def options(name: str, *args, tag: str | None = None) -> dict:
    """The keyword arguments `Queue.enqueue` takes for `name(*args)`."""
    job = JOBS[name]
    kwargs = {"job_id": job.job_id(*args, tag=tag), "job_timeout": job.timeout, "result_ttl": job.result_ttl,
              "failure_ttl": job.failure_ttl}
    if job.retry:
        kwargs["retry"] = Retry(max=len(job.retry), interval=list(job.retry))
    return kwargs


def enqueue(name: str, *args, tag: str | None = None, delay: float = 0, pipeline=None) -> Job:
    """Queue `name(*args)` on its queue now, or after `delay` seconds (RQ's scheduled registry)."""
    job = JOBS[name]
    queue = get_queue(job.queue)
    kwargs = options(name, *args, tag=tag)
    if delay > 0:
        return queue.enqueue_in(dt.timedelta(seconds=delay), job.func, *args, **kwargs)
    return queue.enqueue(job.func, *args, pipeline=pipeline, **kwargs)


def enqueue_after_commit(session: Session, name: str, *args, tag: str | None = None, delay: float = 0) -> None:
    """Queue `name(*args)` once `session` commits (never if it rolls back)."""
    after_commit(session, lambda: enqueue(name, *args, tag=tag, delay=delay))


async def enqueue_on_loop(name: str, *args, tag: str | None = None) -> None:
    """`enqueue` from the event loop, without blocking it."""
    job = JOBS[name]
    await enqueue_async(job.queue, job.func, *args, **options(name, *args, tag=tag))
