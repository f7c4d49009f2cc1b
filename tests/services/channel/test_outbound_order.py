"""Outbound delivery with four real hot workers (the production `worker-pool`) and the sandbox playing Meta.

A conversation's messages must reach Meta in creation order while conversations go in parallel; a failed
message must not hold up the ones behind it; a retry or a missing rate-limit slot re-queues the job (RQ's
scheduled jobs) instead of sleeping in it. We assert on what the fake Graph API received, in its order.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time

import httpx
import pytest
from rq.job import Job
from rq.registry import FinishedJobRegistry
from rq.worker import Worker
from sqlmodel import select

from crm_app.config import PROJECT_ROOT, child_environment, get_settings
from crm_app.db import session_scope, utcnow
from crm_app.domain import flows
from crm_app.models import Conversation, Direction, Message, MessageKind, SenderType
from crm_app.processes import role_command, role_environment
from crm_app.queue import get_queue, get_redis
from crm_app.services import bot
from crm_app.services.channel import outbound
from crm_app.services.core import jobs, ratelimit
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.support.sandbox import sandbox_in_thread
from tests.support.waiting import wait_for

HOT_WORKERS = 4


@pytest.fixture(scope="module")
def meta():
    """The sandbox (fake Graph API) in a thread; a client on its control API."""
    with sandbox_in_thread() as url, httpx.Client(base_url=url, timeout=10) as client:
        client.base = url
        yield client


@pytest.fixture(scope="module")
def hot_workers():
    """The hot worker pool exactly as production starts it (`rq worker-pool high -n 4`, scheduler included)."""
    settings = get_settings().model_copy(update={"hot_workers": HOT_WORKERS})
    env = child_environment({**role_environment("worker-hot", settings), "HOT_WORKERS": str(HOT_WORKERS)})
    pool = subprocess.Popen(role_command("worker-hot", settings), cwd=PROJECT_ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(Worker.all(queue=get_queue("high"))) >= HOT_WORKERS, timeout=60)
        yield pool
    finally:
        pool.terminate()
        pool.wait(timeout=30)


class Line:
    """A tenant whose inbox is the sandbox's number, an admin, and conversations with open windows."""

    def __init__(self, db, meta) -> None:
        settings = get_settings()
        self.db, self.meta = db, meta
        tenant = make_tenant(db)
        self.admin = make_user(db, tenant.id, "admin")
        self.inbox = make_inbox(db, tenant.id, phone_number_id=settings.demo_wa_phone_number_id,
                                access_token=settings.demo_wa_access_token.get_secret_value(),
                                graph_base_url=f"{meta.base}/graph/v23.0")
        meta.delete("/sandbox/api/state")
        meta.post("/sandbox/api/faults", json={"status_mode": "none"}).raise_for_status()

    def conversation(self, wa_id: str) -> int:
        conversation = make_conversation(self.db, self.inbox.id, wa_id=wa_id)
        conversation.bot_active, conversation.last_customer_message_at = False, utcnow()
        self.db.add(conversation)
        self.db.commit()
        self.meta.post("/sandbox/api/window", json={"wa_id": wa_id, "last_customer_message_at": utcnow().isoformat()})
        return conversation.id

    def send(self, conversation_id: int, *texts: str) -> list[int]:
        """Queue `texts` in one transaction (all their jobs leave at once), as the admin."""
        ids = [outbound.send_message(self.db, actor=self.admin, conversation_id=conversation_id,
                                     content={"type": "text", "body": text}).id for text in texts]
        self.db.commit()
        return ids

    def calls(self, wa_id: str) -> list[dict]:
        """Message sends to `wa_id` the fake received, in its order: (body text, HTTP status)."""
        rows = self.meta.get("/sandbox/api/sent", params={"to": wa_id}).json()
        rows = sorted((r for r in rows if r["kind"] == "message"), key=lambda r: r["seq"])
        return [{"text": r["body"]["text"]["body"], "status": r["http_status"], "seq": r["seq"]} for r in rows]

    def accepted(self, wa_id: str) -> list[str]:
        return [c["text"] for c in self.calls(wa_id) if c["status"] == 200]

    def fault(self, code: int, body_contains: str, times: int = 1) -> None:
        self.meta.post("/sandbox/api/faults", json={"errors": [
            {"code": code, "body_contains": body_contains, "times": times}]}).raise_for_status()


@pytest.fixture
def line(db, meta, hot_workers):
    return Line(db, meta)


def _statuses(ids: list[int]) -> list[str]:
    with session_scope() as session:
        rows = session.exec(select(Message).where(Message.id.in_(ids)).order_by(Message.id)).all()
        return [str(m.status) for m in rows]


def _job_result(job_id: str):
    return Job.fetch(job_id, connection=get_redis(), serializer=get_queue("high").serializer).return_value()


def test_fifty_messages_queued_at_once_reach_meta_in_creation_order_while_others_go_in_parallel(line):
    busy, other = line.conversation("5511900000001"), line.conversation("5511900000002")
    texts = [f"[{i:02d}] resposta" for i in range(50)]
    ids = line.send(busy, *texts)
    line.send(other, *(f"[{i:02d}] outra" for i in range(5)))
    wait_for(lambda: len(line.accepted("5511900000001")) == 50 and len(line.accepted("5511900000002")) == 5)
    assert line.accepted("5511900000001") == texts  # none lost, none twice, none swapped
    assert wait_for(lambda: set(_statuses(ids)) == {"sent"})
    # the other conversation did not wait behind the long one
    assert max(c["seq"] for c in line.calls("5511900000002")) < max(c["seq"] for c in line.calls("5511900000001"))


def test_a_permanent_failure_in_the_middle_does_not_hold_up_the_rest(line):
    conversation = line.conversation("5511900000003")
    line.fault(131026, "[10]")
    texts = [f"[{i:02d}] resposta" for i in range(20)]
    ids = line.send(conversation, *texts)
    wait_for(lambda: len(line.accepted("5511900000003")) == 19)
    calls = line.calls("5511900000003")
    assert [c["text"] for c in calls] == texts  # the refused one was tried once, in its place
    assert [c["status"] == 200 for c in calls] == [True] * 10 + [False] + [True] * 9
    failed = line.db.get(Message, ids[10])
    line.db.refresh(failed)
    assert (failed.status, failed.error_code, failed.send_attempts) == ("failed", 131026, 1)
    assert wait_for(lambda: _statuses(ids) == ["sent"] * 10 + ["failed"] + ["sent"] * 9)


def test_a_retried_send_is_requeued_with_a_delay_and_keeps_its_place(line):
    conversation, elsewhere = line.conversation("5511900000004"), line.conversation("5511900000005")
    line.fault(130429, "primeira")
    first, second = line.send(conversation, "primeira", "segunda")
    line.send(elsewhere, "em outra conversa")
    wait_for(lambda: len(line.accepted("5511900000004")) == 2)
    assert [(c["text"], c["status"]) for c in line.calls("5511900000004")] == [
        ("primeira", 400), ("primeira", 200), ("segunda", 200)]
    # The first run gave the slot back to RQ (a scheduled retry job) instead of sleeping in the worker,
    # and the retry found the message still its conversation's first, not someone else's claim.
    assert _job_result(jobs.job_id("send_outbound_message", first)) == "retry"
    retry = jobs.job_id("send_outbound_message", first, tag="retry-1-")  # each retry its own job id
    finished = FinishedJobRegistry(queue=get_queue("high")).get_job_ids()
    assert [_job_result(j) for j in finished if j.startswith(retry)] == ["sent"]
    assert _job_result(jobs.job_id("send_outbound_message", second, tag=f"after-{first}")) == "sent"
    row = line.db.get(Message, first)
    line.db.refresh(row)
    assert (row.status, row.send_attempts, row.next_attempt_at, row.claimed_at) == ("sent", 1, None, None)


def test_a_send_that_finds_no_rate_limit_slot_is_requeued_not_slept(line):
    conversation = line.conversation("5511900000006")
    key, limit = f"wa:{line.inbox.phone_number_id}", get_settings().wa_rate_limit_per_second
    while ratelimit.take_slot(key, limit, window=outbound.SLOT_WINDOW).granted:  # the whole window is used up
        pass
    (message_id,) = line.send(conversation, "sem vaga agora")
    wait_for(lambda: line.accepted("5511900000006") == ["sem vaga agora"])
    assert _job_result(jobs.job_id("send_outbound_message", message_id)) == "throttled"
    row = line.db.get(Message, message_id)
    line.db.refresh(row)
    assert (row.status, row.send_attempts) == ("sent", 0)  # waiting for a slot is not a failed attempt


def test_a_conversation_held_by_a_dead_worker_is_freed_by_the_sweeper(line):
    conversation = line.conversation("5511900000007")
    # What a worker killed inside its Graph call leaves behind: the claim, and nothing recorded after it.
    died_at = utcnow() - outbound.SEND_LEASE - dt.timedelta(seconds=1)
    row = Message(tenant_id=line.admin.tenant_id, conversation_id=conversation, direction=Direction.OUTBOUND,
                  sender_type=SenderType.ATTENDANT, kind=MessageKind.TEXT, body="enviando quando o worker morreu",
                  payload={"content": {"type": "text", "body": "enviando quando o worker morreu"}},
                  status="sending", claimed_at=died_at, created_at=died_at)
    line.db.add(row)
    line.db.commit()
    (behind,) = line.send(conversation, "a próxima")
    assert _statuses([behind]) == ["queued"]
    outbound.sweep_queued_messages()
    wait_for(lambda: line.accepted("5511900000007") == ["a próxima"])  # the interrupted one is not resent
    line.db.refresh(row)
    assert row.status == "failed" and "unknown" in row.error_reason


def test_a_bot_handoff_reaches_the_customer_in_the_order_it_was_written(line):
    conversation_id = line.conversation("5511900000008")
    line.fault(130429, "Não consegui")  # the first line is refused once: the second must still wait for it
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        conversation.bot_active = True
        handoff = flows.Handoff(None, "ai_failed", "Não consegui responder… vou chamar uma pessoa.")
        bot.perform_actions(session, conversation, {}, [handoff], f"bot-handoff-{time.time_ns()}")
        bot.kick_deliveries(session, conversation_id)
    with session_scope() as session:
        written = list(session.exec(select(Message.body).where(
            Message.conversation_id == conversation_id, Message.sender_type == SenderType.BOT)
            .order_by(Message.id)).all())
    assert len(written) == 2 and written[0].startswith("Não consegui")  # the handoff text, then the queue's
    wait_for(lambda: len(line.accepted("5511900000008")) == 2)
    assert line.accepted("5511900000008") == written
