"""The bot runtime in this process: turns, debounce, locks, takeover, handoff, AI failure, sweeps, CRUD, test chat."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import session_scope, utcnow
from crm_app.errors import NotFound, PermissionDenied
from crm_app.models import BotSession, Contact, Conversation, ConversationLabel, Message, SenderType, Team
from crm_app.services import bot, inbox
from tests.factories import make_user
from tests.support.inbox import customer_writes, fresh_tenant

WA = "5511981234567"


def hotel(team_id=None, sales_id=None) -> dict:
    return {
        "start": "welcome",
        "nodes": {
            "welcome": {"type": "message", "text": "Olá! Bem-vindo.", "next": "menu"},
            "menu": {"type": "menu", "text": "Escolha:", "style": "buttons", "max_retries": 1,
                     "retry_text": "Não entendi.",
                     "options": [{"id": "r", "label": "Reservas", "next": "email"},
                                 {"id": "d", "label": "Dúvidas", "next": "ask"},
                                 {"id": "f", "label": "Encerrar", "next": "bye"}]},
            "email": {"type": "collect", "kind": "email", "attribute": "email", "text": "Seu e-mail?",
                      "next": "tag"},
            "tag": {"type": "set", "attribute": "interesse", "value": "reserva", "label": "Reserva",
                    "next": "sales"},
            "sales": {"type": "handoff", "team_id": sales_id, "text": "Chamando vendas.", "reason": "reserva"},
            "ask": {"type": "ai", "text": "Pergunte!", "next": "ask"},
            "bye": {"type": "close", "text": "Até logo!"},
        },
        "triggers": {"new_conversation": True, "keywords": [{"keyword": "menu", "node": "menu"}]},
        "settings": {"handoff_team_id": team_id, "debounce_seconds": 1, "inactivity_minutes": 5,
                     "inactivity_text": "Encerrando por inatividade.",
                     "out_of_hours_text": "Fora do horário (texto do fluxo)."},
    }


@pytest.fixture
def world(db):
    tenant, box = fresh_tenant(db)
    bot.seed_flow(db, tenant_id=tenant.id, inbox_id=box.id, definition=hotel())
    db.commit()
    yield {"tenant": tenant, "inbox": box}
    bot.forget_scheduled_turns()


def publish(db, world, definition):
    from crm_app.models import BotFlow, BotFlowVersion

    flow = db.exec(select(BotFlow).where(BotFlow.inbox_id == world["inbox"].id)).one()
    flow.published_version += 1
    flow.draft = definition
    db.add(BotFlowVersion(tenant_id=world["tenant"].id, flow_id=flow.id, version=flow.published_version,
                          definition=definition))
    db.add(flow)
    db.commit()


def says(text: str, **kw) -> int:
    """A customer message through the real webhook path; returns its message id."""
    wamid = customer_writes(body=text, wa_id=WA, **kw)
    with session_scope() as s:
        return s.exec(select(Message.id).where(Message.wa_message_id == wamid)).one()


def conversation_id() -> int:
    with session_scope() as s:
        return s.exec(select(Conversation.id)).one()


def bot_lines(cid: int) -> list[dict]:
    with session_scope() as s:
        rows = s.exec(select(Message).where(Message.conversation_id == cid, Message.sender_type == SenderType.BOT)
                      .order_by(Message.id)).all()
        return [r.payload["content"] for r in rows]


def bodies(cid: int) -> list[str]:
    return [c["body"] for c in bot_lines(cid)]


def turn(text: str) -> tuple[int, str]:
    message_id = says(text)
    cid = conversation_id()
    return cid, bot.run_turn(cid, message_id)


def test_first_message_starts_the_flow_and_a_button_reply_moves_it(world):
    cid, result = turn("Oi")
    assert result.startswith("turn 1")
    # the greeting rides on the menu: one message cannot arrive out of order
    assert bot_lines(cid) == [{"type": "buttons", "body": "Olá! Bem-vindo.\n\nEscolha:",
                               "buttons": [["menu:r", "Reservas"], ["menu:d", "Dúvidas"], ["menu:f", "Encerrar"]]}]
    tap = says("Reservas")  # a typed label works like the button
    assert bot.run_turn(cid, tap).startswith("turn 2")
    assert bodies(cid)[-1] == "Seu e-mail?"
    with session_scope() as s:
        session = s.exec(select(BotSession)).one()
        assert session.node_id == "email" and session.last_message_id == tap and session.expires_at is not None


def test_interactive_reply_id_is_read_from_the_payload(world):
    cid, _ = turn("Oi")
    with session_scope() as s:
        wamid = s.exec(select(Message.wa_message_id).where(Message.sender_type == SenderType.BOT)).first()
    message = {"type": "interactive", "context": {"id": wamid or "wamid.x"},
               "interactive": {"type": "button_reply", "button_reply": {"id": "menu:f", "title": "Encerrar"}}}
    wamid = customer_writes(message, wa_id=WA)
    with session_scope() as s:
        tap = s.exec(select(Message.id).where(Message.wa_message_id == wamid)).one()
    bot.run_turn(cid, tap)
    assert bodies(cid)[-1] == "Até logo!"
    with session_scope() as s:
        conversation = s.get(Conversation, cid)
        assert conversation.status == "closed" and conversation.resolved_by == "bot"


def test_a_burst_is_one_turn_and_a_second_run_sends_nothing(world):
    first = says("Oi")
    says("tudo bem?")
    last = says("quero ajuda")
    cid = conversation_id()
    assert bot.run_turn(cid, first) == "debounced"
    assert bot.run_turn(cid, last).startswith("turn 1")
    assert len(bot_lines(cid)) == 1
    assert bot.run_turn(cid, last) == "nothing-new" and bot.run_turn(cid, None) == "nothing-new"
    assert len(bot_lines(cid)) == 1


def test_burst_of_greeting_then_number_is_understood(world):
    cid, _ = turn("Oi")
    says("ah, desculpe")
    last = says("1")
    bot.run_turn(cid, last)
    assert bodies(cid)[-1] == "Seu e-mail?"


def test_two_workers_at_once_send_one_reply(world, monkeypatch):
    monkeypatch.setattr(get_settings(), "bot_tenant_concurrency", 4)  # all four run at once: the locks decide
    message_id = says("Oi")
    cid = conversation_id()
    results = []
    threads = [threading.Thread(target=lambda: results.append(bot.run_turn(cid, message_id))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.split(":")[0] for r in results) == ["nothing-new"] * 3 + ["turn 1"]
    assert len(bot_lines(cid)) == 1


def test_takeover_before_the_turn_keeps_the_bot_silent(world, db):
    message_id = says("Oi")
    cid = conversation_id()
    attendant = make_user(db, world["tenant"].id, "attendant")
    inbox.take_over(db, actor=attendant, conversation_id=cid)
    db.commit()
    assert bot.run_turn(cid, message_id) == "silent"
    says("alô?")
    assert bot.run_turn(cid, None) == "silent" and bot_lines(cid) == []


def test_invalid_answers_then_handoff_with_reason(world):
    cid, _ = turn("Oi")
    bot.run_turn(cid, says("banana"))
    assert bodies(cid)[1:] == ["Não entendi.\n\nEscolha:"]
    bot.run_turn(cid, says("abacaxi"))
    with session_scope() as s:
        conversation = s.get(Conversation, cid)
        assert not conversation.bot_active and conversation.handoff_reason == "max_retries"
        assert s.exec(select(BotSession)).one().status == "handoff"
    says("oi?")
    assert bot.run_turn(cid, None) == "silent"


def test_exit_keyword_hands_off_and_collect_sets_contact_attributes_and_label(world):
    cid, _ = turn("Oi")
    bot.run_turn(cid, says("1"))
    bot.run_turn(cid, says("Maria@Example.com"))
    with session_scope() as s:
        contact = s.exec(select(Contact)).one()
        assert contact.custom_attributes["email"] == "maria@example.com" and contact.email == "maria@example.com"
        assert contact.custom_attributes["interesse"] == "reserva"
        assert s.exec(select(ConversationLabel)).first() is not None
        conversation = s.get(Conversation, cid)
        assert conversation.handoff_reason == "reserva" and not conversation.bot_active
    assert "Chamando vendas." in bodies(cid)


def test_exit_keyword(world):
    cid, _ = turn("Oi")
    bot.run_turn(cid, says("quero falar com um atendente"))
    with session_scope() as s:
        assert s.get(Conversation, cid).handoff_reason == "exit_keyword"


def test_out_of_hours_sends_the_flow_text_and_still_hands_off(world, db):
    closed = Team(tenant_id=world["tenant"].id, name="Vendas", business_hours={"sun": [["00:00", "00:01"]]},
                  holidays=[])
    db.add(closed)
    db.commit()
    publish(db, world, hotel(sales_id=closed.id))
    cid, _ = turn("Oi")
    bot.run_turn(cid, says("1"))
    bot.run_turn(cid, says("ana@example.com"))
    texts = bodies(cid)
    assert texts[-2] == "Chamando vendas.\n\nFora do horário (texto do fluxo)."
    assert "fila" in texts[-1]  # assignment's queue position line
    with session_scope() as s:
        conversation = s.get(Conversation, cid)
        assert conversation.team_id == closed.id and conversation.queued_at is not None


def test_ai_disabled_hands_off_with_a_message_never_silence(world):
    cid, _ = turn("Oi")
    bot.run_turn(cid, says("2"))
    assert bodies(cid)[-1] == "Pergunte!"
    bot.run_turn(cid, says("Tem estacionamento?"))
    assert "Vou chamar uma pessoa" in bodies(cid)[-2]
    with session_scope() as s:
        assert s.get(Conversation, cid).handoff_reason == "ai_disabled"


def test_inactivity_closes_with_the_text(world):
    cid, _ = turn("Oi")
    assert bot.expire_bot_sessions(utcnow()) == 0
    assert bot.expire_bot_sessions(utcnow() + dt.timedelta(minutes=6)) == 1
    assert bodies(cid)[-1] == "Encerrando por inatividade."
    with session_scope() as s:
        conversation = s.get(Conversation, cid)
        assert conversation.status == "closed" and conversation.resolved_by == "bot"
    assert bot.expire_bot_sessions(utcnow() + dt.timedelta(minutes=60)) == 0


def test_reopened_conversation_gets_a_fresh_session(world):
    cid, _ = turn("Oi")
    bot.run_turn(cid, says("3"))
    with session_scope() as s:
        assert s.get(Conversation, cid).status == "closed"
    again = says("Oi de novo")
    assert conversation_id() == cid
    bot.run_turn(cid, again)
    assert bodies(cid)[-1] == "Olá! Bem-vindo.\n\nEscolha:"


def test_sweep_finds_turns_whose_job_was_lost(world):
    says("Oi")
    cid = conversation_id()
    assert bot.sweep_bot_turns(utcnow()) == 0  # still inside the debounce grace
    later = utcnow() + dt.timedelta(seconds=90)
    assert bot.sweep_bot_turns(later) == 1
    bot.run_turn(cid, None)
    assert bot.sweep_bot_turns(later) == 0


def test_flow_crud_validates_and_versions(world, db):
    admin = make_user(db, world["tenant"].id, "admin")
    inbox_id = world["inbox"].id
    view = bot.get_flow(db, actor=admin, inbox_id=inbox_id)
    assert view.published_version == 1 and view.draft["start"] == "welcome"
    broken = hotel()
    broken["nodes"]["menu"]["options"][0]["next"] = "ghost"
    bot.save_draft(db, actor=admin, inbox_id=inbox_id, definition=broken)
    with pytest.raises(bot.FlowInvalid) as refused:
        bot.publish(db, actor=admin, inbox_id=inbox_id)
    found = [(p.code, p.node_id) for p in refused.value.problems]
    assert found[0] == ("missing_target", "menu") and ("unreachable", "email") in found
    bot.save_draft(db, actor=admin, inbox_id=inbox_id, definition=hotel())
    assert bot.publish(db, actor=admin, inbox_id=inbox_id).version == 2
    db.commit()
    assert [v.version for v in bot.list_versions(db, actor=admin, inbox_id=inbox_id)] == [2, 1]


def test_flow_crud_checks_role_and_tenant(world, db):
    attendant = make_user(db, world["tenant"].id, "attendant")
    with pytest.raises(PermissionDenied):
        bot.get_flow(db, actor=attendant, inbox_id=world["inbox"].id)
    other, _ = fresh_tenant(db, webhook_inbox=False)
    stranger = make_user(db, other.id, "admin")
    with pytest.raises(NotFound):
        bot.save_draft(db, actor=stranger, inbox_id=world["inbox"].id, definition=hotel())


def test_simulate_replays_a_transcript(world, db):
    admin = make_user(db, world["tenant"].id, "admin")
    lines = bot.simulate(db, actor=admin, definition=hotel(),
                         transcript=[{"text": "x"}, {"reply_id": "menu:r", "text": "Reservas"},
                                     {"text": "a@b.com"}])
    kinds = [(line.kind, line.text) for line in lines]
    assert kinds[:3] == [("bot", "Olá! Bem-vindo."), ("bot", "Escolha:"), ("customer", "x")]
    assert lines[1].choices[0] == {"id": "menu:r", "label": "Reservas"}
    assert ("bot", "Não entendi.") in kinds and ("bot", "Seu e-mail?") in kinds
    assert any(line.kind == "set_attribute" and line.value == "a@b.com" for line in lines)
    assert lines[-1].kind == "handoff" and lines[-1].reason == "reserva"


def test_demo_flow_reservation_path(db):
    from crm_app.services import demo

    tenant, box = fresh_tenant(db)
    front = Team(tenant_id=tenant.id, name="Recepção", business_hours={}, holidays=[])
    sales = Team(tenant_id=tenant.id, name="Vendas", business_hours={}, holidays=[], out_of_hours_message="Fechado")
    db.add_all([front, sales])
    db.commit()
    bot.seed_flow(db, tenant_id=tenant.id, inbox_id=box.id, definition=demo.demo_flow(front.id, sales.id))
    db.commit()
    try:
        cid, _ = turn("Olá")
        assert bot_lines(cid)[0]["type"] == "list"
        assert bot.run_turn(cid, says("Reservas")).startswith("turn 2")
        result = bot.run_turn(cid, says("maria@example.com"))
        assert result.startswith("turn 3"), result
        assert bodies(cid)[-2:] == ["Obrigado! Vou passar você para a nossa equipe de reservas (maria@example.com).",
                                    "Você é o 1º da fila. Em breve um atendente vai falar com você."]
    finally:
        bot.forget_scheduled_turns()


def test_demo_seed_publishes_the_hotel_flow_once(db):
    from crm_app.domain import flows
    from crm_app.models import BotFlow, BotFlowVersion
    from crm_app.services import demo

    demo.seed_demo(db)
    db.commit()
    demo.seed_demo(db)
    db.commit()
    flow = db.exec(select(BotFlow)).one()
    assert flow.published_version == 1 and len(db.exec(select(BotFlowVersion)).all()) == 1
    assert flows.validate_flow(flow.draft) == []
    teams = {t.name: t.id for t in db.exec(select(Team)).all()}
    assert flow.draft["nodes"]["para_vendas"]["team_id"] == teams["Vendas"]
    assert flow.draft["settings"]["handoff_team_id"] == teams["Recepção"]
    assert flow.draft["nodes"]["menu"]["style"] == "list"


def test_after_a_human_closed_it_the_bot_starts_over_ignoring_what_was_said_to_people(world, db):
    cid, _ = turn("Oi")
    attendant = make_user(db, world["tenant"].id, "attendant")
    inbox.take_over(db, actor=attendant, conversation_id=cid)
    db.commit()
    says("quero falar com um atendente humano")  # said to the person, not to the bot
    inbox.close(db, actor=attendant, conversation_id=cid)
    db.commit()
    again = says("Oi, voltei")
    with session_scope() as s:
        assert s.get(Conversation, cid).bot_active  # the customer reopened it: the bot answers again
    bot.run_turn(cid, again)
    assert bodies(cid)[-1] == "Olá! Bem-vindo.\n\nEscolha:"
    with session_scope() as s:
        assert s.get(Conversation, cid).bot_active


def test_bot_lines_and_the_handoff_show_live_in_the_inbox(world):
    from tests.support.inbox import Listener

    cid, _ = turn("Oi")
    message_id = says("atendente")
    listener = Listener(world["tenant"].id)
    try:
        bot.run_turn(cid, message_id)
        events = listener.events()
    finally:
        listener.close()
    with session_scope() as s:
        bot_ids = set(s.exec(select(Message.id).where(Message.conversation_id == cid,
                                                      Message.sender_type == SenderType.BOT)).all())
    shown = {e["data"].get("message_id") for e in events if e["kind"] == "message.new"}
    assert max(bot_ids) in shown  # the queue-position line the handoff sent
    updates = [e for e in events if e["kind"] == "conversation.updated"]
    assert updates and updates[-1]["data"]["bot_active"] is False
