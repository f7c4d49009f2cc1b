"""SLA attainment and breaches in analytics match the clock records: the expected figures are computed here from
the rows we created (decided on `done_at` when hit, on `due_at` when missed, São Paulo days), independently of
the service's SQL, on PostgreSQL and on the laptop's SQLite; with the scope of a supervisor and an attendant and
the label filter."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from crm_app.models import ConversationLabel, Label, SlaClock, Team, TeamMember, Tenant
from crm_app.services.analytics import criteria, dashboard, sla
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.services.analytics import test_sqlite_fallback as fallback

any_db, sqlite_url = fallback.any_db, fallback.sqlite_url  # the two-dialect fixtures

SP = ZoneInfo("America/Sao_Paulo")
PERIOD = criteria.Filters(dt.date(2026, 11, 3), dt.date(2026, 11, 5))


def seed(db, count: int = 90):
    """A tenant with two teams, numbers and attendants, and `count` clocks around the period (days 10-31 Oct to
    7 Nov, hours near midnight included), every status; plus a foreign tenant's clocks that must never show."""
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = "America/Sao_Paulo"
    boss, sup = make_user(db, tenant.id, "executive"), make_user(db, tenant.id, "supervisor")
    ana, bia = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    sales, care = Team(tenant_id=tenant.id, name="Vendas"), Team(tenant_id=tenant.id, name="Suporte")
    db.add_all([sales, care])
    db.flush()
    db.add(TeamMember(team_id=sales.id, user_id=sup.user_id, tenant_id=tenant.id))
    boxes = [make_inbox(db, tenant.id), make_inbox(db, tenant.id, name="Loja")]
    vip = Label(tenant_id=tenant.id, name="VIP")
    db.add(vip)
    db.flush()
    rng = random.Random(22)
    conversations = []
    for i in range(12):
        c = make_conversation(db, boxes[i % 2].id, wa_id=f"55119222{i:05d}")
        conversations.append(c)
        if i % 3 == 0:
            db.add(ConversationLabel(tenant_id=tenant.id, conversation_id=c.id, label_id=vip.id))
    rows = []
    base = dt.datetime(2026, 10, 31, 0, 0, tzinfo=SP)
    for i in range(count):
        c = conversations[i % len(conversations)]
        status = rng.choice(["hit", "hit", "missed", "missed", "active"])
        start = base + dt.timedelta(hours=rng.randint(0, 7 * 24 - 1), minutes=rng.choice([0, 29, 59]))
        due = start + dt.timedelta(minutes=rng.choice([15, 60, 480, 1440]))
        done = {"hit": start + (due - start) * rng.random(),
                "missed": rng.choice([None, due + dt.timedelta(minutes=30)]), "active": None}[status]
        if i == 0:
            due = None  # paused with no known end, then done: a hit without a deadline
        if status == "active" and i % 2:
            due = None
        rows.append(SlaClock(tenant_id=tenant.id, conversation_id=c.id, target=sla.TARGETS[i % 3], status=status,
                             started_at=start + dt.timedelta(seconds=i), due_at=due, done_at=done,
                             inbox_id=c.inbox_id, team_id=rng.choice([sales.id, care.id, None]),
                             assignee_id=rng.choice([ana.user_id, bia.user_id, None])))
    rows[0].status, rows[0].done_at = "hit", dt.datetime(2026, 11, 4, 0, 10, tzinfo=SP)
    # What we expect is read from these plain copies, not from rows the database hands back.
    plain = [SimpleNamespace(**{k: getattr(r, k) for k in ("conversation_id", "target", "status", "due_at", "done_at",
                                                            "inbox_id", "team_id", "assignee_id")}) for r in rows]
    db.add_all(rows)
    other = make_tenant(db)
    stray = make_conversation(db, make_inbox(db, other.id).id, wa_id="5511922299999")
    db.add(SlaClock(tenant_id=other.id, conversation_id=stray.id, target="first_response", status="missed",
                    started_at=base, due_at=dt.datetime(2026, 11, 4, 12, tzinfo=SP), inbox_id=stray.inbox_id))
    db.commit()
    labelled = {c.id for i, c in enumerate(conversations) if i % 3 == 0}
    return dict(tenant=tenant, boss=boss, sup=sup, ana=ana, sales=sales, vip=vip, rows=plain, labelled=labelled)


def expected(rows, filters: criteria.Filters, keep=lambda r: True):
    """Our own count: {(target, dimension key): Counter(hit=, missed=)} and {local day: missed}."""
    totals, per_day = {}, Counter()
    for r in rows:
        decided = r.done_at if r.status == "hit" else r.due_at if r.status == "missed" else None
        if decided is None or not keep(r):
            continue
        day = decided.astimezone(SP).date()
        if not filters.since <= day <= filters.until:
            continue
        for key in (("all", "all"), (r.target, "all"), ("all", ("team", r.team_id)), (r.target, ("team", r.team_id)),
                    (r.target, ("attendant", r.assignee_id)), (r.target, ("inbox", r.inbox_id))):
            totals.setdefault(key, Counter())[r.status] += 1
        if r.status == "missed":
            per_day[day] += 1
    return totals, per_day


def _check(db, actor, rows, filters, keep=lambda r: True):
    want, want_days = expected(rows, filters, keep)
    got = sla.report(db, actor=actor, filters=filters)
    for target in (*sla.TARGETS, "all"):
        counts = want.get((target, "all"), Counter())
        assert (got.totals[target].hit, got.totals[target].missed) == (counts["hit"], counts["missed"]), target
        decided = counts["hit"] + counts["missed"]
        assert got.totals[target].attainment == (round(counts["hit"] / decided, 4) if decided else None)
    assert {d: c["all"].missed for d, c in got.days if c["all"].missed} == dict(want_days)
    for by in ("team", "attendant", "inbox"):
        for group in sla.breakdown(db, actor=actor, filters=filters, by=by):
            for target in sla.TARGETS:
                counts = want.get((target, (by, group.id)), Counter())
                assert (group.targets[target].hit, group.targets[target].missed) == (counts["hit"], counts["missed"])
    return got


def test_attainment_and_breaches_match_the_clock_records_on_both_dialects(any_db):
    world = seed(any_db)
    got = _check(any_db, world["boss"], world["rows"], PERIOD)
    assert got.totals["all"].decided > 20 and got.totals["all"].missed > 5  # the seed really lands in the period
    previous, _ = expected(world["rows"], PERIOD.previous())
    assert got.previous["all"].hit == previous[("all", "all")]["hit"]
    board = dashboard.dashboard(any_db, actor=world["boss"], filters=PERIOD)
    assert board.sla_clocks and board.sla_report.totals["all"] == got.totals["all"]
    assert board.sla_by["team"] == sla.breakdown(any_db, actor=world["boss"], filters=PERIOD, by="team")
    assert [g.name for g in board.sla_by["team"]] == ["Suporte", "Vendas"]


def test_a_supervisor_sees_their_teams_an_attendant_their_own_and_the_label_filter_narrows(any_db):
    world = seed(any_db, count=60)
    rows, sales = world["rows"], world["sales"].id
    _check(any_db, world["sup"], rows, PERIOD, keep=lambda r: r.team_id == sales)
    ana = world["ana"]
    _check(any_db, ana, rows, PERIOD, keep=lambda r: r.assignee_id == ana.user_id)
    labelled = criteria.Filters(PERIOD.since, PERIOD.until, label_id=world["vip"].id)
    _check(any_db, world["boss"], rows, labelled, keep=lambda r: r.conversation_id in world["labelled"])
    teams = {g.id for g in sla.breakdown(any_db, actor=world["sup"], filters=PERIOD, by="team")}
    assert teams <= {sales}


def test_a_tenant_without_clocks_has_an_empty_sla_section(db):
    tenant = make_tenant(db)
    boss = make_user(db, tenant.id, "admin")
    db.commit()
    board = dashboard.dashboard(db, actor=boss, filters=PERIOD)
    assert not board.sla_clocks and board.sla_report.totals["all"].decided == 0
