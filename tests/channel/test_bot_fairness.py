"""Fair bot turns with the bot workers as deployed: one tenant's slow AI server never delays another tenant's bot.

Tenant A's AI server takes 20 s to answer (we never wait for it: the test ends once B is answered, and stops A's
server); A's customers fill A's places (`BOT_TENANT_CONCURRENCY`) and its further turns wait their turn, queued
again, instead of taking the remaining bot workers. Tenant B, on its own WhatsApp number (a second sandbox),
still gets its answer within its debounce plus a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlmodel import select

from crm_app.config import PROJECT_ROOT, get_settings
from crm_app.models import Conversation
from crm_app.processes import worker_count
from crm_app.services import bot
from crm_app.services.access import tenants
from crm_app.services.bot import ai_settings, fairness, knowledge
from crm_app.services.channel import numbers
from tests.channel.conftest import Channel, free_port, scalar, stop, wait_for, wait_http
from tests.channel.test_bot_flows import settled
from tests.factories import make_user
from tests.support.slow_ai import slow_ai

B_NUMBER = "100000000000777"
DEBOUNCE = 0
QUESTION = "Qual o horário do café da manhã?"
BREAKFAST = "O café da manhã é servido das 6h30 às 10h, no restaurante do térreo."
A_CUSTOMERS = ("5511990000001", "5511990000002", "5511990000003", "5511990000004")
B_CUSTOMER = "5511970000009"


def ai_flow() -> dict:
    """Every first message goes straight to the AI; a failed answer hands off (the flow's AI failure text)."""
    return {"start": "ia", "nodes": {"ia": {"type": "ai", "next": "ia"}},
            "triggers": {"new_conversation": True, "keywords": []},
            "settings": {"debounce_seconds": DEBOUNCE, "exit_keywords": ["atendente"]}, "layout": {}}


@pytest.fixture(scope="module")
def second_number(channel_stack):
    """A second sandbox serving tenant B's WhatsApp number, posting to the same API server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"SANDBOX_PORT": str(port), "SANDBOX_SMTP_PORT": str(free_port()),
           "SANDBOX_WEBHOOK_URL": f"{channel_stack.api_url}/api/whatsapp/webhook",
           "DEMO_WA_PHONE_NUMBER_ID": B_NUMBER, "SANDBOX_RATE_LIMIT_PER_SECOND": "20"}
    proc = subprocess.Popen([sys.executable, "-m", "crm_app.sandbox"], cwd=PROJECT_ROOT, env=dict(os.environ, **env),
                            start_new_session=True)
    try:
        wait_http(f"{url}/health", proc)
        yield Channel(channel_stack.api_url, url)
    finally:
        stop(proc)


def _tenant_with_ai(db, tenant_id: int, inbox_id: int, base_url: str, timeout: float) -> None:
    admin = make_user(db, tenant_id, "admin")
    ai_settings.save_ai_settings(db, actor=admin, api_key=get_settings().sandbox_openai_key.get_secret_value(),
                                 enabled=True, base_url=base_url, model="gpt-4o-mini", timeout_seconds=timeout,
                                 min_confidence=0.5, input_cost_per_mtok=0, output_cost_per_mtok=0,
                                 monthly_budget_usd=0)
    knowledge.create_entry(db, actor=admin, title="Café da manhã", content=BREAKFAST, tags=["cafe"])
    bot.seed_flow(db, tenant_id=tenant_id, inbox_id=inbox_id, definition=ai_flow())
    db.commit()


@pytest.fixture
def two_tenants(channel, second_number, db):
    """Tenant A (the channel's) with its AI at `slow`, tenant B on the second number with the sandbox's fast AI."""
    settings = get_settings()
    bot.forget_scheduled_turns()
    second_number.sandbox("DELETE", "/state")
    tenant_b, _ = tenants.ensure_tenant(db, name="Hotel B", slug="hotel-b")
    inbox_b, _ = numbers.ensure_inbox(
        db, actor=None, tenant_id=tenant_b.id, name="Recepção B", phone_number_id=B_NUMBER,
        waba_id=settings.demo_wa_waba_id, display_number="+55 11 4000-0777",
        access_token=settings.demo_wa_access_token.get_secret_value(),
        app_secret=settings.demo_wa_app_secret.get_secret_value(),
        verify_token=settings.demo_wa_verify_token.get_secret_value(),
        graph_base_url=f"{second_number.sandbox_url}/graph/v23.0")
    db.commit()
    _tenant_with_ai(db, tenant_b.id, inbox_b.id, f"{second_number.sandbox_url}/openai/v1", timeout=10)
    with slow_ai("stall", stall_seconds=20) as slow:
        inbox_a = scalar("SELECT id FROM inboxes WHERE tenant_id = :t", t=channel.tenant_id)
        _tenant_with_ai(db, channel.tenant_id, inbox_a, slow.url, timeout=15)
        yield channel, second_number, slow, tenant_b.id
        slow.stop()  # A's calls fail at once: its turns hand off, each waking the next in line
        wait_for(lambda: not fairness.waiting_turns(channel.tenant_id) and not fairness.running_turns(
            channel.tenant_id), timeout=30)
        bot.forget_scheduled_turns()  # the waiting turns' own later retries: their work is done
        for number in (channel, second_number):  # no status webhook may land while the next test cleans up
            number.sandbox("DELETE", "/state")
        wait_for(settled)


def _answered(channel: Channel, wa_id: str) -> list[dict]:
    return [c for c in channel.sent(to=wa_id) if c["kind"] == "message"]


def test_a_slow_ai_for_one_tenant_never_delays_another_tenants_bot(two_tenants, db):
    tenant_a, tenant_b, slow, tenant_b_id = two_tenants
    cap = get_settings().bot_tenant_concurrency
    assert worker_count("worker-bot", get_settings()) > cap  # as deployed: room for others beyond one tenant's cap
    for wa_id in A_CUSTOMERS:  # more of A's customers than A has places
        tenant_a.customer_says(QUESTION, wa_id=wa_id)
    wait_for(lambda: len(slow.requests) == cap, timeout=20)  # A's AI holds A's places, and waits
    wait_for(lambda: scalar("SELECT count(*) FROM conversations WHERE tenant_id = :t", t=tenant_a.tenant_id)
             == len(A_CUSTOMERS))
    wait_for(lambda: len(fairness.waiting_turns(tenant_a.tenant_id)) == len(A_CUSTOMERS) - cap)  # the rest wait

    started = time.monotonic()
    tenant_b.customer_says(QUESTION, wa_id=B_CUSTOMER)
    [reply] = wait_for(lambda: _answered(tenant_b, B_CUSTOMER), timeout=DEBOUNCE + 10)
    took = time.monotonic() - started
    assert "6h30" in reply["body"]["text"]["body"]
    assert took <= DEBOUNCE + 1, f"B answered after {took:.2f} s"

    assert len(slow.requests) == cap  # A never ran more than its cap at once, however many customers wrote
    assert fairness.running_turns(tenant_a.tenant_id) == cap
    assert len(fairness.waiting_turns(tenant_a.tenant_id)) == len(A_CUSTOMERS) - cap
    assert _answered(tenant_a, A_CUSTOMERS[0]) == []  # A is still waiting for its AI: nothing was cut short
    row = db.exec(select(Conversation).where(Conversation.tenant_id == tenant_b_id)).one()
    assert row.bot_active  # B's bot answered and keeps the conversation
