"""The tenant's AI timeout is a deadline for the whole call, not a limit on each read.

A server that answers a byte at a time never lets a per-read timeout fire; the bot's turn must still end
on time, with the "timeout" outcome the flow turns into a handoff.
"""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from crm_app.domain.flows import settings_of
from crm_app.integrations.openai_client import AiTimeout, ChatConfig, complete
from crm_app.models import Conversation, Message, SenderType
from crm_app.services import bot
from crm_app.services.bot import ai, ai_settings, knowledge
from tests.factories import make_tenant, make_user
from tests.support.inbox import customer_writes, fresh_tenant
from tests.support.slow_ai import slow_ai

TIMEOUT = 1.0


def _tenant_asking(db, base_url: str) -> int:
    """A tenant whose AI points at `base_url` with a 1 s timeout, and one entry the question matches."""
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    ai_settings.save_ai_settings(db, actor=admin, api_key="sk-test", enabled=True, base_url=base_url,
                                 model="gpt-4o-mini", timeout_seconds=TIMEOUT, min_confidence=0.5,
                                 input_cost_per_mtok=0, output_cost_per_mtok=0, monthly_budget_usd=0)
    knowledge.create_entry(db, actor=admin, title="Check-in", content="O check-in começa às 14h.", tags=[])
    db.commit()
    return tenant.id


@pytest.mark.parametrize("mode", ["trickle_body", "trickle_headers", "stall"])
def test_a_trickling_or_silent_server_is_cut_off_at_the_deadline(db, mode):
    with slow_ai(mode, byte_every=0.2) as server:
        tenant_id = _tenant_asking(db, server.url)
        started = time.monotonic()
        result = ai.answer(tenant_id=tenant_id, conversation_id=None, question="Que horas é o check-in?")
        elapsed = time.monotonic() - started
    assert len(server.requests) == 1  # it was asked, and answered a byte every 0.2 s (or nothing)
    assert result.outcome == "timeout"
    assert TIMEOUT <= elapsed < TIMEOUT + 1


def test_the_client_raises_its_timeout_error_for_a_trickled_answer():
    with slow_ai("trickle_body", byte_every=0.1) as server:
        config = ChatConfig(base_url=server.url, model="gpt-4o-mini", api_key="sk-test", timeout_seconds=TIMEOUT)
        started = time.monotonic()
        with pytest.raises(AiTimeout):
            complete(config, [{"role": "user", "content": "oi"}])
        assert time.monotonic() - started < TIMEOUT + 1


def test_a_bot_turn_whose_ai_misses_the_deadline_hands_off_with_the_flows_text(db):
    tenant, box = fresh_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    with slow_ai("trickle_headers", byte_every=0.2) as server:
        ai_settings.save_ai_settings(db, actor=admin, api_key="sk-test", enabled=True, base_url=server.url,
                                     model="gpt-4o-mini", timeout_seconds=TIMEOUT, min_confidence=0.5,
                                     input_cost_per_mtok=0, output_cost_per_mtok=0, monthly_budget_usd=0)
        knowledge.create_entry(db, actor=admin, title="Check-in", content="O check-in começa às 14h.", tags=[])
        bot.seed_flow(db, tenant_id=tenant.id, inbox_id=box.id, definition={
            "start": "ia", "nodes": {"ia": {"type": "ai", "next": "ia"}},
            "triggers": {"new_conversation": True, "keywords": []}, "settings": {"debounce_seconds": 0}})
        db.commit()
        wamid = customer_writes(body="Que horas é o check-in?")
        message = db.exec(select(Message).where(Message.wa_message_id == wamid)).one()
        started = time.monotonic()
        bot.run_turn(message.conversation_id, message.id)
        assert time.monotonic() - started < TIMEOUT + 1
    db.expire_all()
    conversation = db.get(Conversation, message.conversation_id)
    assert not conversation.bot_active and conversation.handoff_reason == "ai_timeout"
    said = db.exec(select(Message.body).where(Message.conversation_id == conversation.id,
                                              Message.sender_type == SenderType.BOT).order_by(Message.id)).all()
    assert said[0] == settings_of({})["ai_fail_text"]
    bot.forget_scheduled_turns()
