"""SLA clocks on real conversations: the milestones kept as they happen, the clocks stored, the next deadline on the
conversation, warnings and escalation steps each exactly once (a worker killed between them included), and a sweep
that reads only what is due among 10,000 open conversations. Real PostgreSQL, Redis and RQ workers."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlmodel import select

from crm_app.db import get_engine, utcnow
from crm_app.models import (
    AuditLog,
    Conversation,
    ConversationEvent,
    ConversationSla,
    Email,
    Message,
    SlaAction,
    SlaClock,
    Team,
    TeamMember,
)
from crm_app.services import sla
from crm_app.services.conversations import facts
from crm_app.services.sla import tracking
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.support.waiting import wait_for
from tests.support.webhooks import stop_worker_group
from tests.support.whatsapp import run_burst_worker, worker_argv

MIN = dt.timedelta(minutes=1)


@pytest.fixture
def shop(db):
    """A tenant with a team (Ana attends, Sofia supervises) and a wall-clock policy: first response 5 min, next
    response 10, resolution 60; a warning 2 min ahead; at the breach the supervisor, 5 min later back to the queue,
    10 min later a higher priority."""
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    ana = make_user(db, tenant.id, "attendant")
    sofia = make_user(db, tenant.id, "supervisor")
    team = Team(tenant_id=tenant.id, name="Vendas")
    db.add(team)
    db.flush()
    db.add_all([TeamMember(tenant_id=tenant.id, team_id=team.id, user_id=u.user_id) for u in (ana, sofia)])
    db.commit()
    sla.create_policy(db, actor=admin, name="Padrão", is_default=True, first_response_minutes=5,
                      next_response_minutes=10, resolution_minutes=60, business_hours_only=False,
                      warn_before_minutes=2, escalation=[{"action": "notify_supervisor", "after_minutes": 0},
                                                         {"action": "reassign_team", "after_minutes": 5},
                                                         {"action": "raise_priority", "after_minutes": 10}])
    db.commit()
    inbox = make_inbox(db, tenant.id)
    return tenant, team, ana, sofia, inbox


def _handed_over(db, shop, at: dt.datetime, wa_id: str = "5511981234567") -> Conversation:
    """A conversation the bot handed to the team at `at` and Ana took; the milestones as the services note them."""
    tenant, team, ana, _, inbox = shop
    conversation = make_conversation(db, inbox.id, wa_id)
    conversation.team_id, conversation.assignee_id, conversation.bot_active = team.id, ana.user_id, False
    db.add(conversation)
    facts.note(db, conversation, "customer", at=at - MIN)
    facts.note(db, conversation, "bot", at=at - MIN)
    facts.note(db, conversation, "handoff", at=at, team_id=team.id, reason="menu")
    facts.note(db, conversation, "assign", at=at, user_id=ana.user_id)
    db.commit()
    return conversation


def _emails(db, tenant_id: int) -> list[tuple[str, str]]:
    db.expire_all()
    return [(e.recipient, e.subject) for e in db.exec(select(Email).where(Email.tenant_id == tenant_id)
                                                      .order_by(Email.id))]


def _actions(db, conversation_id: int) -> list[str]:
    db.expire_all()
    return [a.key.split(":")[0] + (f":{a.action}" if a.action else "")
            for a in db.exec(select(SlaAction).where(SlaAction.conversation_id == conversation_id,
                                                     SlaAction.kind != "missed").order_by(SlaAction.id))]


def test_the_clocks_the_deadline_and_each_action_once_as_time_passes(db, shop):
    tenant, team, ana, sofia, _ = shop
    start = utcnow().replace(microsecond=0) - dt.timedelta(hours=1)
    conversation = _handed_over(db, shop, start)
    row = db.get(ConversationSla, conversation.id)
    assert [kind for _, kind, _ in row.events] == ["customer", "bot", "handoff", "assign"]

    assert tracking.evaluate(conversation.id, start + MIN) == "ok"  # nothing due yet
    db.expire_all()
    shown = db.get(Conversation, conversation.id)
    assert (shown.sla_started_at, shown.sla_due_at) == (start, start + 5 * MIN)
    assert _actions(db, conversation.id) == [] and db.get(ConversationSla, conversation.id).wake_at == start + 3 * MIN

    for _ in range(2):  # the warning falls due 2 min ahead; a second run does nothing more
        tracking.evaluate(conversation.id, start + 3 * MIN)
    assert _actions(db, conversation.id) == ["warn"]
    assert [r for r, _ in _emails(db, tenant.id)] == [ana.email, sofia.email]  # the assignee and the team's supervisor

    for _ in range(2):  # missed: the supervisor hears of it once
        tracking.evaluate(conversation.id, start + 6 * MIN)
    assert _actions(db, conversation.id) == ["warn", "escalate:notify_supervisor"]
    assert [r for r, _ in _emails(db, tenant.id)] == [ana.email, sofia.email, sofia.email]
    clock = db.exec(select(SlaClock).where(SlaClock.conversation_id == conversation.id,
                                           SlaClock.target == "first_response")).one()
    assert (clock.status, clock.due_at, clock.done_at, clock.assignee_id) == ("missed", start + 5 * MIN, None,
                                                                              ana.user_id)
    assert db.get(Conversation, conversation.id).sla_due_at == start + 5 * MIN  # still waiting: the chip is red

    tracking.evaluate(conversation.id, start + 11 * MIN)  # 5 min after the breach: back to the team's queue
    db.expire_all()
    assert db.get(Conversation, conversation.id).assignee_id is None
    tracking.evaluate(conversation.id, start + 16 * MIN)  # 10 min after: a higher priority
    tracking.evaluate(conversation.id, start + 17 * MIN)
    db.expire_all()
    assert db.get(Conversation, conversation.id).priority == 1
    assert _actions(db, conversation.id) == ["warn", "escalate:notify_supervisor", "escalate:reassign_team",
                                             "escalate:raise_priority"]
    lines = db.exec(select(Message.payload).where(Message.conversation_id == conversation.id)
                    .order_by(Message.id)).all()
    assert [p["system"]["key"] for p in lines] == ["inbox.system.sla_warning", "inbox.system.sla_supervisor",
                                                   "inbox.system.sla_reassigned", "inbox.system.priority_sla"]
    audited = db.exec(select(AuditLog.action).where(AuditLog.target_type == "conversation",
                                                    AuditLog.target_id == str(conversation.id))).all()
    assert sorted(audited) == ["conversation.priority", "conversation.sla", "conversation.sla", "conversation.sla"]
    events = db.exec(select(ConversationEvent.kind).where(ConversationEvent.conversation_id == conversation.id)).all()
    assert sorted(events) == ["assignment", "priority", "sla", "sla"]

    # A person answers: the first response is done (late), resolution and next response clocks run on.
    facts.note(db, db.get(Conversation, conversation.id), "human", at=start + 20 * MIN, user_id=sofia.user_id)
    db.commit()
    tracking.evaluate(conversation.id, start + 21 * MIN)
    db.expire_all()
    first = db.exec(select(SlaClock).where(SlaClock.conversation_id == conversation.id,
                                           SlaClock.target == "first_response")).one()
    assert (first.status, first.done_at) == ("missed", start + 20 * MIN)
    resolution = db.exec(select(SlaClock).where(SlaClock.conversation_id == conversation.id,
                                                SlaClock.target == "resolution")).one()
    assert resolution.status == "active"
    shown = db.get(Conversation, conversation.id)
    # The customer has the word now: resolution pauses, no response is owed, so no deadline runs.
    assert shown.sla_due_at is None and db.get(ConversationSla, conversation.id).wake_at is None


def test_a_tenant_without_policies_keeps_no_rows_and_a_policy_later_applies_from_the_next_milestone(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    inbox = make_inbox(db, tenant.id)
    conversation = make_conversation(db, inbox.id)
    facts.note(db, conversation, "customer")
    db.commit()
    assert db.get(ConversationSla, conversation.id) is None
    sla.create_policy(db, actor=admin, name="Padrão", is_default=True, first_response_minutes=30,
                      business_hours_only=False)
    db.commit()
    db.expire_all()
    facts.note(db, db.get(Conversation, conversation.id), "handoff", reason="menu")
    db.commit()
    assert tracking.evaluate(conversation.id) == "ok"
    db.expire_all()
    assert db.get(Conversation, conversation.id).sla_due_at is not None


def test_a_milestone_queues_the_evaluation_and_a_real_worker_shows_the_deadline(db, shop):
    start = utcnow().replace(microsecond=0)
    conversation = _handed_over(db, shop, start)
    assert db.get(Conversation, conversation.id).sla_due_at is None
    assert run_burst_worker("default").returncode == 0
    db.expire_all()
    assert db.get(Conversation, conversation.id).sla_due_at == start + 5 * MIN


def test_a_worker_killed_between_the_warning_and_the_escalation_does_each_once(db, shop):
    """The warning is done; the escalation's run is killed while it waits to record its step (its e-mail and line
    already written in its transaction); the next run does the step once, and the warning is not repeated."""
    tenant, _, ana, sofia, _ = shop
    start = utcnow().replace(microsecond=0) - 10 * MIN
    conversation = _handed_over(db, shop, start)
    tracking.evaluate(conversation.id, start + 3 * MIN + dt.timedelta(seconds=30))  # the warning only
    assert _actions(db, conversation.id) == ["warn"]

    engine = get_engine()
    with engine.connect() as holder:
        holder.execute(sa.text("LOCK TABLE sla_actions IN EXCLUSIVE MODE"))  # inserts wait; reads go on
        worker = subprocess.Popen(
            [*worker_argv("default")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as probe:  # fresh stats
                waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                  "AND query ILIKE 'INSERT INTO sla_actions%'")
                wait_for(lambda: probe.execute(waiting).scalar(), timeout=60)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        holder.rollback()
    assert _actions(db, conversation.id) == ["warn"]
    assert [r for r, _ in _emails(db, tenant.id)] == [ana.email, sofia.email]  # the killed run's was never committed

    tracking.sweep(utcnow() + dt.timedelta(seconds=1))  # the row stayed due: the sweep catches up
    tracking.sweep(utcnow() + dt.timedelta(seconds=1))
    assert _actions(db, conversation.id) == ["warn", "escalate:notify_supervisor", "escalate:reassign_team"]
    assert [r for r, _ in _emails(db, tenant.id)] == [ana.email, sofia.email, sofia.email]
    keys = db.exec(select(Message.payload).where(Message.conversation_id == conversation.id)
                   .order_by(Message.id)).all()
    assert [p["system"]["key"] for p in keys] == ["inbox.system.sla_warning", "inbox.system.sla_supervisor",
                                                  "inbox.system.sla_reassigned"]


def test_the_sweep_reads_only_what_is_due_among_ten_thousand_open_conversations(db, shop):
    tenant, team, ana, _, inbox = shop
    start = utcnow().replace(microsecond=0) - 10 * MIN
    due = _handed_over(db, shop, start)
    later = utcnow() + dt.timedelta(hours=1)
    contact_id, link_id = due.contact_id, due.contact_inbox_id
    with get_engine().begin() as conn:
        ids = conn.execute(sa.insert(Conversation.__table__).returning(Conversation.__table__.c.id), [
            {"tenant_id": tenant.id, "inbox_id": inbox.id, "contact_id": contact_id, "contact_inbox_id": link_id,
             "status": "open", "bot_active": False, "unread_count": 0, "priority": 0, "team_id": team.id,
             "created_at": start} for _ in range(10_000)]).scalars().all()
        conn.execute(sa.insert(ConversationSla.__table__), [
            {"conversation_id": i, "tenant_id": tenant.id, "events": [[start.isoformat(), "handoff", None]],
             "wake_at": later} for i in ids])
        conn.execute(sa.text("ANALYZE conversation_sla"))
    with get_engine().connect() as conn:
        plan = "\n".join(conn.execute(sa.text(
            "EXPLAIN SELECT conversation_id FROM conversation_sla WHERE wake_at IS NOT NULL AND wake_at <= now() "
            "ORDER BY wake_at LIMIT 500")).scalars())
    assert "ix_conversation_sla_wake" in plan
    assert tracking.sweep() == 1
    done = _actions(db, due.id)  # found after its breach: no warning any more, the escalation from its first step
    assert done[0] == "escalate:notify_supervisor" and "warn" not in done
    assert db.exec(select(sa.func.count()).select_from(SlaClock)).one() == 2  # the due one's two clocks only


def test_business_hours_of_the_team_and_a_national_holiday_move_the_deadline(db, shop):
    """Vendas works 09:00-12:00 and 13:00-18:00 in São Paulo. A handoff on Friday 2026-11-13 at 17:55 with a
    business-hours policy of 10 minutes is due on Monday the 16th at 09:05; on Thursday the 19th at 17:55 it is due
    on Monday the 23rd at 09:05, Friday the 20th (Consciência Negra, a national holiday) skipped whole."""
    tenant, team, ana, _, inbox = shop
    team.business_hours = {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    team.timezone = "America/Sao_Paulo"
    db.add(team)
    db.commit()
    admin = make_user(db, tenant.id, "admin")
    policy = sla.list_policies(db, actor=admin)[0]
    sla.update_policy(db, actor=admin, policy_id=policy.id, business_hours_only=True, first_response_minutes=10)
    db.commit()
    zone = dt.timezone(dt.timedelta(hours=-3))
    for number, (handed, due) in enumerate((
            (dt.datetime(2026, 11, 13, 17, 55, tzinfo=zone), dt.datetime(2026, 11, 16, 9, 5, tzinfo=zone)),
            (dt.datetime(2026, 11, 19, 17, 55, tzinfo=zone), dt.datetime(2026, 11, 23, 9, 5, tzinfo=zone)))):
        conversation = _handed_over(db, shop, handed, f"551198123456{number}")
        tracking.evaluate(conversation.id, handed + MIN)
        db.expire_all()
        assert db.get(Conversation, conversation.id).sla_due_at == due, handed


def test_with_the_real_scheduler_a_deadline_among_ten_thousand_is_acted_on_within_30_seconds(db, shop, tmp_path):
    """The periodic sweep as production runs it (the scheduler daemon and a `default` worker): a breach that falls
    due 15 s from now, among 10,000 open conversations waiting on later deadlines, is escalated within 30 s of it."""
    tenant, team, _, sofia, inbox = shop
    start = utcnow().replace(microsecond=0) - 5 * MIN + dt.timedelta(seconds=15)
    due = _handed_over(db, shop, start)
    later = utcnow() + dt.timedelta(hours=1)
    with get_engine().begin() as conn:
        ids = conn.execute(sa.insert(Conversation.__table__).returning(Conversation.__table__.c.id), [
            {"tenant_id": tenant.id, "inbox_id": inbox.id, "contact_id": due.contact_id,
             "contact_inbox_id": due.contact_inbox_id, "status": "open", "bot_active": False, "unread_count": 0,
             "priority": 0, "team_id": team.id, "created_at": start} for _ in range(10_000)]).scalars().all()
        conn.execute(sa.insert(ConversationSla.__table__), [
            {"conversation_id": i, "tenant_id": tenant.id, "events": [[start.isoformat(), "handoff", None]],
             "wake_at": later} for i in ids])
    # Every periodic job runs once at the scheduler's start; their files (the audit chains' anchors) go to a
    # directory of this test's own, or a later test's tenant 1 would be checked against this one's anchor.
    env = dict(os.environ, DATA_DIR=str(tmp_path))
    processes = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
                 for argv in ([sys.executable, "-m", "workers.scheduler"], [*worker_argv("default")])]
    try:
        escalated = wait_for(lambda: db.exec(select(SlaAction).where(
            SlaAction.conversation_id == due.id, SlaAction.action == "notify_supervisor")).first(), timeout=90,
            interval=0.5)
    finally:
        for process in processes:
            stop_worker_group(process)
    deadline = start + 5 * MIN
    assert dt.timedelta(0) <= escalated.done_at - deadline <= dt.timedelta(seconds=30)
    assert [r for r, _ in _emails(db, tenant.id)][-1] == sofia.email


def test_a_clock_the_milestones_no_longer_make_is_removed(db, shop):
    """The customer writes (no bot yet: the first response clock starts there), then the bot answers (the clock
    waits for the handoff instead), then the handoff starts it: one first-response row, from the handoff."""
    tenant, team, *_, inbox = shop
    start = utcnow().replace(microsecond=0) - 10 * MIN
    conversation = make_conversation(db, inbox.id)
    facts.note(db, conversation, "customer", at=start)
    db.commit()
    tracking.evaluate(conversation.id, start + MIN)
    first = select(SlaClock.started_at).where(SlaClock.conversation_id == conversation.id,
                                              SlaClock.target == "first_response")
    assert db.exec(first).all() == [start]
    facts.note(db, conversation, "bot", at=start + MIN)
    facts.note(db, conversation, "handoff", at=start + 2 * MIN, team_id=team.id, reason="menu")
    db.commit()
    tracking.evaluate(conversation.id, start + 3 * MIN)
    db.expire_all()
    assert db.exec(first).all() == [start + 2 * MIN]
