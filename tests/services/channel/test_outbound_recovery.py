"""Outbound delivery when something other than Meta gets in the way: a rate-limit backlog, a file that is
gone, a worker that comes back after the sweeper gave its message up.

No worker runs here: each test calls the delivery job's function itself (as a worker would) and reads what
it left in PostgreSQL and in RQ's queues.
"""

from __future__ import annotations

import datetime as dt

from rq.registry import ScheduledJobRegistry
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import utcnow
from crm_app.integrations import ExternalServiceError
from crm_app.models import Message
from crm_app.queue import get_queue
from crm_app.services.channel import outbound
from crm_app.services.core import ratelimit
from tests.factories import make_conversation, make_inbox, make_tenant, make_user


def _open_conversation(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    inbox = make_inbox(db, tenant.id)
    conversation = make_conversation(db, inbox.id)
    conversation.bot_active, conversation.last_customer_message_at = False, utcnow()
    db.add(conversation)
    db.commit()
    return tenant, admin, inbox, conversation


def _send(db, admin, conversation_id: int, content: dict) -> Message:
    row = outbound.send_message(db, actor=admin, conversation_id=conversation_id, content=content)
    db.commit()
    return db.get(Message, row.id)


def _fresh(db, message: Message) -> Message:
    db.expire_all()
    return db.exec(select(Message).where(Message.id == message.id)).one()


def test_a_backlog_waiting_for_rate_limit_slots_is_not_taken_for_lost_jobs(db):
    _, admin, inbox, conversation = _open_conversation(db)
    message = _send(db, admin, conversation.id, {"type": "text", "body": "na fila do limite"})
    message.created_at = utcnow() - dt.timedelta(minutes=5)  # a campaign's backlog, queued long ago
    db.add(message)
    db.commit()
    key, limit = f"wa:{inbox.phone_number_id}", get_settings().wa_rate_limit_per_second
    while ratelimit.take_slot(key, limit, window=outbound.SLOT_WINDOW).granted:  # every slot is taken
        pass
    assert outbound.deliver_message(message.id) == "throttled"
    waiting = _fresh(db, message)
    assert waiting.status == "queued" and waiting.next_attempt_at > utcnow() - dt.timedelta(seconds=1)
    scheduled = ScheduledJobRegistry(queue=get_queue("high")).get_job_ids()
    assert [job for job in scheduled if job.startswith(f"send-message-{message.id}-slot-")]
    # Its job is coming back for the slot: the sweeper must not add another (and another, every 30 s).
    assert outbound.sweep_queued_messages() == 0


def test_a_message_that_cannot_be_prepared_is_retried_then_failed_never_left_sending(db):
    tenant, admin, _, conversation = _open_conversation(db)
    content = {"type": "media", "kind": "image", "mime": "image/jpeg", "storage_key": f"{tenant.id}/out/gone.jpg"}
    message = _send(db, admin, conversation.id, content)  # the file is not (or no longer) in storage
    assert outbound.deliver_message(message.id) == "retry"
    retried = _fresh(db, message)
    assert (retried.status, retried.send_attempts, retried.claimed_at) == ("queued", 1, None)
    retried.send_attempts, retried.next_attempt_at = get_settings().wa_send_attempts - 1, None
    db.add(retried)
    db.commit()
    assert outbound.deliver_message(message.id) == "failed"
    failed = _fresh(db, message)
    assert failed.status == "failed" and failed.error_reason.startswith("Preparing failed")


def test_a_late_error_from_a_worker_the_sweeper_gave_up_on_changes_nothing(db):
    _, admin, _, conversation = _open_conversation(db)
    message = _send(db, admin, conversation.id, {"type": "text", "body": "a primeira"})
    behind = _send(db, admin, conversation.id, {"type": "text", "body": "a segunda"})
    message.status, message.claimed_at = "sending", utcnow() - outbound.SEND_LEASE - dt.timedelta(seconds=5)
    db.add(message)
    db.commit()
    outbound.sweep_queued_messages()  # the claim is past its lease: failed as interrupted, the next released
    assert _fresh(db, message).status == "failed"
    # Now the stalled worker's Graph call ends with a retryable error: it must not put the message back in line.
    late = ExternalServiceError("timeout", retryable=True, code=None)
    assert outbound._after_error(message.id, late, claimed=True) == "skipped"
    given_up = _fresh(db, message)
    assert (given_up.status, given_up.next_attempt_at) == ("failed", None)
    assert _fresh(db, behind).status == "queued"
