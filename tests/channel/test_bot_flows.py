"""The bot with real workers and the sandbox playing Meta (and OpenAI): what customers actually receive.

The hot worker stores each customer message and queues its debounced turn with RQ's `enqueue_in`; the bot
worker's scheduler releases it and runs the turn. We assert on the exact Graph bodies the sandbox recorded.
Tests about what the bot does *not* do publish the flow with a long debounce (`held`), look at the delayed
turns in RQ's scheduled registry, release them at once and read each job's result, instead of sleeping
through the debounce.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import session_scope, utcnow
from crm_app.models import Contact, Conversation, Team, TeamMember
from crm_app.queue import QUEUE_BOT, QUEUE_HIGH, get_queue
from crm_app.services import bot, demo, inbox
from crm_app.services.bot import ai_settings
from crm_app.services.core import jobs
from tests.channel.conftest import scalar, wait_for
from tests.factories import make_user

WA = "5511981234567"
WELCOME = "Olá! 👋 Bem-vindo ao Hotel Demonstração. Sou o assistente virtual."
CLOSED_TEXT = "Vendas fecha agora. Retornamos no próximo dia útil."
QUEUE = "Você é o 1º da fila. Em breve um atendente vai falar com você."
HELD = 60  # the longest debounce a flow may have: RQ's scheduler keeps the turn while the test looks at it


def text_body(body: str) -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA, "type": "text",
            "text": {"body": body}}


def menu_body(before: str = WELCOME) -> dict:
    """The main menu as one list message; the turn's earlier text rides in its body (one message keeps order)."""
    body = f"{before}\n\nComo posso ajudar você hoje?"
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA, "type": "interactive",
            "interactive": {"type": "list", "body": {"text": body},
                            "action": {"button": "Ver opções", "sections": [{"rows": [
                                {"id": "menu:reservas", "title": "Reservas"},
                                {"id": "menu:duvidas", "title": "Dúvidas frequentes"},
                                {"id": "menu:atendente", "title": "Falar com a recepção"}]}]}}}


@pytest.fixture
def debounce() -> int:
    """The published flow's debounce in seconds: the demo's, unless a test parametrizes it (`held`)."""
    return 3


held = pytest.mark.parametrize("debounce", [HELD])


@pytest.fixture
def hotel(channel, db, debounce):
    """The demo flow published on the channel's inbox; sales closed unless a test opens it."""
    bot.forget_scheduled_turns()
    tenant_id = channel.tenant_id
    front = Team(tenant_id=tenant_id, name="Recepção", business_hours={}, holidays=[])
    sales = Team(tenant_id=tenant_id, name="Vendas", business_hours={}, holidays=[],
                 out_of_hours_message=CLOSED_TEXT)
    db.add_all([front, sales])
    db.commit()
    inbox_id = scalar("SELECT id FROM inboxes")
    definition = demo.demo_flow(front.id, sales.id)
    definition["settings"]["debounce_seconds"] = debounce
    bot.seed_flow(db, tenant_id=tenant_id, inbox_id=inbox_id, definition=definition)
    db.commit()
    channel.sandbox("DELETE", "/openai/requests")
    channel.front_id, channel.sales_id = front.id, sales.id
    yield channel
    bot.forget_scheduled_turns()


def messages_sent(channel) -> list[dict]:
    return [c for c in channel.sent(to=WA) if c["kind"] == "message"]


def wait_sent(channel, count: int, timeout: float = 20) -> list[dict]:
    """Wait until at least `count` messages went out and the workers are idle, so extras are caught too."""
    wait_for(lambda: len(messages_sent(channel)) >= count, timeout=timeout)
    wait_for(settled, timeout=timeout)
    return [c["body"] for c in messages_sent(channel)]


def idle(name: str) -> bool:
    """No job of queue `name` waits, is being taken by a worker, or runs."""
    queue = get_queue(name)
    return not (queue.count or queue.connection.llen(queue.intermediate_queue_key)
                or StartedJobRegistry(queue=queue).count)


def settled() -> bool:
    """The hot and bot queues are idle and no turn is delayed: no message is on its way."""
    return idle(QUEUE_HIGH) and idle(QUEUE_BOT) and not ScheduledJobRegistry(queue=get_queue(QUEUE_BOT)).count


def scheduled_turns(conversation_id: int, *message_ids: int) -> list[str]:
    """Wait until the hot worker delayed the turn of each customer message; assert its debounce; its job ids."""
    registry = ScheduledJobRegistry(queue=get_queue(QUEUE_BOT))
    expected = [jobs.job_id("run_bot_turn", conversation_id, message_id) for message_id in message_ids]
    wait_for(lambda: set(expected) <= set(registry.get_job_ids()))
    wait_for(lambda: idle(QUEUE_HIGH))
    assert sorted(registry.get_job_ids()) == sorted(expected)  # one delayed turn per message, no other
    for job_id in expected:
        delay = registry.get_scheduled_time(job_id).timestamp() - time.time()
        assert HELD / 2 < delay <= HELD + 1  # delayed by the flow's debounce, not queued at once
    return expected


def run_now(job_ids: list[str]) -> list[str]:
    """Release delayed turns at once, as RQ's scheduler does once the debounce passes; the turns' results.

    The channel stack's bot worker runs them (a burst worker would race it for the same jobs).
    """
    queue = get_queue(QUEUE_BOT)
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in job_ids:
        registry.requeue(job_id)
    results = []
    for job_id in job_ids:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
        wait_for(lambda job=job: job.get_status() in ("finished", "failed"))
        assert job.get_status() == "finished", job.exc_info
        results.append(job.return_value())
    return results


def inbound_ids(count: int) -> list[int]:
    """The ids of the customer's messages, once the hot worker stored `count` of them."""
    wait_for(lambda: scalar("SELECT count(*) FROM messages WHERE direction = 'inbound'") == count)
    return [scalar("SELECT id FROM messages WHERE direction = 'inbound' ORDER BY id OFFSET :n LIMIT 1", n=n)
            for n in range(count)]


def tap(channel, kind: str, reply_id: str, title: str) -> None:
    last = messages_sent(channel)[-1]["wamid"]
    key = "button_id" if kind == "button_reply" else "row_id"
    response = channel.sandbox("POST", "/customer/messages", json={
        "from": WA, "name": "Maria Souza", "type": kind, key: reply_id, "title": title, "reply_to": last})
    assert response.status_code == 200, response.text


def conversation(db) -> Conversation:
    row = db.exec(select(Conversation)).one()
    db.refresh(row)
    return row


def test_menu_navigated_end_to_end(hotel, db):
    hotel.customer_says("Olá, boa tarde")
    assert wait_sent(hotel, 1) == [menu_body()]
    tap(hotel, "list_reply", "menu:reservas", "Reservas")
    assert wait_sent(hotel, 2)[1] == text_body("Ótimo! Para começarmos sua reserva, qual é o seu e-mail?")
    hotel.customer_says("maria.souza@example.com")
    sent = wait_sent(hotel, 4)
    # the bot's line and assignment's queue line are two messages that parallel workers deliver
    assert sorted(sent[2:], key=str) == sorted([
        text_body("Obrigado! Vou passar você para a nossa equipe de reservas (maria.souza@example.com)."),
        text_body(QUEUE)], key=str)
    row = conversation(db)
    assert not row.bot_active and row.handoff_reason == "reserva" and row.team_id == hotel.sales_id
    assert db.exec(select(Contact)).one().email == "maria.souza@example.com"


def test_invalid_option_gets_the_retry_text_then_a_handoff(hotel, db):
    hotel.customer_says("Olá")
    wait_sent(hotel, 1)
    retry = menu_body("Não entendi 🤔 Toque em “Ver opções” ou responda com o número da opção.")
    hotel.customer_says("banana")
    assert wait_sent(hotel, 2)[1:] == [retry]
    hotel.customer_says("abacaxi")
    assert wait_sent(hotel, 3)[2:] == [retry]
    hotel.customer_says("melancia")
    assert wait_sent(hotel, 4)[3:] == [text_body(QUEUE)]
    row = conversation(db)
    assert not row.bot_active and row.handoff_reason == "max_retries" and row.team_id == hotel.front_id


def test_out_of_hours_message(hotel, db):
    sales = db.get(Team, hotel.sales_id)
    sales.business_hours = {"sun": [["00:00", "00:01"]]}  # never open while the test runs
    db.add(sales)
    db.commit()
    hotel.customer_says("Olá")
    wait_sent(hotel, 1)
    hotel.customer_says("1")
    wait_sent(hotel, 2)
    hotel.customer_says("maria@example.com")
    sent = wait_sent(hotel, 3)
    assert sent[2]["interactive"]["type"] == "button"
    assert [b["reply"]["title"] for b in sent[2]["interactive"]["action"]["buttons"]] == ["Deixar recado",
                                                                                         "Voltar ao menu"]
    tap(hotel, "button_reply", "fora_do_horario:recado", "Deixar recado")
    sent = wait_sent(hotel, 5)
    assert sorted(sent[3:], key=str) == sorted([
        text_body("Combinado! Escreva seu recado que a equipe responde assim que abrir."),
        text_body(CLOSED_TEXT)], key=str)  # the team's own out-of-hours text, not the queue position
    row = conversation(db)
    assert not row.bot_active and row.queued_at is not None and row.handoff_reason == "fora_do_horario"


@held
def test_a_debounced_burst_is_one_turn(hotel, db):
    for text in ("Oi", "bom dia", "tudo bem?"):
        hotel.customer_says(text)
    message_ids = inbound_ids(3)
    turns = scheduled_turns(conversation(db).id, *message_ids)
    results = run_now(turns)  # every message's delayed turn runs; only the newest one's speaks
    assert results[2].startswith("turn") and not any(r.startswith("turn") for r in results[:2]), results
    assert wait_sent(hotel, 1) == [menu_body()]
    assert scalar("SELECT count(*) FROM messages WHERE sender_type = 'bot'") == 1


def test_ai_answer_contains_the_grounded_fact(hotel, db):
    ai_settings.seed_demo(db, tenant_id=hotel.tenant_id, base_url=f"{hotel.sandbox_url}/openai/v1",
                 api_key=get_settings().sandbox_openai_key.get_secret_value())
    db.commit()
    _ask_ai(hotel, "Qual o horário do café da manhã?")
    answer = wait_sent(hotel, 3, timeout=30)[2]["text"]["body"]
    assert "6h30" in answer and "10h" in answer
    assert conversation(db).bot_active  # answered: the bot keeps the conversation


def test_ai_down_hands_off_instead_of_silence(hotel, db):
    ai_settings.seed_demo(db, tenant_id=hotel.tenant_id, base_url=f"{hotel.sandbox_url}/openai/v1",
                 api_key=get_settings().sandbox_openai_key.get_secret_value())
    db.commit()
    hotel.sandbox("POST", "/openai/fault", json={"mode": "error", "count": 10})
    _ask_ai(hotel, "Qual o horário do café da manhã?")
    sent = wait_sent(hotel, 4, timeout=30)
    assert sorted(sent[2:], key=str) == sorted([
        text_body("Não consegui responder a isso agora. Vou chamar uma pessoa da nossa equipe."),
        text_body(QUEUE)], key=str)
    row = conversation(db)
    assert not row.bot_active and row.handoff_reason == "ai_error"


def _ask_ai(channel, question: str) -> None:
    channel.customer_says("Olá")
    wait_sent(channel, 1)
    tap(channel, "list_reply", "menu:duvidas", "Dúvidas frequentes")
    assert wait_sent(channel, 2)[1]["text"]["body"].startswith("Pode perguntar!")
    channel.customer_says(question)


@held
def test_bot_is_silent_after_a_takeover_even_between_debounce_and_turn(hotel, db):
    hotel.customer_says("Olá")
    conversation_id = wait_for(lambda: scalar("SELECT id FROM conversations"))
    [first] = inbound_ids(1)
    [turn] = scheduled_turns(conversation_id, first)
    attendant = make_user(db, hotel.tenant_id, "attendant")
    inbox.take_over(db, actor=attendant, conversation_id=conversation_id)  # inside the debounce
    db.commit()
    hotel.customer_says("alguém aí?")
    inbound_ids(2)
    assert scheduled_turns(conversation_id, first) == [turn]  # people own it: no turn for the second message
    assert run_now([turn]) == ["silent"]  # the delayed turn runs, and says nothing
    wait_for(settled)
    assert messages_sent(hotel) == []
    assert scalar("SELECT count(*) FROM messages WHERE sender_type = 'bot'") == 0
    assert bot.sweep_bot_turns() == 0  # nothing owed either: the bot is out


@held
def test_bot_is_silent_after_a_takeover_mid_flow(hotel, db):
    hotel.customer_says("Olá")
    conversation_id = wait_for(lambda: scalar("SELECT id FROM conversations"))
    run_now(scheduled_turns(conversation_id, *inbound_ids(1)))
    assert wait_sent(hotel, 1) == [menu_body()]
    attendant = make_user(db, hotel.tenant_id, "attendant")
    with session_scope() as s:
        s.add(TeamMember(tenant_id=hotel.tenant_id, team_id=hotel.front_id, user_id=attendant.user_id))
    inbox.take_over(db, actor=attendant, conversation_id=conversation_id)
    db.commit()
    hotel.customer_says("1")
    inbound_ids(2)
    assert scheduled_turns(conversation_id) == []  # no turn is delayed for the bot to answer "1" later
    wait_for(settled)
    assert len(messages_sent(hotel)) == 1
    assert bot.sweep_bot_turns(utcnow() + dt.timedelta(seconds=90)) == 0  # nor owed to the sweep


@held
def test_a_turn_whose_delayed_job_redis_lost_is_swept_up(hotel, db):
    hotel.customer_says("Olá")
    conversation_id = wait_for(lambda: scalar("SELECT id FROM conversations"))
    [turn] = scheduled_turns(conversation_id, *inbound_ids(1))
    assert bot.forget_scheduled_turns() == 1  # Redis "lost" the delayed job before it ran
    assert not Job.exists(turn, connection=get_queue(QUEUE_BOT).connection)  # nothing left to run it
    wait_for(settled)
    assert messages_sent(hotel) == []
    assert bot.sweep_bot_turns(utcnow() + dt.timedelta(seconds=90)) == 1  # the periodic sweep, a little later
    assert wait_sent(hotel, 1) == [menu_body()]
    assert bot.sweep_bot_turns(utcnow() + dt.timedelta(seconds=90)) == 0


def test_inactivity_closes_the_conversation_with_its_text(hotel, db):
    hotel.customer_says("Olá")
    wait_sent(hotel, 1)
    assert bot.expire_bot_sessions(utcnow() + dt.timedelta(minutes=31)) == 1
    assert wait_sent(hotel, 2)[1] == text_body("Como não tivemos resposta, vamos encerrar por aqui. Se precisar, "
                                               "é só mandar uma nova mensagem! 😊")
    row = conversation(db)
    assert row.status == "closed" and row.resolved_by == "bot"
    hotel.customer_says("Oi de novo")  # the customer comes back: a fresh session greets them again
    assert wait_sent(hotel, 3)[2] == menu_body()
