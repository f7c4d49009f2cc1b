"""Inbound processing with real RQ worker processes: every type, duplicates, order, outages."""

import concurrent.futures
import json
import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_app.db import get_engine
from crm_app.models import Conversation, Direction, Inbox, Message, MessageKind, MessageStatus, SenderType
from crm_app.services.channel import ingest
from crm_app.services.core import jobs
from tests.factories import make_conversation, make_inbox, make_tenant
from tests.support.whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    WABA_ID,
    all_cases,
    encode,
    fixture,
    messages_of,
    run_burst_worker,
    signed_headers,
    statuses_of,
    worker_argv,
)


@pytest.fixture
def inbox(db):
    tenant = make_tenant(db)
    return make_inbox(db, tenant.id, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID, app_secret=APP_SECRET)


def deliver(body: dict) -> ingest.WebhookOutcome:
    raw = encode(body)
    return ingest.receive_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"])


def drain() -> None:
    result = run_burst_worker("high")
    assert result.returncode == 0, result.stderr[-2000:]


def outbound_message(db, inbox_id: int, wa_message_id: str, status: str = "sent") -> int:
    """An outbound message as the sender leaves it, with a conversation to live in."""
    inbox = db.get(Inbox, inbox_id)
    conversation = db.exec(select(Conversation).where(Conversation.inbox_id == inbox_id)).first() \
        or make_conversation(db, inbox_id)
    message = Message(tenant_id=inbox.tenant_id, conversation_id=conversation.id, direction=Direction.OUTBOUND,
                      sender_type=SenderType.ATTENDANT, kind=MessageKind.TEXT, body="Olá", status=status,
                      wa_message_id=wa_message_id)
    db.add(message)
    db.commit()
    return message.id


def _unique_ids(fixture_name: str, case: str, body: dict) -> dict:
    for i, message in enumerate(messages_of(body)):
        message["id"] = f"wamid.{fixture_name}.{case}.{i}"
    for i, status in enumerate(statuses_of(body)):
        status["id"] = f"wamid.out.{fixture_name}.{case}.{i}"
    for entry in body.get("entry", []):
        entry["id"] = WABA_ID
        for change in entry.get("changes", []):
            metadata = change.get("value", {}).get("metadata")
            if metadata:
                metadata["phone_number_id"] = PHONE_NUMBER_ID
    return body


def test_every_fixture_case_is_stored_or_deliberately_ignored(db, inbox):
    cases = [(f, c, _unique_ids(f, c, body)) for f, c, body in all_cases()]
    for _, _, body in cases:
        for status in statuses_of(body):
            outbound_message(db, inbox.id, status["id"], status="queued")
    for name, case, body in cases:
        assert deliver(body).status == 200, (name, case)
    drain()
    events = db.execute(text("SELECT status, last_error FROM inbound_events")).all()
    assert len(events) == len(cases)
    assert [e for e in events if e.status != "processed"] == []
    stored = set(db.exec(select(Message.wa_message_id)).all())
    for name, case, body in cases:
        for message in messages_of(body):
            assert message["id"] in stored, (name, case)
        for status in statuses_of(body):
            row = db.exec(select(Message).where(Message.wa_message_id == status["id"])).one()
            expected = status["status"] if status["status"] in ("sent", "delivered", "read", "failed") else "queued"
            assert row.status == expected, (name, case)
        if not messages_of(body) and not statuses_of(body):
            notes = [e.last_error or "" for e in events]
            assert any("ignored fields" in n or "webhook errors" in n for n in notes)


def test_inbound_text_opens_a_conversation_with_the_customer(db, inbox):
    assert deliver(fixture("message", "text")).status == 200
    drain()
    message = db.exec(select(Message)).one()
    conversation = db.get(Conversation, message.conversation_id)
    assert (message.direction, message.sender_type, message.kind) == ("inbound", "customer", "text")
    assert conversation.status == "open" and conversation.bot_active and conversation.unread_count == 1
    assert conversation.last_customer_message_at == message.created_at
    contact = db.execute(text("SELECT phone_e164, name FROM contacts")).one()
    assert contact.phone_e164 == "+972987654321" and contact.name


def test_same_body_delivered_twice_concurrently_gives_one_message(db, inbox):
    body = fixture("message", "text")
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: deliver(body), range(8)))
    assert {o.status for o in outcomes} == {200} and sum(not o.duplicate for o in outcomes) == 1
    drain()
    assert db.execute(text("SELECT count(*) FROM messages")).scalar() == 1


def test_same_message_in_two_batches_gives_one_message(db, inbox):
    first = fixture("message", "text")
    second = fixture("message", "text")
    extra = dict(messages_of(second)[0], id="wamid.second-one")
    second["entry"][0]["changes"][0]["value"]["messages"].append(extra)
    assert deliver(first).status == deliver(second).status == 200
    drain()
    ids = sorted(db.exec(select(Message.wa_message_id)).all())
    assert len(ids) == 2 and len(set(ids)) == 2
    assert db.exec(select(Conversation)).one().unread_count == 2


def test_brazilian_number_with_and_without_ninth_digit_is_one_contact(db, inbox):
    for wa_id, wamid in (("5511981234567", "wamid.a"), ("551181234567", "wamid.b")):
        body = fixture("message", "text")
        body["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = wa_id
        messages_of(body)[0].update({"from": wa_id, "id": wamid})
        deliver(body)
    drain()
    assert db.execute(text("SELECT count(*) FROM contacts")).scalar() == 1
    assert db.execute(text("SELECT count(DISTINCT conversation_id) FROM messages")).scalar() == 1


def test_out_of_order_statuses_end_as_read(db, inbox):
    message_id = outbound_message(db, inbox.id, "wamid.out-1")
    for status in ("read", "delivered", "sent"):
        body = fixture("message_status", status)
        statuses_of(body)[0]["id"] = "wamid.out-1"
        deliver(body)
    drain()
    db.expire_all()
    message = db.get(Message, message_id)
    assert message.status == MessageStatus.READ and message.read_at and message.delivered_at


def test_failed_status_keeps_metas_code_and_reason(db, inbox):
    message_id = outbound_message(db, inbox.id, "wamid.out-2")
    body = fixture("message_status", "failed")
    statuses_of(body)[0]["id"] = "wamid.out-2"
    deliver(body)
    drain()
    db.expire_all()
    message = db.get(Message, message_id)
    assert (message.status, message.error_code) == ("failed", 130472) and "experiment" in message.error_reason


def test_a_closed_conversation_is_reopened_by_the_customer(db, inbox):
    deliver(fixture("message", "text"))
    drain()
    conversation = db.exec(select(Conversation)).one()
    conversation.status = "closed"
    db.add(conversation)
    db.commit()
    later = fixture("message", "text")
    messages_of(later)[0]["id"] = "wamid.later"
    deliver(later)
    drain()
    db.expire_all()
    reopened = db.exec(select(Conversation)).one()
    assert reopened.status == "open" and reopened.id == conversation.id


def test_a_status_before_its_message_is_retried_by_the_sweeper(db, inbox):
    body = fixture("message_status", "delivered")
    statuses_of(body)[0]["id"] = "wamid.not-yet"
    event_id = deliver(body).event_id
    drain()
    assert db.execute(text("SELECT status FROM inbound_events")).scalar() == "failed"
    message_id = outbound_message(db, inbox.id, "wamid.not-yet")
    db.execute(text("UPDATE inbound_events SET received_at = received_at - interval '1 minute'"))
    db.commit()
    assert ingest.sweep_inbound_events() == 1
    drain()
    db.expire_all()
    assert db.get(Message, message_id).status == "delivered"
    assert db.execute(text(f"SELECT status FROM inbound_events WHERE id={event_id}")).scalar() == "processed"


def test_a_poisoned_event_goes_to_the_dead_letter_list(db, inbox):
    event_id = deliver(fixture("message", "text")).event_id
    db.execute(text("UPDATE inbound_events SET body = 'not json' WHERE id = :id"), {"id": event_id})
    db.commit()
    for _ in range(ingest.MAX_ATTEMPTS):
        with pytest.raises(json.JSONDecodeError):
            ingest.process_inbound_event(event_id)
    row = db.execute(text("SELECT status, attempts, last_error FROM inbound_events")).one()
    assert row.status == "dead" and row.attempts == ingest.MAX_ATTEMPTS and "JSONDecodeError" in row.last_error
    assert ingest.process_inbound_event(event_id) == "skipped"


def test_worker_killed_mid_job_processes_the_message_exactly_once(db, inbox):
    deliver(fixture("message", "text"))  # queues a drain job
    blocker = get_engine().connect()
    trans = blocker.begin()  # the drainer will lock the event, then wait to insert the message
    blocker.execute(text("LOCK TABLE messages IN SHARE MODE"))
    worker = subprocess.Popen(worker_argv("high"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the job is inside its transaction, waiting on our lock
            waiting = db.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND query LIKE '%INSERT INTO messages%'")).scalar()
            db.commit()  # pg_stat_activity is a per-transaction snapshot
            if waiting:
                break
            time.sleep(0.1)
        assert waiting, "the worker never reached the event"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        trans.rollback()
        blocker.close()
    assert db.execute(text("SELECT status FROM inbound_events")).scalar() == "pending"
    db.execute(text("UPDATE inbound_events SET received_at = received_at - interval '1 minute'"))
    db.commit()
    assert ingest.sweep_inbound_events() == 1
    drain()
    assert db.execute(text("SELECT count(*) FROM messages")).scalar() == 1
    assert db.execute(text("SELECT status FROM inbound_events")).scalar() == "processed"


def test_admins_see_and_replay_dead_events_of_their_tenant_only(db, inbox):
    from crm_app.errors import NotFound, PermissionDenied
    from tests.factories import make_user

    event_id = deliver(fixture("message", "text")).event_id
    db.execute(text("UPDATE inbound_events SET status = 'dead', attempts = 6, last_error = 'boom'"))
    db.commit()
    tenant_id = db.get(Inbox, inbox.id).tenant_id
    admin, attendant = make_user(db, tenant_id, "admin"), make_user(db, tenant_id, "attendant")
    stranger = make_user(db, make_tenant(db).id, "admin")
    assert [row.id for row in ingest.list_dead_events(db, actor=admin)] == [event_id]
    assert ingest.list_dead_events(db, actor=stranger) == []
    with pytest.raises(PermissionDenied):
        ingest.list_dead_events(db, actor=attendant)
    with pytest.raises(NotFound):
        ingest.replay_event(db, actor=stranger, event_id=event_id)
    db.rollback()
    ingest.replay_event(db, actor=admin, event_id=event_id)
    db.commit()
    drain()
    assert db.execute(text("SELECT status FROM inbound_events")).scalar() == "processed"
    assert db.execute(text("SELECT count(*) FROM messages")).scalar() == 1


def _text(wamid: str) -> dict:
    body = fixture("message", "text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = wamid
    return body


def _pending(db) -> int:
    return db.execute(text("SELECT count(*) FROM inbound_events WHERE status = 'pending'")).scalar()


def test_one_drain_job_applies_a_whole_burst_in_arrival_order_and_lowers_its_flag(inbox, db):
    from crm_app.queue import get_redis

    outcomes = [deliver(_text(f"wamid.burst.{i}")) for i in range(7)]
    assert all(o.status == 200 and o.pending for o in outcomes) and _pending(db) == 7
    assert get_redis().exists(ingest.drain_flag(0), ingest.drain_flag(1)) == 2  # one drainer per slot queued
    summary = ingest.drain_inbound_events(0)  # either drainer takes any pending event
    assert summary.startswith("7 processed, 0 failed") and _pending(db) == 0
    assert not get_redis().exists(ingest.drain_flag(0))
    ids = [r[0] for r in db.execute(text("SELECT wa_message_id FROM messages ORDER BY id"))]
    assert ids == [f"wamid.burst.{i}" for i in range(7)]
    assert ingest.drain_inbound_events(1).startswith("0 processed")  # the other slot's job finds nothing


def test_a_long_burst_is_drained_in_batches_that_requeue_behind_other_hot_jobs(inbox, db):
    from crm_app.queue import get_queue, get_redis

    for i in range(5):
        deliver(_text(f"wamid.long.{i}"))
    get_queue("high").empty()
    assert ingest.drain_inbound_events(0, batch=3).endswith("requeued") and _pending(db) == 2
    assert get_redis().exists(ingest.drain_flag(0))  # still draining: new webhooks queue nothing
    follow_up = [get_queue("high").fetch_job(j) for j in get_queue("high").job_ids]
    assert [(j.func_name, j.args) for j in follow_up] == [(jobs.spec("drain_inbound_events").func, [0])]
    drain()  # a real worker runs the follow-up job
    assert _pending(db) == 0 and not get_redis().exists(ingest.drain_flag(0))


def test_an_event_stored_while_the_drainer_finishes_is_not_stranded(inbox, db):
    from crm_app.queue import get_redis

    deliver(_text("wamid.late"))
    get_redis().delete(ingest.drain_flag(0), ingest.drain_flag(1))  # as if the drainer had just lowered them
    assert ingest.drain_inbound_events(0).startswith("1 processed") and _pending(db) == 0


def test_a_failing_event_is_recorded_and_the_drain_goes_on(inbox, db):
    deliver(_text("wamid.good.1"))
    bad = deliver(fixture("message_status", "read"))  # a status for a message we never sent: retried later
    assert bad.status == 200
    deliver(_text("wamid.good.2"))
    summary = ingest.drain_inbound_events(0)
    assert summary.startswith("2 processed, 1 failed")
    status = db.execute(text("SELECT status FROM inbound_events WHERE id = :i"), {"i": bad.event_id}).scalar()
    assert status == "failed" and _pending(db) == 0  # the sweeper retries it later


def test_the_sweeper_restarts_lost_drainers_and_gives_stale_events_their_own_job(inbox, db):
    from crm_app.queue import get_queue, get_redis

    event_id = deliver(_text("wamid.lost")).event_id
    get_redis().delete(ingest.drain_flag(0), ingest.drain_flag(1))  # the drain job and its flag were lost
    get_queue("high").empty()
    db.execute(text("UPDATE inbound_events SET received_at = received_at - interval '10 seconds'"))
    db.commit()
    assert ingest.sweep_inbound_events() == ingest.drain_slots()  # one drainer per slot, no per-event job
    assert ingest.sweep_inbound_events() == 0  # their flags are up: nothing more to queue
    db.execute(text("UPDATE inbound_events SET received_at = received_at - interval '1 minute'"))
    db.commit()
    assert ingest.sweep_inbound_events() == 1  # too old to wait for a drainer: its own job
    assert get_queue("high").fetch_job(jobs.job_id("process_inbound_event", event_id)) is not None
    drain()
    assert _pending(db) == 0
