"""The laptop run (embedded SQLite, no PostgreSQL): the analytics figures by hand on both dialects.

SQLite keeps no rollups (every day is read raw), cuts local days and hours with two Python functions each
connection gets, and computes medians and p90s in Python from the facts' rows; the figures must equal
PostgreSQL's, and the golden datasets' hand-computed values hold on both. Only `rebuild` (stored rollups) still
refuses SQLite, with the 503 `analytics_needs_postgresql`.
"""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlmodel import Session

from crm_app.db import make_engine
from crm_app.domain.inbox import Period
from crm_app.migrations import alembic_config
from crm_app.models import Message, Tenant
from crm_app.services import inbox
from crm_app.services.analytics import breakdowns, busy, clickthrough, criteria, dashboard, figures, rollups, timeline
from crm_app.services.conversations import facts
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.services.analytics.test_busy_share import seed_day, utc
from tests.services.analytics.test_golden import seed_sao_paulo, seed_utc

SP = dt.timezone(dt.timedelta(hours=-3))


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('laptop') / 'crm.db'}"
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db(request, sqlite_url):
    if request.param == "postgresql":
        yield request.getfixturevalue("db")
        return
    engine = make_engine(sqlite_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()
    engine.dispose()


def test_the_inbox_period_filter_cuts_sao_paulo_days_on_both_dialects(any_db):
    db = any_db
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = "America/Sao_Paulo"
    box = make_inbox(db, tenant.id)
    boss = make_user(db, tenant.id, "executive")
    # 23:30 Wednesday local is 02:30 Thursday UTC; 00:30 Thursday local is 03:30 Thursday UTC.
    for wa_id, at in (("5511900000301", dt.datetime(2026, 11, 4, 23, 30, tzinfo=SP)),
                      ("5511900000302", dt.datetime(2026, 11, 5, 0, 30, tzinfo=SP))):
        c = make_conversation(db, box.id, wa_id=wa_id)
        c.created_at = at  # a conversation's first cycle opens when it was created
        db.add(Message(tenant_id=c.tenant_id, conversation_id=c.id, direction="inbound", sender_type="customer",
                       kind="text", body="Oi", status="received", created_at=at))
        facts.note(db, c, "customer", at=at)
    db.commit()
    wednesday, thursday = dt.date(2026, 11, 4), dt.date(2026, 11, 5)
    count = [inbox.list_conversations(db, actor=boss, tab="all", period=Period(d, d, "opened")).total
             for d in (wednesday, thursday)]
    assert count == [1, 1]
    cell = Period(wednesday, thursday, "inbound", weekday=2, hour=23)
    assert inbox.list_conversations(db, actor=boss, tab="all", period=cell).total == 1


def test_busy_share_on_both_dialects(any_db):
    tenant, ana, bruno, carla = seed_day(any_db)
    start, end = rollups.day_bounds("UTC", dt.date(2026, 11, 4), dt.date(2026, 11, 4))
    got = busy.busy_shares(any_db, tenant.id, [ana.user_id, bruno.user_id, carla.user_id], start, end,
                              now=utc(4, 18))
    assert got == {ana.user_id: 0.375, bruno.user_id: 0.5, carla.user_id: None}


def test_golden_figures_by_hand_on_both_dialects(any_db):
    db = any_db
    tenant, one, two, ana, bruno, first, second = seed_utc(db)
    boss = make_user(db, tenant.id, "executive")
    filters = criteria.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 5))
    got = figures.report(db, actor=boss, filters=filters, now=utc(4, 0, 1))
    t = got.totals
    # Opened and closed count a conversation once per day: "one" opened and closed twice on the 4th counts once.
    assert (t["opened"], t["closed"], t["contained"], t["unanswered"], t["handoffs"], t["windows_missed"]) == (
        2, 2, 1, 1, 2, 1)
    assert (t["frt_count"], t["frt_sum"], t["resolution_count"], t["resolution_sum"]) == (1, 600, 3, 92520)
    d = got.durations
    assert (d["resolution"].median, d["resolution"].p90, d["resolution"].avg) == (1800, 72840, 30840)
    assert d["resolution"].business_p90 == 1800 + 0.8 * 27600
    assert (d["next_response"].count, d["next_response"].median) == (1, 480)
    assert (d["bot"].count, d["bot"].median, d["queue"].median) == (3, 120, 120)
    assert [b["count"] for b in breakdowns.frt_buckets(db, actor=boss, filters=filters)] == [0, 0, 1, 0, 0, 0]
    assert breakdowns.handoff_reasons(db, actor=boss, filters=filters) == [{"reason": "menu", "count": 2}]
    rows = {r.id: r for r in breakdowns.breakdown(db, actor=boss, filters=filters, by="attendant", now=utc(4, 0, 1))}
    assert (rows[bruno.user_id].handled, rows[bruno.user_id].frt.median) == (1, 600)
    # Scopes: a supervisor of no team sees nothing; the second team's supervisor that team only.
    from crm_app.models import TeamMember

    lead = make_user(db, tenant.id, "supervisor")
    assert figures.report(db, actor=lead, filters=filters, now=utc(4, 0, 1)).totals["closed"] == 0
    db.add(TeamMember(tenant_id=tenant.id, team_id=second.id, user_id=lead.user_id))
    db.commit()
    seen = figures.report(db, actor=lead, filters=filters, now=utc(4, 0, 1))
    assert (seen.totals["closed"], seen.durations["frt"].count) == (1, 1)
    events = timeline.timeline(db, actor=boss, user_id=bruno.user_id, day=dt.date(2026, 11, 4))
    assert [(e.kind, e.at.strftime("%H:%M")) for e in events] == [("first_response", "12:11"), ("close", "12:30")]


def test_sao_paulo_days_and_the_dashboard_on_both_dialects(any_db):
    db = any_db
    tenant, c, ana = seed_sao_paulo(db)
    db.add(Message(tenant_id=c.tenant_id, conversation_id=c.id, direction="inbound", sender_type="customer",
                   kind="text", body="Oi", status="received", created_at=dt.datetime(2026, 10, 30, 17, 50, tzinfo=SP)))
    db.commit()
    boss = make_user(db, tenant.id, "admin")
    filters = criteria.Filters(dt.date(2026, 10, 30), dt.date(2026, 11, 4))
    got = figures.report(db, actor=boss, filters=filters, now=dt.datetime(2026, 10, 30, 3, 1, tzinfo=dt.UTC))
    by_day = {d["day"]: d for d in got.days}
    assert by_day["2026-10-30"]["opened"] == 1 and by_day["2026-10-31"]["windows_missed"] == 1
    assert by_day["2026-11-03"]["frt_count"] == 1 and by_day["2026-11-04"]["closed"] == 1
    assert got.durations["frt"].business_median == 900 and got.durations["frt"].median == 314100
    # Friday 17:50 local: the heatmap's Friday (4), hour 17; the click opens that conversation.
    assert got.heatmap[4][17] == 1
    ids = clickthrough.conversation_ids(db, actor=boss, filters=filters, metric="inbound", weekday=4, hour=17)
    assert ids == [c.id]
    board = dashboard.dashboard(db, actor=boss, filters=filters)
    assert [card.key for card in board.cards][:2] == ["opened", "closed"]


def test_only_the_stored_rollups_refuse_sqlite(sqlite_url):
    engine = make_engine(sqlite_url)
    with Session(engine, expire_on_commit=False) as db:
        tenant = make_tenant(db)
        with pytest.raises(rollups.AnalyticsNeedsPostgres) as refused:
            rollups.rebuild(db, tenant.id, dt.date(2026, 11, 4), dt.date(2026, 11, 4))
    engine.dispose()
    assert refused.value.status == 503 and refused.value.code == "analytics_needs_postgresql"
    assert "DATABASE_URL" in str(refused.value)


def test_heatmap_hours_and_the_inbox_hour_filter_agree_when_the_clocks_go_back_on_both_dialects(any_db):
    """New York, Sunday 1 November 2026: 01:00–02:00 happens twice (05:00–07:00 UTC). Customer messages at 05:30
    and 06:30 UTC are both 01:xx local; 07:30 UTC is 02:30."""
    db = any_db
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = "America/New_York"
    box = make_inbox(db, tenant.id)
    boss = make_user(db, tenant.id, "executive")
    for i, minute in enumerate((330, 390, 450)):
        at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
        c = make_conversation(db, box.id, wa_id=f"551190000040{i}")
        db.add(Message(tenant_id=c.tenant_id, conversation_id=c.id, direction="inbound", sender_type="customer",
                       kind="text", body="Oi", status="received", created_at=at))
    db.commit()
    sunday = dt.date(2026, 11, 1)
    filters = criteria.Filters(sunday, sunday)
    heat = figures.report(db, actor=boss, filters=filters, now=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)).heatmap
    assert (heat[6][0], heat[6][1], heat[6][2]) == (0, 2, 1)
    for hour in (0, 1, 2):
        ids = clickthrough.conversation_ids(db, actor=boss, filters=filters, metric="inbound", weekday=6, hour=hour)
        listed = inbox.list_conversations(db, actor=boss, tab="all", period=Period(sunday, sunday, "inbound", 6, hour))
        assert len(ids) == listed.total == heat[6][hour], hour
