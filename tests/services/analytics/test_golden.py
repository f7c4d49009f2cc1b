"""Golden datasets: facts and figures computed by hand, through the real recording service and the real queries.

São Paulo tenant (UTC−3, team open Mon–Fri 09:00–18:00, 2 November 2026 is Finados, a national holiday) and a
UTC tenant with a reopen, a transfer, a containment, an unanswered handoff and bot messages between human ones.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from crm_app.models import ConversationFact, ConversationResponse, Team, Tenant
from crm_app.services.analytics import breakdowns, criteria, figures, rollups
from crm_app.services.conversations import facts
from tests.factories import make_conversation, make_inbox, make_tenant, make_user

WEEKDAYS_9_18 = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
WEEKDAYS_9_17 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def sp(day: int, hour: int, minute: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=-3)))


def utc(day: int, hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=dt.UTC)


def _place(db, timezone: str, hours: dict):
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = timezone
    box = make_inbox(db, tenant.id)
    teams = []
    for name in ("Vendas", "Suporte"):
        team = Team(tenant_id=tenant.id, name=name, business_hours=hours)
        db.add(team)
        teams.append(team)
    db.commit()
    return tenant, box, teams


def _conversation(db, box, created: dt.datetime, wa_id: str):
    conversation = make_conversation(db, box.id, wa_id=wa_id)
    conversation.created_at = created
    db.commit()
    return conversation


def _cycles(db, conversation_id: int) -> list[ConversationFact]:
    return list(db.exec(select(ConversationFact).where(ConversationFact.conversation_id == conversation_id)
                        .order_by(ConversationFact.cycle)).all())


def _responses(db, fact_id: int) -> list[tuple]:
    rows = db.exec(select(ConversationResponse).where(ConversationResponse.fact_id == fact_id)
                   .order_by(ConversationResponse.at)).all()
    return [(r.kind, r.at, r.seconds, r.business_seconds) for r in rows]


def seed_sao_paulo(db):
    """The São Paulo dataset (any database: the SQLite fallback test runs it too)."""
    tenant, box, (sales, _) = _place(db, "America/Sao_Paulo", WEEKDAYS_9_18)
    ana = make_user(db, tenant.id, "attendant")
    c = _conversation(db, box, sp(30, 17, 50, month=10), "5511900000001")
    steps = [
        ("customer", sp(30, 17, 50, 10), {}), ("bot", sp(30, 17, 51, 10), {}),
        ("handoff", sp(30, 17, 55, 10), {"team_id": sales.id, "reason": "exit_keyword"}),
        ("assign", sp(30, 17, 58, 10), {"user_id": ana.user_id}),
        ("customer", sp(30, 18, 30, 10), {}),
        ("human", sp(3, 9, 10), {"user_id": ana.user_id}),  # Tuesday; Monday 2 November is a holiday
        ("customer", sp(3, 9, 20), {}), ("bot", sp(3, 9, 21), {}), ("human", sp(3, 9, 30), {"user_id": ana.user_id}),
        ("customer", sp(3, 17, 55), {}), ("human", sp(4, 9, 5), {"user_id": ana.user_id}),
        ("close", sp(4, 9, 10), {"by": "human"}),
    ]
    for event, at, kw in steps:
        facts.note(db, c, event, at=at, **kw)
    db.commit()
    return tenant, c, ana


@pytest.fixture
def sao_paulo(db):
    return seed_sao_paulo(db)


def test_sao_paulo_business_hours_skip_the_weekend_and_the_holiday(db, sao_paulo):
    _, c, ana = sao_paulo
    (fact,) = _cycles(db, c.id)
    assert (fact.bot_seconds, fact.bot_business_seconds) == (300, 300)
    assert (fact.queue_seconds, fact.queue_business_seconds) == (180, 180)
    # Fri 17:55 → Tue 09:10: 3 days 15 h 15 min of wall time; 5 min on Friday and 10 on Tuesday of business time.
    assert (fact.frt_seconds, fact.frt_business_seconds) == (314100, 900)
    assert fact.first_human_user_id == ana.user_id
    # Fri 17:50 → Wed 09:10; business: 10 min Fri + all of Tue (9 h) + 10 min Wed — Monday is Finados.
    assert (fact.resolution_seconds, fact.resolution_business_seconds) == (400800, 33600)
    assert (fact.contained, fact.unanswered, fact.windows_missed, fact.closed_by) == (False, False, 1, "human")
    assert (fact.customer_messages, fact.human_messages, fact.bot_messages) == (4, 3, 2)


def test_sao_paulo_next_responses_ignore_the_bot_and_a_missed_window_is_dated_when_it_closed(db, sao_paulo):
    _, c, _ = sao_paulo
    (fact,) = _cycles(db, c.id)
    assert _responses(db, fact.id) == [
        # The customer's 18:30 Friday message had no human answer before Saturday 18:30.
        ("window_missed", sp(31, 18, 30, 10), None, None),
        ("next", sp(3, 9, 30), 600, 600),  # the bot's 09:21 message did not stop the clock
        ("next", sp(4, 9, 5), 54600, 600),  # 5 min before Tuesday's close, 5 min after Wednesday's opening
    ]


def test_sao_paulo_days_are_cut_in_the_tenants_timezone(db, sao_paulo):
    tenant, c, _ = sao_paulo
    admin = make_user(db, tenant.id, "admin")
    rollups.rebuild(db, tenant.id, dt.date(2026, 10, 1), dt.date(2026, 11, 3))
    got = figures.report(db, actor=admin, filters=criteria.Filters(dt.date(2026, 10, 30), dt.date(2026, 11, 4)),
                         now=utc(4, 15, 0))
    by_day = {d["day"]: d for d in got.days}
    # Opened 17:50 local on Friday (20:50 UTC, still Friday); the missed window on Saturday, local.
    assert by_day["2026-10-30"]["opened"] == 1 and by_day["2026-10-31"]["windows_missed"] == 1
    assert by_day["2026-11-03"]["frt_count"] == 1 and by_day["2026-11-04"]["closed"] == 1
    assert got.durations["frt"].business_median == 900 and got.durations["frt"].median == 314100


def seed_utc(db):
    """The UTC dataset (any database)."""
    tenant, box, (first, second) = _place(db, "UTC", WEEKDAYS_9_17)
    ana, bruno = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    one = _conversation(db, box, utc(4, 10, 0), "5511900000011")
    for event, at, kw in [
        ("customer", utc(4, 10, 0), {}), ("bot", utc(4, 10, 0, 5), {}), ("close", utc(4, 10, 2), {"by": "bot"}),
        ("customer", utc(4, 12, 0), {}),  # reopens: a new cycle
        ("bot", utc(4, 12, 0, 30), {}),
        ("handoff", utc(4, 12, 1), {"team_id": first.id, "reason": "menu"}),
        ("assign", utc(4, 12, 3), {"user_id": ana.user_id}),
        ("transfer", utc(4, 12, 5), {"user_id": bruno.user_id, "team_id": second.id}),
        ("human", utc(4, 12, 11), {"user_id": bruno.user_id}),
        ("customer", utc(4, 12, 12), {}), ("bot", utc(4, 12, 13), {}),
        ("human", utc(4, 12, 20), {"user_id": bruno.user_id}),
        ("close", utc(4, 12, 30), {"by": "human"}),
    ]:
        facts.note(db, one, event, at=at, **kw)
    two = _conversation(db, box, utc(4, 16, 50), "5511900000012")
    for event, at, kw in [
        ("customer", utc(4, 16, 50), {}), ("handoff", utc(4, 16, 55), {"team_id": first.id, "reason": "menu"}),
        ("close", utc(5, 18, 0), {"by": "human"}),
    ]:
        facts.note(db, two, event, at=at, **kw)
    db.commit()
    return tenant, one, two, ana, bruno, first, second


@pytest.fixture
def utc_tenant(db):
    return seed_utc(db)


def test_utc_containment_then_a_reopen_starts_a_new_cycle(db, utc_tenant):
    _, one, _, _, bruno, _, second = utc_tenant
    first_cycle, second_cycle = _cycles(db, one.id)
    assert (first_cycle.contained, first_cycle.reopened, first_cycle.bot_seconds, first_cycle.resolution_seconds) == (
        True, True, 120, 120)
    assert first_cycle.handoff_at is None and first_cycle.unanswered is False
    assert (second_cycle.cycle, second_cycle.opened_at, second_cycle.bot_seconds) == (1, utc(4, 12, 0), 60)


def test_utc_a_transfer_keeps_the_frt_clock_running_from_the_handoff(db, utc_tenant):
    _, one, _, _, bruno, _, second = utc_tenant
    cycle = _cycles(db, one.id)[1]
    assert (cycle.queue_seconds, cycle.transfers, cycle.assignee_id, cycle.team_id) == (120, 1, bruno.user_id,
                                                                                        second.id)
    assert (cycle.frt_seconds, cycle.first_human_user_id) == (600, bruno.user_id)
    assert _responses(db, cycle.id) == [("next", utc(4, 12, 20), 480, 480)]  # the bot's 12:13 did not count
    assert (cycle.resolution_seconds, cycle.contained, cycle.unanswered) == (1800, False, False)


def test_utc_unanswered_after_handoff_and_its_missed_window(db, utc_tenant):
    _, _, two, *_ = utc_tenant
    (cycle,) = _cycles(db, two.id)
    assert (cycle.unanswered, cycle.contained, cycle.windows_missed) == (True, False, 1)
    # Wed 16:50 → Thu 18:00: 25 h 10 min; business 10 min on Wednesday and 8 h on Thursday.
    assert (cycle.resolution_seconds, cycle.resolution_business_seconds) == (90600, 29400)
    assert (cycle.bot_seconds, cycle.bot_business_seconds) == (300, 300)


def _report(db, tenant_id, now, **filters):
    admin = make_user(db, tenant_id, "executive")
    return figures.report(db, actor=admin, now=now,
                          filters=criteria.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 5), **filters))


def test_utc_figures_by_hand(db, utc_tenant):
    tenant, *_ = utc_tenant
    got = _report(db, tenant.id, now=utc(4, 0, 1))  # today is the first day: every day from the raw rows
    t = got.totals
    # Opened and closed count a conversation once per day: "one" opened and closed twice on the 4th counts once.
    assert (t["opened"], t["closed"], t["contained"], t["unanswered"], t["handoffs"], t["windows_missed"]) == (
        2, 2, 1, 1, 2, 1)
    assert (t["frt_count"], t["frt_sum"], t["resolution_count"], t["resolution_sum"]) == (1, 600, 3, 92520)
    d = got.durations
    assert (d["frt"].count, d["frt"].median, d["frt"].p90) == (1, 600, 600)
    # [120, 1800, 90600]: median 1800; p90 at rank 1.8 → 1800 + 0.8 × 88800.
    assert (d["resolution"].median, d["resolution"].p90, d["resolution"].avg) == (1800, 72840, 30840)
    assert d["resolution"].business_median == 1800 and d["resolution"].business_p90 == 1800 + 0.8 * 27600
    assert (d["next_response"].count, d["next_response"].median) == (1, 480)
    assert (d["bot"].count, d["bot"].median) == (3, 120)
    assert (d["queue"].count, d["queue"].median) == (1, 120)


def test_summary_equals_the_series_and_rollups_equal_raw(db, utc_tenant):
    tenant, *_ = utc_tenant
    raw = _report(db, tenant.id, now=utc(4, 0, 1))  # "today" is the first day: everything raw
    stale = _report(db, tenant.id, now=utc(7, 0, 0))  # both days before today, and no rollups built yet
    assert stale.totals["opened"] == 0
    rollups.rebuild(db, tenant.id, dt.date(2026, 11, 1), dt.date(2026, 11, 6))
    db.commit()
    rolled = _report(db, tenant.id, now=utc(7, 0, 0))
    assert rolled.days == raw.days and rolled.totals == raw.totals
    for got in (raw, rolled):
        for name, total in got.totals.items():
            assert total == sum(day[name] for day in got.days), name
    assert rollups.rebuild(db, tenant.id, dt.date(2026, 11, 1), dt.date(2026, 11, 6)) == rollups.rebuild(
        db, tenant.id, dt.date(2026, 11, 1), dt.date(2026, 11, 6))  # idempotent


def test_filters_and_scopes(db, utc_tenant):
    tenant, one, two, ana, bruno, first, second = utc_tenant
    now = utc(4, 0, 1)
    assert _report(db, tenant.id, now, team_id=second.id).totals["frt_count"] == 1
    assert _report(db, tenant.id, now, team_id=first.id).totals["unanswered"] == 1
    assert _report(db, tenant.id, now, attendant_id=bruno.user_id).totals["frt_count"] == 1
    assert _report(db, tenant.id, now, attendant_id=ana.user_id).totals["frt_count"] == 0
    filters = criteria.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 5))
    # An attendant sees only their own figures, whatever they ask for.
    own = figures.report(db, actor=ana, filters=criteria.Filters(filters.since, filters.until,
                                                                attendant_id=bruno.user_id), now=now)
    assert own.totals["frt_count"] == 0 and own.durations["frt"].count == 0
    # A supervisor of no team sees nothing; of the second team, that team only.
    boss = make_user(db, tenant.id, "supervisor")
    assert figures.report(db, actor=boss, filters=filters, now=now).totals["closed"] == 0
    from crm_app.models import TeamMember
    db.add(TeamMember(tenant_id=tenant.id, team_id=second.id, user_id=boss.user_id))
    db.commit()
    seen = figures.report(db, actor=boss, filters=filters, now=now)
    assert (seen.totals["closed"], seen.totals["unanswered"], seen.durations["frt"].count) == (1, 0, 1)


def test_an_attendants_timeline_and_who_may_read_it(db, utc_tenant):
    from crm_app.errors import NotFound
    from crm_app.services.analytics import timeline

    tenant, _, _, ana, bruno, *_ = utc_tenant
    boss = make_user(db, tenant.id, "executive")
    events = timeline.timeline(db, actor=boss, user_id=bruno.user_id, day=dt.date(2026, 11, 4))
    assert [(e.kind, e.at.strftime("%H:%M")) for e in events] == [("first_response", "12:11"), ("close", "12:30")]
    with pytest.raises(NotFound):
        timeline.timeline(db, actor=ana, user_id=bruno.user_id, day=dt.date(2026, 11, 4))
    with pytest.raises(NotFound):
        timeline.timeline(db, actor=make_user(db, tenant.id, "supervisor"), user_id=bruno.user_id,
                          day=dt.date(2026, 11, 4))
    assert timeline.timeline(db, actor=ana, user_id=ana.user_id, day=dt.date(2026, 11, 4)) == []


def test_first_contact_resolution_by_hand(db, utc_tenant):
    """"one" was contained at 10:02 and came back at 12:00: neither cycle is a first-contact resolution; "two" was
    closed once, so it is. A return more than 7 days after a close is a new matter: both cycles count."""
    from crm_app.services.analytics import criteria, dashboard

    tenant, one, two, *_ = utc_tenant
    assert [c.first_contact for c in _cycles(db, one.id)] == [False, False]
    assert [c.first_contact for c in _cycles(db, two.id)] == [True]
    got = _report(db, tenant.id, now=utc(4, 0, 1))
    assert (got.totals["first_contact"], got.totals["resolution_count"]) == (1, 3)
    assert sum(day["first_contact"] for day in got.days) == 1 and got.days[1]["first_contact"] == 1  # the 5th
    boss = make_user(db, tenant.id, "executive")
    rollups.rebuild(db, tenant.id, dt.date(2026, 11, 1), dt.date(2026, 11, 6))  # the page reads the stored days
    board = dashboard.dashboard(db, actor=boss, filters=criteria.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 5)))
    card = next(c for c in board.cards if c.key == "first_contact")
    assert (card.kind, card.value, card.previous) == ("rate", 1 / 3, None)
    facts.note(db, two, "customer", at=utc(13, 18, 1))  # 8 days after the close: a new matter
    facts.note(db, two, "close", at=utc(13, 18, 30), by="bot")
    assert [c.first_contact for c in _cycles(db, two.id)] == [True, True]
    facts.note(db, two, "customer", at=utc(20, 18, 29))  # 6 days 23:59 after: the same matter came back
    assert [c.first_contact for c in _cycles(db, two.id)] == [True, False, False]
    rows = {r.id: r for r in breakdowns.breakdown(db, actor=boss, by="team", now=utc(4, 0, 1),
                                               filters=criteria.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 5)))}
    # The contained cycle had no team; the second team's is a reopen within the window.
    assert {team: (r.handled, r.first_contact) for team, r in rows.items()} == {utc_tenant[5].id: (1, 1),
                                                                                utc_tenant[6].id: (1, 0)}


def test_a_reopen_within_the_window_takes_the_stored_first_contact_back(db, utc_tenant):
    """The days are stored with "two"'s first-contact resolution on the 5th; the customer comes back on the 8th: the
    reopen queues the conversation's restatement, after which the stored days equal the raw figures again."""
    from tests.support.whatsapp import run_burst_worker

    tenant, _, two, *_ = utc_tenant
    assert run_burst_worker("default").returncode == 0  # the restatements the dataset's handoffs queued
    rollups.rebuild(db, tenant.id, dt.date(2026, 11, 1), dt.date(2026, 11, 7))
    db.commit()
    later = utc(20, 0, 0)
    assert _report(db, tenant.id, now=later).totals["first_contact"] == 1
    facts.note(db, two, "customer", at=utc(8, 9, 0))
    db.commit()
    result = run_burst_worker("default")
    assert result.returncode == 0, result.stderr[-2000:]
    db.expire_all()
    stored, raw = _report(db, tenant.id, now=later), _report(db, tenant.id, now=utc(4, 0, 1))
    assert stored.totals == raw.totals and stored.totals["first_contact"] == 0


def test_migration_0025_backfills_first_contact_as_the_live_rule_does(db, utc_tenant):
    """The flags the recording set (a contained cycle, its return 2 h later, a single close; then a return after
    8 days and one after 6 days 23 h) equal what the migration computes from the cycles alone, in SQL and in the
    Python path SQLite takes."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import text

    tenant, one, two, *_ = utc_tenant
    facts.note(db, two, "customer", at=utc(13, 18, 1))
    facts.note(db, two, "close", at=utc(13, 18, 30), by="bot")
    facts.note(db, two, "customer", at=utc(20, 18, 29))
    facts.note(db, two, "close", at=utc(20, 19, 0), by="bot")
    db.commit()
    path = Path(__file__).parents[3] / "alembic" / "versions" / "0025_first_contact_resolution.py"
    spec = importlib.util.spec_from_file_location("migration_0025", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    def flags():
        db.expire_all()
        return [(f.conversation_id, f.cycle, f.first_contact) for c in (one, two) for f in _cycles(db, c.id)]

    live = flags()
    assert [flag for _, _, flag in live] == [False, False, True, False, False]
    for run in (migration.backfill, migration._backfill_in_python):
        db.execute(text("UPDATE conversation_facts SET first_contact = NULL WHERE tenant_id = :t"), {"t": tenant.id})
        run(db.connection())
        assert flags() == live, run.__name__
