"""Handoff and auto-assignment: fairness under concurrency, capacity, least load, presence, the queue, metrics."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import Counter

import pytest
from sqlmodel import select

from crm_app.db import session_scope, utcnow
from crm_app.errors import NotFound, PermissionDenied
from crm_app.models import Conversation, ConversationEvent, Message, Team, TeamMember, Tenant, User
from crm_app.queue import QUEUE_HIGH, get_queue, get_redis
from crm_app.services import inbox
from crm_app.services.channel import outbound
from crm_app.services.core import jobs
from crm_app.services.routing import handoff, presence, queue
from crm_app.services.routing.metrics import bot_metrics
from crm_app.services.routing.queue import pick_least_load, pick_round_robin
from tests.factories import make_user
from tests.support.inbox import (
    Listener,
    customer_writes,
    fresh_tenant,
    no_leftover_jobs,  # noqa: F401  (an autouse fixture)
    quick_conversation,
)


@pytest.fixture
def world(db):
    tenant, box = fresh_tenant(db)
    yield {"tenant": tenant, "inbox": box}
    r = get_redis()
    r.delete(f"crm:presence:{tenant.id}", f"crm:presence:status:{tenant.id}")


def team_of(db, tenant_id: int, users, *, mode: str = "round_robin", name: str | None = None) -> int:
    team = Team(tenant_id=tenant_id, name=name or f"Equipe {uuid.uuid4().hex[:6]}", assignment_mode=mode)
    db.add(team)
    db.flush()
    for actor in users:
        db.add(TeamMember(tenant_id=tenant_id, team_id=team.id, user_id=actor.user_id))
    db.commit()
    return team.id


def attendants(db, tenant_id: int, n: int, *, capacity: int = 10, status: str | None = "online"):
    people = [make_user(db, tenant_id, "attendant") for _ in range(n)]
    for actor in people:
        db.get(User, actor.user_id).capacity = capacity
        if status:
            presence.heartbeat(tenant_id, actor.user_id, status)
    db.commit()
    return people


def bot_conversations(db, inbox_id: int, n: int) -> list[int]:
    """Conversations the bot is handling, whose customer wrote a minute ago (the 24 h window is open)."""
    ids = []
    for _ in range(n):
        c = quick_conversation(db, inbox_id, phone=f"+55119{uuid.uuid4().int % 10**8:08d}", bot_active=True,
                               last_customer_message_at=utcnow() - dt.timedelta(minutes=1))
        ids.append(c.id)
    db.commit()
    return ids


def hand(tenant_id: int, conversation_id: int, team_id: int | None, reason: str = "menu"):
    with session_scope() as session:
        return handoff.handoff(session, tenant_id=tenant_id, conversation_id=conversation_id, team_id=team_id,
                                  reason=reason)


def owners(db, ids: list[int]) -> dict[int, int | None]:
    db.expire_all()
    return {c.id: c.assignee_id for c in db.exec(select(Conversation).where(Conversation.id.in_(ids))).all()}


def bot_texts(db, conversation_id: int) -> list[str]:
    db.expire_all()
    return list(db.exec(select(Message.body).where(Message.conversation_id == conversation_id,
                                                   Message.sender_type == "bot").order_by(Message.id)).all())


# ---- pure pickers ------------------------------------------------------------------------------------------

def test_pickers():
    assert pick_round_robin([7, 3, 5], None) == 3
    assert pick_round_robin([7, 3, 5], 3) == 5
    assert pick_round_robin([7, 3, 5], 7) == 3
    assert pick_round_robin([7, 3], 4) == 7  # the cursor's owner left the pool
    assert pick_round_robin([], 1) is None
    assert pick_least_load([1, 2, 3], {1: 3, 2: 1, 3: 1}) == 2
    assert pick_least_load([], {}) is None


# ---- handoff -----------------------------------------------------------------------------------------------

def test_handoff_silences_the_bot_records_the_reason_and_shows_live(db, world):
    tenant_id = world["tenant"].id
    (ana,) = attendants(db, tenant_id, 1)
    team_id = team_of(db, tenant_id, [ana])
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    listener = Listener(tenant_id)
    try:
        result = hand(tenant_id, cid, team_id, reason="exit_keyword")
        events = listener.events()
    finally:
        listener.close()
    assert (result.assignee_id, result.queue_position) == (ana.user_id, None)
    db.expire_all()
    c = db.get(Conversation, cid)
    assert (c.bot_active, c.handoff_reason, c.team_id, c.assignee_id, c.queued_at) == (
        False, "exit_keyword", team_id, ana.user_id, None)
    assert c.handoff_at is not None
    kinds = [e.kind for e in db.exec(select(ConversationEvent).where(ConversationEvent.conversation_id == cid)
                                     .order_by(ConversationEvent.id)).all()]
    assert kinds == ["bot_handoff", "assignment"]
    lines = db.exec(select(Message.body).where(Message.conversation_id == cid, Message.kind == "system")
                    .order_by(Message.id)).all()
    assert "o cliente pediu um atendente" in lines[0] and "exit_keyword" not in lines[0] and ana.name in lines[1]
    updates = [e for e in events if e["kind"] == "conversation.updated" and e["conversation_id"] == cid]
    assert [e["data"]["action"] for e in updates] == ["handoff", "auto_assign"]
    assert updates[-1]["data"]["assignee_id"] == ana.user_id and updates[-1]["data"]["bot_active"] is False


def test_handoff_refuses_another_tenants_conversation(db, world):
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    with pytest.raises(NotFound):
        hand(world["tenant"].id + 1, cid, None)


def test_round_robin_is_fair_over_100_concurrent_handoffs(db, world):
    tenant_id = world["tenant"].id
    people = attendants(db, tenant_id, 4, capacity=100)
    team_id = team_of(db, tenant_id, people)
    ids = bot_conversations(db, world["inbox"].id, 100)
    errors: list[BaseException] = []

    def worker(chunk: list[int]) -> None:
        try:
            for cid in chunk:
                hand(tenant_id, cid, team_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(ids[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    counts = Counter(owners(db, ids).values())
    assert counts == {p.user_id: 25 for p in people}
    # Consecutive assignments follow the circle: the i-th assignment went to the (i mod 4)-th member.
    order = db.exec(select(ConversationEvent.to_value).where(ConversationEvent.kind == "assignment",
                                                             ConversationEvent.tenant_id == tenant_id)
                    .order_by(ConversationEvent.id)).all()
    members = sorted(p.user_id for p in people)
    assert [int(v) for v in order] == [members[i % 4] for i in range(100)]


def test_capacity_is_respected_and_the_rest_queue_with_their_position(db, world):
    tenant_id = world["tenant"].id
    people = attendants(db, tenant_id, 2, capacity=2)
    team_id = team_of(db, tenant_id, people)
    ids = bot_conversations(db, world["inbox"].id, 6)
    results = [hand(tenant_id, cid, team_id) for cid in ids]
    assert [r.queue_position for r in results] == [None, None, None, None, 1, 2]
    counts = Counter(v for v in owners(db, ids).values() if v is not None)
    assert counts == {p.user_id: 2 for p in people}
    assert bot_texts(db, ids[4]) == ["Você é o 1º da fila. Em breve um atendente vai falar com você."]
    assert bot_texts(db, ids[5]) == ["Você é o 2º da fila. Em breve um atendente vai falar com você."]
    # assigned at once: told who, never a place in the queue
    assert bot_texts(db, ids[0]) == ["Já chamei attendant, que vai te responder em instantes."]
    db.expire_all()
    waiting = db.get(Conversation, ids[5])
    assert waiting.queued_at is not None and waiting.bot_active is False and waiting.assignee_id is None
    assert queue.assign_waiting(tenant_id) == 0  # still nobody free: nothing moves


def test_queue_text_follows_the_tenants_locale(db, world):
    tenant = db.get(Tenant, world["tenant"].id)
    tenant.locale = "en"
    db.add(tenant)
    db.commit()
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    result = hand(tenant.id, cid, None)
    assert result.queue_position == 1
    assert bot_texts(db, cid) == ["You are number 1 in the queue. An agent will talk to you soon."]


def test_least_load_picks_the_least_loaded(db, world):
    tenant_id = world["tenant"].id
    a, b, c = attendants(db, tenant_id, 3)
    team_id = team_of(db, tenant_id, [a, b, c], mode="least_load")
    for person, load in ((a, 3), (b, 1), (c, 2)):
        for _ in range(load):
            quick_conversation(db, world["inbox"].id, phone=f"+55219{uuid.uuid4().int % 10**8:08d}",
                               assignee_id=person.user_id)
    # A closed and a snoozed conversation do not count as load.
    quick_conversation(db, world["inbox"].id, phone="+5521900000001", assignee_id=b.user_id, status="closed")
    quick_conversation(db, world["inbox"].id, phone="+5521900000002", assignee_id=b.user_id, status="snoozed")
    db.commit()
    first, second, third = bot_conversations(db, world["inbox"].id, 3)
    assert hand(tenant_id, first, team_id).assignee_id == b.user_id  # 1 → 2
    assert hand(tenant_id, second, team_id).assignee_id == b.user_id  # b=2, c=2: tie → lowest id (b)
    assert hand(tenant_id, third, team_id).assignee_id == c.user_id  # b=3, c=2


def test_offline_away_and_deactivated_members_are_skipped(db, world):
    tenant_id = world["tenant"].id
    away, offline, inactive, online = attendants(db, tenant_id, 4, status=None)
    presence.heartbeat(tenant_id, away.user_id, "away")
    presence.heartbeat(tenant_id, inactive.user_id, "online")
    presence.heartbeat(tenant_id, online.user_id, "online")
    db.get(User, inactive.user_id).is_active = False
    db.commit()
    team_id = team_of(db, tenant_id, [away, offline, inactive, online])
    ids = bot_conversations(db, world["inbox"].id, 3)
    assert {hand(tenant_id, cid, team_id).assignee_id for cid in ids} == {online.user_id}


def test_no_team_means_every_online_attendant_but_not_supervisors(db, world):
    tenant_id = world["tenant"].id
    boss = make_user(db, tenant_id, "supervisor")
    presence.heartbeat(tenant_id, boss.user_id, "online")
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    assert hand(tenant_id, cid, None).queue_position == 1
    (ana,) = attendants(db, tenant_id, 1)
    assert queue.assign_waiting(tenant_id) == 1
    assert owners(db, [cid]) == {cid: ana.user_id}


def test_a_team_of_another_tenant_is_treated_as_no_team(db, world):
    tenant_id = world["tenant"].id
    other, _ = fresh_tenant(db, webhook_inbox=False)
    foreign = team_of(db, other.id, [])
    (ana,) = attendants(db, tenant_id, 1)
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    assert hand(tenant_id, cid, foreign).assignee_id == ana.user_id
    db.expire_all()
    assert db.get(Conversation, cid).team_id is None


def test_a_human_owner_keeps_the_conversation_and_the_bot_stays_silent(db, world):
    tenant_id = world["tenant"].id
    ana, bia = attendants(db, tenant_id, 2)
    team_id = team_of(db, tenant_id, [ana, bia])
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    with session_scope() as session:
        inbox.take_over(session, actor=bia, conversation_id=cid)
    result = hand(tenant_id, cid, team_id, reason="exit_keyword")
    assert result.assignee_id == bia.user_id
    db.expire_all()
    assert db.get(Conversation, cid).bot_active is False


# ---- the waiting queue ---------------------------------------------------------------------------------------

def queued_jobs() -> list[tuple[str, tuple]]:
    return [(job.func_name, tuple(job.args)) for job in get_queue(QUEUE_HIGH).get_jobs()]


def test_coming_online_queues_a_run_that_assigns_in_queue_order(db, world):
    tenant_id = world["tenant"].id
    (ana,) = attendants(db, tenant_id, 1, capacity=2, status=None)
    team_id = team_of(db, tenant_id, [ana])
    ids = bot_conversations(db, world["inbox"].id, 3)
    assert [hand(tenant_id, cid, team_id).queue_position for cid in ids] == [1, 2, 3]
    get_queue(QUEUE_HIGH).empty()
    presence.heartbeat(tenant_id, ana.user_id, "online")
    assert (jobs.spec("assign_waiting").func, (tenant_id,)) in queued_jobs()
    assert queue.assign_waiting(tenant_id) == 2
    assert owners(db, ids) == {ids[0]: ana.user_id, ids[1]: ana.user_id, ids[2]: None}  # oldest first, cap 2
    assert queue.assign_waiting(tenant_id) == 0  # idempotent


def test_freed_capacity_assigns_the_next_waiting_conversation(db, world):
    tenant_id = world["tenant"].id
    (ana,) = attendants(db, tenant_id, 1, capacity=1)
    team_id = team_of(db, tenant_id, [ana])
    first, second = bot_conversations(db, world["inbox"].id, 2)
    assert hand(tenant_id, first, team_id).assignee_id == ana.user_id
    assert hand(tenant_id, second, team_id).queue_position == 1
    get_queue(QUEUE_HIGH).empty()
    with session_scope() as session:
        inbox.close(session, actor=ana, conversation_id=first)
    assert (jobs.spec("assign_waiting").func, (tenant_id,)) in queued_jobs()
    db.expire_all()
    assert db.get(Conversation, first).resolved_by == "human"
    assert queue.assign_waiting(tenant_id) == 1
    assert owners(db, [second]) == {second: ana.user_id}


def test_transfer_to_a_team_waits_in_its_queue_and_gets_assigned(db, world):
    tenant_id = world["tenant"].id
    ana, bia = attendants(db, tenant_id, 2, capacity=5)
    sales = team_of(db, tenant_id, [bia])
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    hand(tenant_id, cid, team_of(db, tenant_id, [ana]))
    get_queue(QUEUE_HIGH).empty()
    with session_scope() as session:
        inbox.transfer(session, actor=ana, conversation_id=cid, team_id=sales)
    db.expire_all()
    assert db.get(Conversation, cid).queued_at is not None
    assert (jobs.spec("assign_waiting").func, (tenant_id,)) in queued_jobs()
    assert queue.assign_waiting(tenant_id) == 1
    assert owners(db, [cid]) == {cid: bia.user_id}


def test_a_transfer_into_ones_own_team_does_not_come_straight_back(db, world):
    tenant_id = world["tenant"].id
    ana, bia = attendants(db, tenant_id, 2, capacity=5)
    front = team_of(db, tenant_id, [ana, bia])
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    hand(tenant_id, cid, team_of(db, tenant_id, [ana]))
    with session_scope() as session:
        inbox.transfer(session, actor=ana, conversation_id=cid, team_id=front)
    assert queue.assign_waiting(tenant_id) == 1
    assert owners(db, [cid]) == {cid: bia.user_id}  # not back to Ana, who handed it away
    presence.set_offline(tenant_id, bia.user_id)
    (other,) = bot_conversations(db, world["inbox"].id, 1)
    hand(tenant_id, other, team_of(db, tenant_id, [ana]))
    with session_scope() as session:
        inbox.transfer(session, actor=ana, conversation_id=other, team_id=front)
    (behind,) = bot_conversations(db, world["inbox"].id, 1)
    hand(tenant_id, behind, team_of(db, tenant_id, []))  # nobody in that team: it waits...
    with session_scope() as session:
        db_conv = session.get(Conversation, behind)
        db_conv.team_id = front  # ...then moves to the front desk's queue, behind `other`
        session.add(db_conv)
    assert queue.assign_waiting(tenant_id) == 1  # `other` may not go back to Ana; the one behind it may
    db.expire_all()
    assert db.get(Conversation, other).assignee_id is None and db.get(Conversation, other).queued_at is not None
    assert db.get(Conversation, behind).assignee_id == ana.user_id


def test_concurrent_queue_runs_never_exceed_capacity(db, world):
    tenant_id = world["tenant"].id
    people = attendants(db, tenant_id, 3, capacity=3, status=None)
    team_id = team_of(db, tenant_id, people)
    ids = bot_conversations(db, world["inbox"].id, 12)
    for cid in ids:
        hand(tenant_id, cid, team_id)
    for person in people:
        presence.heartbeat(tenant_id, person.user_id, "online")
    totals: list[int] = []
    threads = [threading.Thread(target=lambda: totals.append(queue.assign_waiting(tenant_id)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(totals) == 9
    counts = Counter(v for v in owners(db, ids).values() if v is not None)
    assert counts == {p.user_id: 3 for p in people}
    assert [v for v in owners(db, ids[9:]).values()] == [None, None, None]  # the newest three still wait


# ---- metrics and resolution ------------------------------------------------------------------------------------

def test_closing_without_a_human_counts_as_contained(db, world):
    tenant_id = world["tenant"].id
    boss = make_user(db, tenant_id, "supervisor")
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    with session_scope() as session:
        inbox.close(session, actor=boss, conversation_id=cid)
    db.expire_all()
    assert db.get(Conversation, cid).resolved_by == "bot"


def test_a_reopened_conversation_is_judged_on_its_new_episode(db, world):
    tenant_id = world["tenant"].id
    boss = make_user(db, tenant_id, "supervisor")
    (ana,) = attendants(db, tenant_id, 1)
    customer_writes(body="Oi")
    cid = db.exec(select(Conversation.id).where(Conversation.tenant_id == tenant_id)).one()
    with session_scope() as session:
        inbox.take_over(session, actor=ana, conversation_id=cid)
    with session_scope() as session:
        inbox.close(session, actor=ana, conversation_id=cid)
    db.expire_all()
    assert db.get(Conversation, cid).resolved_by == "human"
    customer_writes(body="Voltei")  # reopens it for the bot
    with session_scope() as session:
        inbox.close(session, actor=boss, conversation_id=cid)
    db.expire_all()
    assert db.get(Conversation, cid).resolved_by == "bot"


def test_bot_metrics(db, world):
    tenant_id = world["tenant"].id
    boss = make_user(db, tenant_id, "supervisor")
    ana, bia = attendants(db, tenant_id, 2, capacity=10)
    team_id = team_of(db, tenant_id, [ana, bia], mode="least_load")
    start = utcnow() - dt.timedelta(hours=1)
    contained = bot_conversations(db, world["inbox"].id, 3)
    for cid in contained:
        with session_scope() as session:
            inbox.close(session, actor=boss, conversation_id=cid)
    handed = bot_conversations(db, world["inbox"].id, 4)
    for cid, reason in zip(handed, ("exit_keyword", "exit_keyword", "retries", "ai_error"), strict=True):
        hand(tenant_id, cid, team_id, reason=reason)
    # Move the handoffs back in time: 10 s, 20 s, 30 s and 40 s before the reply that follows.
    for seconds, cid in zip((10, 20, 30, 40), handed, strict=True):
        c = db.get(Conversation, cid)
        c.handoff_at = utcnow() - dt.timedelta(seconds=seconds)
        db.add(c)
    db.commit()
    db.expire_all()
    for cid in handed[:3]:  # the fourth never gets a reply
        owner = ana if db.get(Conversation, cid).assignee_id == ana.user_id else bia
        with session_scope() as session:
            outbound.send_message(session, actor=owner, conversation_id=cid, content={"type": "text", "body": "Oi"})
    db.expire_all()
    replied = db.get(Conversation, handed[0])
    assert replied.first_reply_at >= replied.handoff_at
    with session_scope() as session:
        owner = ana if db.get(Conversation, handed[0]).assignee_id == ana.user_id else bia
        inbox.close(session, actor=owner, conversation_id=handed[0])
    with session_scope() as session:
        metrics = bot_metrics(session, actor=boss, since=start, until=utcnow() + dt.timedelta(minutes=1))
    assert (metrics.closed_total, metrics.closed_by_bot) == (4, 3)
    assert metrics.containment_rate == pytest.approx(0.75)
    assert metrics.handoffs == 4
    assert metrics.handoff_reasons == {"exit_keyword": 2, "ai_error": 1, "retries": 1}
    assert metrics.replied == 3
    assert metrics.first_reply_median_seconds == pytest.approx(20, abs=3)
    assert metrics.first_reply_p90_seconds == pytest.approx(28, abs=3)
    with session_scope() as session, pytest.raises(PermissionDenied):
        bot_metrics(session, actor=ana, since=start, until=utcnow())


def test_a_reply_from_before_the_handoff_does_not_count(db, world):
    tenant_id = world["tenant"].id
    boss = make_user(db, tenant_id, "supervisor")
    (ana,) = attendants(db, tenant_id, 1)
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    with session_scope() as session:
        inbox.take_over(session, actor=ana, conversation_id=cid)
    with session_scope() as session:
        outbound.send_message(session, actor=ana, conversation_id=cid, content={"type": "text", "body": "Oi"})
    hand(tenant_id, cid, None, reason="menu")  # e.g. the bot got the conversation back, then handed over again
    with session_scope() as session:
        metrics = bot_metrics(session, actor=boss, since=utcnow() - dt.timedelta(hours=1),
                                         until=utcnow() + dt.timedelta(minutes=1))
    assert metrics.handoffs == 1 and metrics.replied == 0 and metrics.first_reply_median_seconds is None
    db.expire_all()
    assert db.get(Conversation, cid).first_reply_at is None  # the reply before the handoff is not "first"


def test_team_is_open(db, world):
    tenant_id = world["tenant"].id
    team_id = team_of(db, tenant_id, [])
    team = db.get(Team, team_id)
    monday_noon_sp = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    with session_scope() as session:
        assert handoff.team_is_open(session, tenant_id=tenant_id, team_id=team_id, now=monday_noon_sp)
        assert handoff.team_is_open(session, tenant_id=tenant_id, team_id=None)
    team.business_hours = {"mon": [["13:00", "18:00"]]}
    db.add(team)
    db.commit()
    with session_scope() as session:
        assert not handoff.team_is_open(session, tenant_id=tenant_id, team_id=team_id, now=monday_noon_sp)
        assert handoff.team_is_open(session, tenant_id=tenant_id, team_id=team_id,
                                       now=monday_noon_sp + dt.timedelta(hours=1))
        assert handoff.team_is_open(session, tenant_id=tenant_id + 1, team_id=team_id, now=monday_noon_sp)
    team.timezone = "UTC"
    db.add(team)
    db.commit()
    with session_scope() as session:  # 15:00 UTC is inside 13–18 in UTC
        assert handoff.team_is_open(session, tenant_id=tenant_id, team_id=team_id, now=monday_noon_sp)


def test_out_of_hours_handoff_tells_the_customer_the_teams_message(db, world):
    tenant_id = world["tenant"].id
    team_id = team_of(db, tenant_id, [])
    team = db.get(Team, team_id)
    team.business_hours = {"sun": [["00:00", "00:01"]]}
    team.out_of_hours_message = "Estamos fechados. Voltamos segunda às 9h."
    db.add(team)
    db.commit()
    (cid,) = bot_conversations(db, world["inbox"].id, 1)
    result = hand(tenant_id, cid, team_id)
    assert result.out_of_hours and result.queue_position == 1
    assert bot_texts(db, cid) == ["Estamos fechados. Voltamos segunda às 9h."]


# ---- the Teams settings service ---------------------------------------------------------------------------------

def test_teams_service_validates_audits_and_checks_tenant_and_role(db, world):
    from crm_app.errors import Conflict, ValidationError
    from crm_app.models import AuditLog
    from crm_app.services.routing import teams

    tenant_id = world["tenant"].id
    admin, boss = make_user(db, tenant_id, "admin"), make_user(db, tenant_id, "supervisor")
    (ana,) = attendants(db, tenant_id, 1, status=None)
    with session_scope() as session:
        front = teams.create_team(session, actor=admin, name="Recepção")
        sales = teams.create_team(session, actor=admin, name="Vendas")
        teams.add_member(session, actor=admin, team_id=front.id, user_id=ana.user_id)
    with session_scope() as session, pytest.raises(Conflict):
        teams.rename_team(session, actor=admin, team_id=sales.id, name="Recepção")
    with session_scope() as session, pytest.raises(PermissionDenied):
        teams.rename_team(session, actor=boss, team_id=sales.id, name="Comercial")
    with session_scope() as session:
        assert teams.rename_team(session, actor=admin, team_id=sales.id, name="Comercial").name == "Comercial"
        assert teams.set_assignment_mode(session, actor=admin, team_id=front.id, mode="least_load") == "least_load"
    for field, kwargs in (("business_hours", {"business_hours": {"mon": [["18:00", "18:00"]]}}),
                          ("holidays", {"holidays": ["31/12/2026"]}),
                          ("timezone", {"timezone": "Mars/Base"}),
                          ("out_of_hours_message", {"out_of_hours_message": "x" * 1001})):
        values = {"business_hours": {}, "holidays": [], "timezone": None, "out_of_hours_message": None, **kwargs}
        with session_scope() as session, pytest.raises(ValidationError) as caught:
            teams.update_schedule(session, actor=admin, team_id=front.id, **values)
        assert caught.value.params["field"] == field
    with session_scope() as session:
        detail = teams.update_schedule(session, actor=admin, team_id=front.id,
                                       business_hours={"tue": [["22:00", "06:00"]], "mon": [["09:00", "18:00"]]},
                                       holidays=["2026-12-25"], timezone="America/Manaus",
                                       out_of_hours_message=" Fechado. ")
    assert detail.business_hours == {"mon": [["09:00", "18:00"]], "tue": [["22:00", "06:00"]]}
    assert (detail.holidays, detail.timezone, detail.out_of_hours_message) == (["2026-12-25"], "America/Manaus",
                                                                               "Fechado.")
    assert [(m.name, m.capacity, m.load) for m in detail.members] == [(ana.name, 10, 0)]
    with session_scope() as session:
        assert [name for _, name in teams.candidates(session, actor=admin, team_id=front.id)] == sorted(
            [admin.name, boss.name])
        assert teams.remove_member(session, actor=admin, team_id=front.id, user_id=ana.user_id)
        teams.delete_team(session, actor=admin, team_id=sales.id)
    other, _ = fresh_tenant(db, webhook_inbox=False)
    stranger = make_user(db, other.id, "admin")
    for call in (lambda s: teams.team_detail(s, actor=stranger, team_id=front.id),
                 lambda s: teams.rename_team(s, actor=stranger, team_id=front.id, name="X"),
                 lambda s: teams.update_schedule(s, actor=stranger, team_id=front.id, business_hours={},
                                                 holidays=[], timezone=None, out_of_hours_message=None),
                 lambda s: teams.delete_team(s, actor=stranger, team_id=front.id)):
        with session_scope() as session, pytest.raises(NotFound):
            call(session)
    db.expire_all()
    actions = db.exec(select(AuditLog.action).where(AuditLog.tenant_id == tenant_id, AuditLog.action.like("team.%"))
                      .order_by(AuditLog.id)).all()
    assert actions == ["team.create", "team.create", "team.add_member", "team.rename", "team.assignment_mode",
                       "team.schedule", "team.remove_member", "team.delete"]


def test_team_is_closed_on_the_tenants_calendar_days(db, world):
    from crm_app import services
    from crm_app.services.settings.calendar import tenant_calendar

    tenant_id = world["tenant"].id
    team_id = team_of(db, tenant_id, [])
    team = db.get(Team, team_id)
    team.business_hours = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    db.add(team)
    db.commit()
    noon_sp = {day: dt.datetime(*day, 15, 0, tzinfo=dt.UTC) for day in ((2026, 4, 3), (2026, 7, 9), (2026, 2, 17),
                                                                        (2026, 1, 26), (2026, 1, 27))}

    def open_on(day) -> bool:
        with session_scope() as session:
            return handoff.team_is_open(session, tenant_id=tenant_id, team_id=team_id, now=noon_sp[day])

    # Good Friday is national; 9 July is São Paulo's; Carnival Tuesday is optional; 26 January is the town's.
    assert not open_on((2026, 4, 3)) and open_on((2026, 7, 9)) and open_on((2026, 2, 17)) and open_on((2026, 1, 26))
    admin = make_user(db, tenant_id, "admin")
    with session_scope() as session:
        services.settings.update(session, actor=admin, tenant_id=tenant_id, changes={
            "system.calendar_state": "SP", "system.calendar_optional_closed": True,
            "system.calendar_municipal_days": ["01-26 Dia da cidade"]})
    assert not open_on((2026, 7, 9)) and not open_on((2026, 2, 17)) and not open_on((2026, 1, 26))
    assert open_on((2026, 1, 27))
    assert tenant_calendar(tenant_id + 1).state is None  # another tenant keeps the national calendar only
    from crm_app.errors import ValidationError

    with session_scope() as session, pytest.raises(ValidationError) as caught:
        services.settings.update(session, actor=admin, tenant_id=tenant_id,
                                 changes={"system.calendar_municipal_days": ["26/01 Dia da cidade"]})
    assert "26/01" in str(caught.value.params)
