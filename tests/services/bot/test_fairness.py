"""A tenant's bot turns within its concurrency cap: a turn over the cap is queued again, never run nor lost."""

from __future__ import annotations

import time

import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import session_scope
from crm_app.models import Message, SenderType
from crm_app.queue import QUEUE_BOT, get_queue
from crm_app.services import bot, settings
from crm_app.services.bot import fairness
from tests.factories import make_tenant
from tests.support.inbox import customer_writes, fresh_tenant

FLOW = {"start": "hi", "nodes": {"hi": {"type": "message", "text": "Olá!", "next": "bye"},
                                 "bye": {"type": "close", "text": "Até logo!"}},
        "triggers": {"new_conversation": True, "keywords": []}, "settings": {"debounce_seconds": 0}}


@pytest.fixture
def world(db):
    tenant, box = fresh_tenant(db)
    bot.seed_flow(db, tenant_id=tenant.id, inbox_id=box.id, definition=FLOW)
    db.commit()
    leases: list[tuple[int, str]] = []
    yield {"tenant_id": tenant.id, "leases": leases}
    for tenant_id, lease in leases:
        fairness.give_back(tenant_id, lease)
    bot.forget_scheduled_turns()


def _message(text: str) -> tuple[int, int]:
    wamid = customer_writes(body=text)
    with session_scope() as s:
        message = s.exec(select(Message).where(Message.wa_message_id == wamid)).one()
        return message.conversation_id, message.id


def _fill(world, tenant_id: int) -> None:
    """Every place of the tenant taken, as by turns of other conversations still running."""
    for n in range(get_settings().bot_tenant_concurrency):
        lease = fairness.take_turn_slot(tenant_id, 10**9 + n, None)
        assert lease is not None
        world["leases"].append((tenant_id, lease))


def _jobs(registry_or_queue, marker: str) -> list[Job]:
    queue = get_queue(QUEUE_BOT)
    ids = registry_or_queue.get_job_ids()
    return [Job.fetch(i, connection=queue.connection, serializer=queue.serializer) for i in ids if marker in i]


def _bot_lines(conversation_id: int) -> int:
    with session_scope() as s:
        return len(s.exec(select(Message.id).where(Message.conversation_id == conversation_id,
                                                   Message.sender_type == SenderType.BOT)).all())


def test_a_turn_over_the_cap_waits_in_line_and_the_next_freed_place_wakes_it(world):
    conversation_id, message_id = _message("Oi")
    _fill(world, world["tenant_id"])  # the tenant's other turns hold every place
    assert bot.run_turn(conversation_id, message_id) == "capped"
    assert _bot_lines(conversation_id) == 0
    assert fairness.waiting_turns(world["tenant_id"]) == [f"{conversation_id}:{message_id}"]
    assert fairness.running_turns(world["tenant_id"]) == get_settings().bot_tenant_concurrency  # it took none
    registry = ScheduledJobRegistry(queue=get_queue(QUEUE_BOT))
    [fallback] = _jobs(registry, "capped")  # should its wake-up be lost, it asks again by itself later
    assert fallback.args == [conversation_id, message_id]
    assert registry.get_scheduled_time(fallback.id).timestamp() - time.time() > fairness.WAKE_FALLBACK_SECONDS - 2
    assert _jobs(get_queue(QUEUE_BOT), "woken") == []

    tenant_id, lease = world["leases"].pop()
    fairness.give_back(tenant_id, lease)  # one of the others finished: the waiting turn is queued at once
    [woken] = _jobs(get_queue(QUEUE_BOT), "woken")
    assert woken.args == [conversation_id, message_id] and fairness.waiting_turns(world["tenant_id"]) == []
    assert bot.run_turn(*woken.args).startswith("turn 1")  # the woken job, as the bot worker runs it
    assert _bot_lines(conversation_id) == 1  # "Olá!" and "Até logo!", as one message
    assert fairness.running_turns(world["tenant_id"]) == get_settings().bot_tenant_concurrency - 1  # given back
    bot.run_turn(*fallback.args)  # the fallback, when it comes, finds the work done
    assert _bot_lines(conversation_id) == 1


def test_a_superseded_message_ends_its_job_without_waiting_for_a_place(world):
    conversation_id, first = _message("Oi")
    _, last = _message("tudo bem?")
    _fill(world, world["tenant_id"])
    assert bot.run_turn(conversation_id, first) == "debounced"  # the newer message's job speaks for both
    assert fairness.waiting_turns(world["tenant_id"]) == []
    assert bot.run_turn(conversation_id, last) == "capped"


def test_another_tenant_at_its_cap_does_not_hold_this_one(world):
    conversation_id, message_id = _message("Oi")
    _fill(world, world["tenant_id"] + 1)
    assert bot.run_turn(conversation_id, message_id).startswith("turn 1")
    assert fairness.running_turns(world["tenant_id"]) == 0


def test_a_turn_gives_its_place_back_even_when_it_fails(world, monkeypatch):
    conversation_id, message_id = _message("Oi")

    def broken(*args):
        raise RuntimeError("the database went away mid-turn")

    monkeypatch.setattr("crm_app.services.bot.runtime._turn", broken)
    with pytest.raises(RuntimeError):
        bot.run_turn(conversation_id, message_id)
    assert fairness.running_turns(world["tenant_id"]) == 0


def test_a_turn_of_a_deleted_conversation_takes_no_place(world):
    assert bot.run_turn(987654321, None) == "silent"
    assert _jobs(ScheduledJobRegistry(queue=get_queue(QUEUE_BOT)), "capped") == []


def test_the_cap_is_the_tenants_setting_over_the_installs(db, world):
    """system.bot_tenant_concurrency: the install's value (BOT_TENANT_CONCURRENCY its default), which a tenant's
    own value overrides; read at each turn, so a change applies to the next one."""
    tenant_id, other = world["tenant_id"], make_tenant(db).id
    settings.update(db, actor=None, tenant_id=None, changes={"system.bot_tenant_concurrency": 3})
    settings.update(db, actor=None, tenant_id=tenant_id, changes={"system.bot_tenant_concurrency": 1})
    db.commit()
    taken = [fairness.take_turn_slot(tenant_id, 10**9 + n, None) for n in range(2)]
    world["leases"] += [(tenant_id, lease) for lease in taken if lease]
    assert taken[0] is not None and taken[1] is None  # its own cap of 1
    theirs = [fairness.take_turn_slot(other, 10**9 + n, None) for n in range(4)]
    world["leases"] += [(other, lease) for lease in theirs if lease]
    assert [lease is not None for lease in theirs] == [True, True, True, False]  # the install's 3
