"""The services that cause each milestone keep the facts, in their own transaction (no replay of history)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.models import Conversation, ConversationFact, ConversationResponse, PresenceInterval
from crm_app.queue import get_redis
from crm_app.services import inbox
from crm_app.services.access import presence_history as history
from crm_app.services.channel import outbound
from tests.services.routing.test_assignment import attendants, hand, team_of
from tests.support.inbox import customer_writes, fresh_tenant, no_leftover_jobs  # noqa: F401  (an autouse fixture)


@pytest.fixture
def world(db):
    tenant, box = fresh_tenant(db)
    yield tenant, box
    get_redis().delete(f"crm:presence:{tenant.id}", f"crm:presence:status:{tenant.id}")


def _cycles(db, conversation_id: int) -> list[ConversationFact]:
    db.expire_all()
    return list(db.exec(select(ConversationFact).where(ConversationFact.conversation_id == conversation_id)
                        .order_by(ConversationFact.cycle)).all())


def _send(actor, conversation_id: int, body: str, tenant_id: int | None = None) -> None:
    with session_scope() as session:
        outbound.send_message(session, actor=actor, conversation_id=conversation_id, tenant_id=tenant_id,
                              content={"type": "text", "body": body})


def test_a_conversations_life_through_the_real_services(db, world):
    tenant, _ = world
    (ana,) = attendants(db, tenant.id, 1)
    team_id = team_of(db, tenant.id, [ana])
    customer_writes(body="Oi")
    conversation_id = db.exec(select(Conversation.id).where(Conversation.tenant_id == tenant.id)).one()
    _send(None, conversation_id, "Sou o robô", tenant.id)  # a bot message
    assert hand(tenant.id, conversation_id, team_id).assignee_id == ana.user_id
    (fact,) = _cycles(db, conversation_id)
    assert fact.handoff_at is not None and fact.assigned_at is not None and fact.handoff_reason == "menu"
    assert (fact.customer_messages, fact.bot_messages, fact.team_id, fact.assignee_id) == (1, 2, team_id,
                                                                                         ana.user_id)
    _send(ana, conversation_id, "Olá, sou a Ana")
    customer_writes(body="Tenho uma dúvida")
    _send(ana, conversation_id, "Pode falar")
    with session_scope() as session:
        inbox.close(session, actor=ana, conversation_id=conversation_id)
    (fact,) = _cycles(db, conversation_id)
    assert fact.first_human_at is not None and fact.frt_seconds is not None and fact.first_human_user_id == ana.user_id
    assert (fact.human_messages, fact.closed_by, fact.contained, fact.unanswered) == (2, "human", False, False)
    nexts = db.exec(select(ConversationResponse).where(ConversationResponse.fact_id == fact.id)).all()
    assert [r.kind for r in nexts] == ["next"] and nexts[0].user_id == ana.user_id
    customer_writes(body="Voltei")  # the customer reopens it: a new cycle
    first, second = _cycles(db, conversation_id)
    assert first.reopened and second.cycle == 1 and second.closed_at is None and second.customer_messages == 1


def test_presence_history_keeps_online_and_away_stretches(db, world):
    tenant, _ = world
    (ana,) = attendants(db, tenant.id, 1, status=None)
    t0 = dt.datetime(2026, 11, 4, 12, 0, tzinfo=dt.UTC)
    history.record_presence(tenant.id, ana.user_id, "online", changed=True, now=t0)
    history.record_presence(tenant.id, ana.user_id, "online", changed=False, now=t0 + dt.timedelta(seconds=30))
    history.record_presence(tenant.id, ana.user_id, "away", changed=True, now=t0 + dt.timedelta(minutes=1))
    history.record_presence(tenant.id, ana.user_id, "offline", changed=True, now=t0 + dt.timedelta(minutes=2))
    rows = db.exec(select(PresenceInterval).where(PresenceInterval.user_id == ana.user_id)
                   .order_by(PresenceInterval.started_at)).all()
    assert [(r.status, r.started_at, r.ended_at) for r in rows] == [
        ("online", t0, t0 + dt.timedelta(minutes=1)),
        ("away", t0 + dt.timedelta(minutes=1), t0 + dt.timedelta(minutes=2))]


def test_a_chart_selection_belongs_to_its_user_and_the_inbox_lists_exactly_it(db, world):
    from crm_app.errors import NotFound
    from crm_app.services.analytics import clickthrough, criteria, figures
    from tests.factories import make_user

    tenant, _ = world
    customer_writes(body="Oi", wa_id="5511911110001")
    customer_writes(body="Oi", wa_id="5511911110002")
    boss, other = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "admin")
    today = criteria.today_for(db, tenant.id)
    report = figures.report(db, actor=boss, filters=criteria.Filters(today, today))
    token = clickthrough.save_selection(db, actor=boss, filters=criteria.Filters(today, today), metric="opened",
                                        day=today.isoformat())
    ids = clickthrough.load_selection(actor=boss, token=token)
    page = inbox.list_conversations(db, actor=boss, tab="mine", conversation_ids=ids)
    assert page.total == len(ids) == report.totals["opened"] == 2
    with pytest.raises(NotFound):
        clickthrough.load_selection(actor=other, token=token)
    # A heatmap cell counts the conversations whose customer wrote then: the click opens exactly those.
    local = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("America/Sao_Paulo"))
    cell = report.heatmap[local.weekday()][local.hour]
    cell_ids = clickthrough.conversation_ids(db, actor=boss, filters=criteria.Filters(today, today), metric="inbound",
                                             weekday=local.weekday(), hour=local.hour)
    assert cell == len(cell_ids) == 2
