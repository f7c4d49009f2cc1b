"""A seeded month: stored rollups equal the raw figures, and percentiles equal those computed from the facts."""

from __future__ import annotations

import datetime as dt
import random

from sqlmodel import select

from crm_app.domain import analytics as rules
from crm_app.models import ConversationFact, Message, PresenceInterval, Team, TeamMember, Tenant
from crm_app.services.analytics import breakdowns, criteria, figures, rollups, timings
from crm_app.services.conversations import facts
from tests.factories import make_conversation, make_inbox, make_tenant, make_user

HOURS = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}


def _seed(db, n: int = 60):
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = "America/Sao_Paulo"
    box = make_inbox(db, tenant.id)
    team = Team(tenant_id=tenant.id, name="Vendas", business_hours=HOURS)
    db.add(team)
    db.commit()
    people = [make_user(db, tenant.id, "attendant") for _ in range(3)]
    db.add(TeamMember(tenant_id=tenant.id, team_id=team.id, user_id=people[0].user_id))
    for day in range(1, 29):
        began = dt.datetime(2026, 9, day, 11, 30, tzinfo=dt.UTC)
        for who in people[:2]:
            db.add(PresenceInterval(tenant_id=tenant.id, user_id=who.user_id, status="online", started_at=began,
                                    last_seen_at=began + dt.timedelta(hours=8), ended_at=began + dt.timedelta(hours=8)))
    rnd = random.Random(20)
    start = dt.datetime(2026, 9, 1, 3, 0, tzinfo=dt.UTC)
    for i in range(n):
        at = start + dt.timedelta(minutes=rnd.randrange(0, 29 * 24 * 60))
        c = make_conversation(db, box.id, wa_id=f"55119{i:08d}")
        c.created_at = at
        who = rnd.choice(people).user_id
        facts.note(db, c, "customer", at=at)
        facts.note(db, c, "bot", at=at + dt.timedelta(seconds=5))
        db.add(Message(tenant_id=tenant.id, conversation_id=c.id, direction="inbound", sender_type="customer",
                       kind="text", body="oi", status="received", created_at=at))
        if rnd.random() < 0.3:
            facts.note(db, c, "close", at=at + dt.timedelta(minutes=rnd.randrange(1, 30)), by="bot")
            continue
        at += dt.timedelta(minutes=rnd.randrange(1, 20))
        facts.note(db, c, "handoff", at=at, team_id=team.id, reason=rnd.choice(["menu", "exit_keyword"]))
        at += dt.timedelta(minutes=rnd.randrange(0, 240))
        facts.note(db, c, "assign", at=at, user_id=who)
        if rnd.random() < 0.8:
            at += dt.timedelta(minutes=rnd.randrange(0, 600))
            facts.note(db, c, "human", at=at, user_id=who)
        facts.note(db, c, "close", at=at + dt.timedelta(hours=rnd.randrange(0, 72)), by="human")
    db.commit()
    return tenant


def people_of(db, tenant_id: int) -> int:
    from crm_app.models import User

    return db.exec(select(User.id).where(User.tenant_id == tenant_id, User.role == "attendant")).first()


def raw_team(db, tenant_id: int) -> int:
    return db.exec(select(Team.id).where(Team.tenant_id == tenant_id)).one()


def test_rollups_and_percentiles_equal_raw_for_a_seeded_month(db):
    tenant = _seed(db)
    boss = make_user(db, tenant.id, "admin")
    filters = criteria.Filters(dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    raw = figures.report(db, actor=boss, filters=filters, now=dt.datetime(2026, 9, 1, 4, tzinfo=dt.UTC))
    rollups.rebuild(db, tenant.id, dt.date(2026, 8, 25), dt.date(2026, 10, 10))
    db.commit()
    rolled = figures.report(db, actor=boss, filters=filters, now=dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    assert rolled.days == raw.days and rolled.totals == raw.totals and raw.totals["opened"] > 0
    assert rolled.heatmap == raw.heatmap and sum(map(sum, raw.heatmap)) == raw.totals["messages_in"] > 0  # one each
    assert rolled.staffing == raw.staffing and any(h["online"] for h in raw.staffing)
    for by in ("attendant", "team", "inbox"):
        before, after = dt.datetime(2026, 9, 1, 4, tzinfo=dt.UTC), dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
        old = breakdowns.breakdown(db, actor=boss, filters=filters, by=by, now=before)
        new = breakdowns.breakdown(db, actor=boss, filters=filters, by=by, now=after)
        assert old == new and old, by
    team = criteria.Filters(filters.since, filters.until, team_id=raw_team(db, tenant.id))
    raw_t = figures.report(db, actor=boss, filters=team, now=dt.datetime(2026, 9, 1, 4, tzinfo=dt.UTC))
    rolled_t = figures.report(db, actor=boss, filters=team, now=dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    assert raw_t.staffing == rolled_t.staffing and raw_t.heatmap == rolled_t.heatmap and raw_t.days == rolled_t.days
    rows = db.exec(select(ConversationFact).where(ConversationFact.tenant_id == tenant.id)).all()
    start, end = rollups.day_bounds("America/Sao_Paulo", filters.since, filters.until)
    frt = [f.frt_seconds for f in rows if f.first_human_at and start <= f.first_human_at < end]
    resolution = [f.resolution_business_seconds for f in rows if f.closed_at and start <= f.closed_at < end]
    assert rolled.durations["frt"].count == len(frt) == raw.totals["frt_count"]
    assert abs(rolled.durations["frt"].median - rules.percentile(frt, 0.5)) < 1e-6
    assert abs(rolled.durations["frt"].p90 - rules.percentile(frt, 0.9)) < 1e-6
    assert abs(rolled.durations["resolution"].business_p90 - rules.percentile(resolution, 0.9)) < 1e-6
    assert sum(b["count"] for b in breakdowns.frt_buckets(db, actor=boss, filters=filters)) == len(frt)
    scope, tz = criteria.scope_for(db, boss), "America/Sao_Paulo"
    for narrowed in (filters, criteria.Filters(filters.since, filters.until, attendant_id=people_of(db, tenant.id))):
        together = timings.all_durations(db, tenant.id, tz, narrowed, scope)
        assert together == {m: timings.duration(db, tenant.id, tz, narrowed, scope, m) for m in timings.DURATIONS}


def test_the_rebuild_rollups_command(db, capsys):
    from crm_app import cli

    tenant = _seed(db, n=10)
    assert cli.main(["rebuild-rollups", "--tenant", tenant.slug, "--since", "2026-09-01", "--until",
                     "2026-09-30"]) == 0
    assert "Rebuilt the analytics rollups" in capsys.readouterr().out
    assert cli.main(["rebuild-rollups", "--tenant", tenant.slug, "--since", "yesterday"]) == 2
    assert cli.main(["rebuild-rollups", "--tenant", "nobody-here", "--since", "2026-09-01"]) == 2


def _label_a_third(db, tenant_id: int):
    from crm_app.models import Conversation, ConversationLabel, Label

    label = Label(tenant_id=tenant_id, name="VIP", color="teal")
    db.add(label)
    db.flush()
    ids = db.exec(select(Conversation.id).where(Conversation.tenant_id == tenant_id).order_by(Conversation.id)).all()
    db.add_all(ConversationLabel(tenant_id=tenant_id, conversation_id=c, label_id=label.id) for c in ids[::3])
    db.commit()
    return label, ids


def test_a_label_filter_reads_the_per_label_rollups_which_equal_raw(db):
    tenant = _seed(db)
    label, _ = _label_a_third(db, tenant.id)
    boss = make_user(db, tenant.id, "admin")
    early, late = dt.datetime(2026, 9, 1, 4, tzinfo=dt.UTC), dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    labelled = criteria.Filters(dt.date(2026, 9, 1), dt.date(2026, 9, 30), label_id=label.id)
    raw = figures.report(db, actor=boss, filters=labelled, now=early, demand=False)
    everyone = figures.report(db, actor=boss, filters=criteria.Filters(labelled.since, labelled.until), now=early)
    assert 0 < raw.totals["opened"] < everyone.totals["opened"]
    # Before the rebuild nothing is stored: the days before today are not read raw any more.
    assert figures.report(db, actor=boss, filters=labelled, now=late, demand=False).totals["opened"] == 0
    rollups.rebuild(db, tenant.id, dt.date(2026, 8, 25), dt.date(2026, 10, 10))
    db.commit()
    rolled = figures.report(db, actor=boss, filters=labelled, now=late, demand=False)
    assert rolled.days == raw.days and rolled.totals == raw.totals and rolled.durations == raw.durations
    for by in ("attendant", "team", "inbox"):
        old = breakdowns.breakdown(db, actor=boss, filters=labelled, by=by, now=early)
        new = breakdowns.breakdown(db, actor=boss, filters=labelled, by=by, now=late)
        assert old == new and old, by
    # The page's heatmap and staffing have no per-label rollups: with them, every day is still read raw.
    page = figures.report(db, actor=boss, filters=labelled, now=late)
    assert page.totals == raw.totals and sum(map(sum, page.heatmap)) > 0


def test_a_label_put_on_later_restates_the_conversations_stored_days(db):
    from crm_app.services.conversations import labels
    from tests.support.whatsapp import run_burst_worker

    tenant = _seed(db, n=12)
    label, ids = _label_a_third(db, tenant.id)
    assert run_burst_worker("default").returncode == 0  # what the dataset's handoffs queued
    rollups.rebuild(db, tenant.id, dt.date(2026, 8, 25), dt.date(2026, 10, 10))
    db.commit()
    boss = make_user(db, tenant.id, "admin")
    labelled = criteria.Filters(dt.date(2026, 9, 1), dt.date(2026, 9, 30), label_id=label.id)
    late = dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    before = figures.report(db, actor=boss, filters=labelled, now=late, demand=False).totals["opened"]
    labels.add_label(db, actor=boss, conversation_id=ids[1], name="vip")
    db.commit()
    result = run_burst_worker("default")
    assert result.returncode == 0, result.stderr[-2000:]
    db.expire_all()
    after = figures.report(db, actor=boss, filters=labelled, now=late, demand=False)
    raw = figures.report(db, actor=boss, filters=labelled, now=dt.datetime(2026, 9, 1, 4, tzinfo=dt.UTC),
                         demand=False)
    assert after.totals == raw.totals and after.totals["opened"] == before + 1
