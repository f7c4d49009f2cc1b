"""From a chart to the inbox: every bar, cell and bucket opens exactly its conversations, counted as the chart
counts them; the inbox's period filter cuts days and hours in the tenant's timezone; executives read and never
write; attendants see none of anyone else's conversations through a selection or a period.

Seed (São Paulo, UTC−3), Tue 3 – Thu 5 November 2026:
- c1 Tue 10:00, Ana answers in 3 min (1–5 min);
- c2 Wed 23:30 local = Thu 02:30 UTC, Bruno answers in 30 s (0–1 min): a Wednesday, not a Thursday;
- c3 Thu 00:30 local = Thu 03:30 UTC, Ana answers in 10 min (5–15 min);
- c4 Thu 14:10, the bot resolves it alone (closed Thursday);
- c5 Wed 14:20, Ana answers after 2 h (1–4 h).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest
from sqlmodel import select

from crm_app.domain.inbox import Period, compute_local_ranges, parse_period
from crm_app.errors import PermissionDenied
from crm_app.models import Inbox, Message, Tenant
from crm_app.services import inbox
from crm_app.services.analytics import breakdowns, clickthrough, criteria, figures
from crm_app.services.channel import outbound
from crm_app.services.conversations import facts, labels
from tests.factories import make_conversation, make_inbox, make_tenant, make_user

SP = dt.timezone(dt.timedelta(hours=-3))
FIRST, LAST = dt.date(2026, 11, 3), dt.date(2026, 11, 5)


def sp(day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SP)


def _life(db, box, at: dt.datetime, wa_id: str, answer: dt.timedelta | None, who):
    c = make_conversation(db, box.id, wa_id=wa_id)
    c.created_at, c.assignee_id = at, who.user_id if who else None
    db.add(Message(tenant_id=c.tenant_id, conversation_id=c.id, direction="inbound", sender_type="customer",
                   kind="text", body="Oi", status="received", created_at=at))
    facts.note(db, c, "customer", at=at)
    if answer is None:
        facts.note(db, c, "bot", at=at + dt.timedelta(seconds=5))
        facts.note(db, c, "close", at=at + dt.timedelta(minutes=2), by="bot")
    else:
        facts.note(db, c, "handoff", at=at, reason="menu")
        facts.note(db, c, "assign", at=at, user_id=who.user_id)
        facts.note(db, c, "human", at=at + answer, user_id=who.user_id)
    return c


@pytest.fixture
def seeded(db):
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = "America/Sao_Paulo"
    box = make_inbox(db, tenant.id)
    ana, bruno = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    minutes = dt.timedelta(minutes=1)
    made = {
        "c1": _life(db, box, sp(3, 10, 0), "5511900000101", 3 * minutes, ana),
        "c2": _life(db, box, sp(4, 23, 30), "5511900000102", dt.timedelta(seconds=30), bruno),
        "c3": _life(db, box, sp(5, 0, 30), "5511900000103", 10 * minutes, ana),
        "c4": _life(db, box, sp(5, 14, 10), "5511900000104", None, None),
        "c5": _life(db, box, sp(4, 14, 20), "5511900000105", 120 * minutes, ana),
    }
    db.commit()
    return tenant, made, ana, bruno


NOW = dt.datetime(2026, 11, 3, 3, 1, tzinfo=dt.UTC)  # local 3 Nov 00:01: every day of the period is read raw
FILTERS = criteria.Filters(FIRST, LAST)


def _inbox_count(db, actor, url: str) -> tuple[int, set[int]]:
    """What the inbox shows for a click-through URL: the selection's ids and the URL's period, as the page does."""
    assert url.startswith("/inbox?")
    q = dict(urllib.parse.parse_qsl(url.split("?", 1)[1]))
    ids = clickthrough.load_selection(actor=actor, token=q["selection"])
    period = parse_period(q["since"], q["until"], q["on"], q.get("weekday", ""), q.get("hour", ""))
    page = inbox.list_conversations(db, actor=actor, tab="mine", conversation_ids=ids, period=period, limit=200)
    return page.total, {r.id for r in page.rows}


def test_local_ranges_cut_sao_paulo_days_and_hours():
    day = compute_local_ranges(Period(dt.date(2026, 11, 4), dt.date(2026, 11, 4)), "America/Sao_Paulo")
    assert day == [(dt.datetime(2026, 11, 4, 3, tzinfo=dt.UTC), dt.datetime(2026, 11, 5, 3, tzinfo=dt.UTC))]
    three = compute_local_ranges(Period(FIRST, LAST), "America/Sao_Paulo")
    assert three == [(dt.datetime(2026, 11, 3, 3, tzinfo=dt.UTC), dt.datetime(2026, 11, 6, 3, tzinfo=dt.UTC))]
    cell = compute_local_ranges(Period(FIRST, LAST, "inbound", weekday=2, hour=23), "America/Sao_Paulo")
    assert cell == [(dt.datetime(2026, 11, 5, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 5, 3, tzinfo=dt.UTC))]
    assert compute_local_ranges(Period(FIRST, FIRST, weekday=6), "UTC") == []
    with pytest.raises(ValueError):
        parse_period("2026-11-05", "2026-11-03")
    with pytest.raises(ValueError):
        parse_period("2026-11-05", "", "opened", "", "24")


def test_every_bar_cell_and_bucket_opens_exactly_its_count(db, seeded):
    tenant, made, *_ = seeded
    boss = make_user(db, tenant.id, "executive")
    report = figures.report(db, actor=boss, filters=FILTERS, now=NOW)
    opened = {d["day"]: d["opened"] for d in report.days}
    assert opened == {"2026-11-03": 1, "2026-11-04": 2, "2026-11-05": 2}  # c2 on Wednesday, local
    closed = {d["day"]: d["closed"] for d in report.days}
    checked = 0
    for metric, by_day in (("opened", opened), ("closed", closed)):
        for day, value in by_day.items():
            url = clickthrough.inbox_link(db, actor=boss, filters=FILTERS, metric=metric, day=day)
            assert _inbox_count(db, boss, url)[0] == value, (metric, day)
            checked += 1
    _, wednesday = _inbox_count(db, boss, clickthrough.inbox_link(db, actor=boss, filters=FILTERS, metric="opened",
                                                                  day="2026-11-04"))
    assert wednesday == {made["c2"].id, made["c5"].id}
    cells = [(w, h, report.heatmap[w][h]) for w in range(7) for h in range(24) if report.heatmap[w][h]]
    assert sorted((w, h) for w, h, _ in cells) == [(1, 10), (2, 14), (2, 23), (3, 0), (3, 14)]
    for weekday, hour, value in cells + [(4, 9, 0)]:
        url = clickthrough.inbox_link(db, actor=boss, filters=FILTERS, metric="inbound", weekday=weekday, hour=hour)
        assert _inbox_count(db, boss, url)[0] == value, (weekday, hour)
    buckets = breakdowns.frt_buckets(db, actor=boss, filters=FILTERS)
    assert {b["bucket"]: b["count"] for b in buckets if b["count"]} == {"0-1m": 1, "1-5m": 1, "5-15m": 1, "1-4h": 1}
    for b in buckets:
        url = clickthrough.inbox_link(db, actor=boss, filters=FILTERS, metric="frt", bucket=b["bucket"])
        assert _inbox_count(db, boss, url)[0] == b["count"], b
    assert checked == 6


def test_the_period_filter_alone_matches_the_bars(db, seeded):
    tenant, made, *_ = seeded
    boss = make_user(db, tenant.id, "admin")
    report = figures.report(db, actor=boss, filters=FILTERS, now=NOW)
    for day in report.days:
        date = dt.date.fromisoformat(day["day"])
        page = inbox.list_conversations(db, actor=boss, tab="all", period=Period(date, date, "opened"))
        assert page.total == day["opened"], day["day"]
    late = inbox.list_conversations(db, actor=boss, tab="all",
                                    period=Period(FIRST, LAST, "inbound", weekday=2, hour=23))
    assert [r.id for r in late.rows] == [made["c2"].id]


def test_executives_read_the_filtered_inbox_and_write_nothing(db, seeded):
    tenant, made, ana, _ = seeded
    boss = make_user(db, tenant.id, "executive")
    url = clickthrough.inbox_link(db, actor=boss, filters=FILTERS, metric="opened", day="2026-11-05")
    assert _inbox_count(db, boss, url) == (2, {made["c3"].id, made["c4"].id})
    assert inbox.list_conversations(db, actor=boss, tab="all").total == 5
    detail = inbox.get_conversation(db, actor=boss, conversation_id=made["c3"].id)
    assert (detail.can_reply, detail.blocked_reason) == (False, "inbox.blocked.read_only")
    assert [m.body for m in inbox.list_messages(db, actor=boss, conversation_id=made["c3"].id)] == ["Oi"]
    assert inbox.list_conversations(db, actor=boss, tab="all", conversation_ids=[]).total == 0  # a cell of 0
    # The conversation's files open for them too (a read).
    from crm_app.integrations.storage import get_storage
    from crm_app.services import channel

    photo = db.exec(select(Message).where(Message.conversation_id == made["c3"].id)).first()
    photo.media_storage_key, photo.media_mime, photo.media_token = f"{tenant.id}/media/x.jpg", "image/jpeg", "t" * 32
    get_storage().put(photo.media_storage_key, b"JPEG")
    db.add(photo)
    db.commit()
    assert channel.read_message_media(db, actor=boss, media_token="t" * 32)[0] == b"JPEG"
    cid = made["c3"].id
    writes = [
        lambda: inbox.take_over(db, actor=boss, conversation_id=cid),
        lambda: inbox.close(db, actor=boss, conversation_id=cid),
        lambda: inbox.transfer(db, actor=boss, conversation_id=cid, user_id=ana.user_id),
        lambda: inbox.add_note(db, actor=boss, conversation_id=cid, body="x"),
        lambda: labels.add_label(db, actor=boss, conversation_id=cid, name="x"),
        lambda: outbound.send_message(db, actor=boss, conversation_id=cid, content={"type": "text", "body": "x"}),
    ]
    for write in writes:
        with pytest.raises(PermissionDenied):
            write()
        db.rollback()


def test_attendants_see_only_their_own_through_a_selection_or_a_period(db, seeded):
    tenant, made, ana, bruno = seeded
    # Ana's own chart: her first responses; the click opens hers only.
    url = clickthrough.inbox_link(db, actor=ana, filters=FILTERS, metric="opened", day="2026-11-04")
    count, ids = _inbox_count(db, ana, url)
    assert (count, ids) == (1, {made["c5"].id})
    # A forged selection naming Bruno's conversation, or a period alone, shows nothing of his.
    forged = inbox.list_conversations(db, actor=ana, tab="mine", conversation_ids=[made["c2"].id])
    assert forged.total == 0
    for tab in ("mine", "closed", "unassigned"):
        page = inbox.list_conversations(db, actor=ana, tab=tab, period=Period(FIRST, LAST, "opened"))
        assert made["c2"].id not in {r.id for r in page.rows}
    with pytest.raises(PermissionDenied):
        inbox.list_conversations(db, actor=ana, tab="all", period=Period(FIRST, LAST, "opened"))
    # Someone else's selection token is "not found" (the inbox then shows the whole tab).
    from crm_app.errors import NotFound

    token = dict(urllib.parse.parse_qsl(url.split("?", 1)[1]))["selection"]
    with pytest.raises(NotFound):
        clickthrough.load_selection(actor=bruno, token=token)


def test_a_same_day_reopen_counts_once_in_the_bar_the_inbox_and_the_stored_rollups(db, seeded):
    """c6 opens Tue 09:00, the bot closes it, the customer reopens it at 11:00 and Ana closes it at 11:30: two
    cycles opened and two closed that Tuesday, one conversation in the inbox, so one in each bar."""
    from crm_app.services.analytics import criteria, rollups

    tenant, made, ana, _ = seeded
    c6 = _life(db, db.get(Inbox, made["c1"].inbox_id), sp(3, 9, 0), "5511900000106", None, None)
    c6.assignee_id = ana.user_id  # as the inbox's assignment leaves it (the facts hear of it below)
    for event, at, kw in [("customer", sp(3, 11, 0), {}), ("handoff", sp(3, 11, 1), {"reason": "menu"}),
                          ("assign", sp(3, 11, 2), {"user_id": ana.user_id}),
                          ("human", sp(3, 11, 5), {"user_id": ana.user_id}), ("close", sp(3, 11, 30), {"by": "human"})]:
        facts.note(db, c6, event, at=at, **kw)
    db.commit()
    boss = make_user(db, tenant.id, "executive")
    raw = figures.report(db, actor=boss, filters=FILTERS, now=NOW)
    tuesday = raw.days[0]
    assert (tuesday["day"], tuesday["opened"], tuesday["closed"]) == ("2026-11-03", 2, 1)  # c1, c6; c6
    assert (tuesday["resolution_count"], tuesday["contained"]) == (2, 1)  # cycles stay cycles
    for metric in ("opened", "closed"):
        url = clickthrough.inbox_link(db, actor=boss, filters=FILTERS, metric=metric, day="2026-11-03")
        assert _inbox_count(db, boss, url)[0] == tuesday[metric], metric
    page = inbox.list_conversations(db, actor=boss, tab="all", period=Period(FIRST, FIRST, "opened"))
    assert page.total == tuesday["opened"]
    for name in ("opened", "closed"):
        assert raw.totals[name] == sum(day[name] for day in raw.days), name
    # The day's last cycle is Ana's: her filtered bar and her own view count c6, and open it.
    for actor, filters in ((boss, criteria.Filters(FIRST, LAST, attendant_id=ana.user_id)), (ana, FILTERS)):
        mine = figures.report(db, actor=actor, filters=filters, now=NOW).days[0]
        url = clickthrough.inbox_link(db, actor=actor, filters=filters, metric="opened", day="2026-11-03")
        assert (mine["opened"], _inbox_count(db, actor, url)[0]) == (2, 2)
    rollups.rebuild(db, tenant.id, FIRST, LAST)
    db.commit()
    stored = figures.report(db, actor=boss, filters=FILTERS, now=dt.datetime(2026, 11, 7, 12, tzinfo=dt.UTC))
    assert stored.days == raw.days and stored.totals == raw.totals


def test_local_ranges_follow_each_moments_own_clock_on_dst_change_days():
    ny = "America/New_York"
    spring, autumn = dt.date(2026, 3, 8), dt.date(2026, 11, 1)  # Sundays: 02:00 skipped; 01:00 twice
    at = lambda day, hour: dt.datetime(2026, day[0], day[1], hour, tzinfo=dt.UTC)  # noqa: E731
    assert compute_local_ranges(Period(spring, spring, "inbound", 6, 2), ny) == []
    assert compute_local_ranges(Period(spring, spring, "inbound", 6, 3), ny) == [(at((3, 8), 7), at((3, 8), 8))]
    assert compute_local_ranges(Period(autumn, autumn, "inbound", 6, 1), ny) == [(at((11, 1), 5), at((11, 1), 7))]
    # Santiago changes at midnight: Saturday 4 April ends with 23:00 twice; Sunday 6 September has no 00:00.
    santiago = "America/Santiago"
    saturday, sunday = dt.date(2026, 4, 4), dt.date(2026, 9, 6)
    assert compute_local_ranges(Period(saturday, saturday, "inbound", 5, 23), santiago) == [
        (at((4, 5), 2), at((4, 5), 4))]
    assert compute_local_ranges(Period(sunday, sunday, "inbound", 6, 0), santiago) == []
    assert compute_local_ranges(Period(sunday, sunday, "inbound", 6, 1), santiago) == [(at((9, 6), 4), at((9, 6), 5))]


@pytest.mark.parametrize("tz, change", [("America/New_York", dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC)),
                                        ("America/New_York", dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)),
                                        ("America/Santiago", dt.datetime(2026, 4, 5, 3, tzinfo=dt.UTC)),
                                        ("America/Santiago", dt.datetime(2026, 9, 6, 4, tzinfo=dt.UTC))])
def test_heatmap_cells_open_exactly_their_count_on_dst_change_days(db, tz, change):
    """A customer message every 20 minutes from 3 h before the clocks change to 3 h after, each in its own
    conversation: every cell of the days around it, the repeated and the skipped hour included, opens as many
    conversations as it shows, from the raw rows and from the stored rollups."""
    from crm_app.services.analytics import criteria, rollups

    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = tz
    box = make_inbox(db, tenant.id)
    for i in range(18):
        at = change + dt.timedelta(minutes=20 * i - 180)
        c = make_conversation(db, box.id, wa_id=f"55119000002{i:02d}")
        c.created_at = at
        db.add(Message(tenant_id=tenant.id, conversation_id=c.id, direction="inbound", sender_type="customer",
                       kind="text", body="Oi", status="received", created_at=at))
    db.commit()
    boss = make_user(db, tenant.id, "executive")
    from zoneinfo import ZoneInfo

    local = change.astimezone(ZoneInfo(tz)).date()
    filters = criteria.Filters(local - dt.timedelta(days=1), local + dt.timedelta(days=1))
    raw = figures.report(db, actor=boss, filters=filters, now=dt.datetime.combine(filters.since, dt.time(12),
                                                                                   ZoneInfo(tz)))
    assert sum(map(sum, raw.heatmap)) == 18
    rollups.rebuild(db, tenant.id, filters.since, filters.until)
    db.commit()
    stored = figures.report(db, actor=boss, filters=filters, now=change + dt.timedelta(days=5))
    assert stored.heatmap == raw.heatmap
    for weekday in {(local + dt.timedelta(days=d)).weekday() for d in (-1, 0, 1)}:
        for hour in range(24):
            url = clickthrough.inbox_link(db, actor=boss, filters=filters, metric="inbound", weekday=weekday,
                                          hour=hour)
            assert _inbox_count(db, boss, url)[0] == raw.heatmap[weekday][hour], (weekday, hour)


def test_an_frt_bucket_counts_conversations_as_its_click_lists_them(db, seeded):
    """c1 (Tue 10:00, answered in 3 min) reopens on Wednesday and is answered in 2 min again: two first
    responses in the 1–5 min bucket, one conversation. The bucket counts conversations, so it shows what its
    click opens (and a conversation answered in two buckets counts once in each)."""
    tenant, made, ana, _ = seeded
    c1 = made["c1"]
    for event, at, kw in [("close", sp(3, 10, 30), {"by": "human"}), ("customer", sp(4, 9, 0), {}),
                          ("handoff", sp(4, 9, 0), {"reason": "menu"}),
                          ("assign", sp(4, 9, 0), {"user_id": ana.user_id}),
                          ("human", sp(4, 9, 2), {"user_id": ana.user_id})]:
        facts.note(db, c1, event, at=at, **kw)
    db.commit()
    boss = make_user(db, tenant.id, "executive")
    buckets = {b["bucket"]: b["count"] for b in breakdowns.frt_buckets(db, actor=boss, filters=FILTERS)}
    assert buckets["1-5m"] == 1
    url = clickthrough.inbox_link(db, actor=boss, filters=FILTERS, metric="frt", bucket="1-5m")
    assert _inbox_count(db, boss, url) == (1, {c1.id})
    # Per cycle the FRT card still counts both first responses (its median is over cycles).
    report = figures.report(db, actor=boss, filters=FILTERS, now=NOW)
    assert report.durations["frt"].count == 5


def test_a_heatmap_cell_over_weeks_counts_each_conversation_once_as_its_click_opens(db, seeded):
    """c1's customer writes again on the next two Tuesdays at 10:xx (no reopen needed: the cycle stays open).
    Over 3–17 November the Tuesday 10 h cell holds one conversation, from the raw rows and from the stored
    rollups alike, and its click opens that one; a team filter keeps it under c1's team."""
    from crm_app.services.analytics import criteria, rollups

    tenant, made, *_ = seeded
    c1 = made["c1"]
    for day in (10, 17):
        db.add(Message(tenant_id=tenant.id, conversation_id=c1.id, direction="inbound", sender_type="customer",
                       kind="text", body="De novo", status="received", created_at=sp(day, 10, 40)))
        facts.note(db, c1, "customer", at=sp(day, 10, 40))
    db.commit()
    boss = make_user(db, tenant.id, "executive")
    weeks = criteria.Filters(FIRST, dt.date(2026, 11, 17))
    raw = figures.report(db, actor=boss, filters=weeks, now=NOW)
    assert raw.heatmap[1][10] == 1
    url = clickthrough.inbox_link(db, actor=boss, filters=weeks, metric="inbound", weekday=1, hour=10)
    assert _inbox_count(db, boss, url) == (1, {c1.id})
    rollups.rebuild(db, tenant.id, weeks.since, weeks.until)
    db.commit()
    later = dt.datetime(2026, 11, 17, 15, tzinfo=dt.UTC)  # the 17th read raw, the days before from the rollups
    for now in (later, later + dt.timedelta(days=3)):
        stored = figures.report(db, actor=boss, filters=weeks, now=now)
        assert stored.heatmap == raw.heatmap, now
    assert sum(map(sum, raw.heatmap)) == 5


def _teams(db, tenant_id, ana, bruno):
    from crm_app.models import Team, TeamMember

    a, b = Team(tenant_id=tenant_id, name="Equipe A", business_hours={}), Team(tenant_id=tenant_id, name="Equipe B",
                                                                               business_hours={})
    db.add_all([a, b])
    db.flush()
    db.add_all([TeamMember(tenant_id=tenant_id, team_id=a.id, user_id=ana.user_id),
                TeamMember(tenant_id=tenant_id, team_id=b.id, user_id=bruno.user_id)])
    db.commit()
    return a.id, b.id


def _agree(db, boss, filters, now, day="2026-11-03") -> dict:
    """Cards (totals), series (days) and every click of `filters` agree; returns the day's figures."""
    report = figures.report(db, actor=boss, filters=filters, now=now)
    for name in ("opened", "closed", "frt_count"):
        assert report.totals[name] == sum(d[name] for d in report.days), name
    row = next(d for d in report.days if d["day"] == day)
    for metric in ("opened", "closed"):
        url = clickthrough.inbox_link(db, actor=boss, filters=filters, metric=metric, day=day)
        assert _inbox_count(db, boss, url)[0] == row[metric], (metric, filters)
    buckets = {b["bucket"]: b["count"] for b in breakdowns.frt_buckets(db, actor=boss, filters=filters)}
    for bucket, count in buckets.items():
        url = clickthrough.inbox_link(db, actor=boss, filters=filters, metric="frt", bucket=bucket)
        assert _inbox_count(db, boss, url)[0] == count, (bucket, filters)
    for weekday, hour in ((1, 9), (1, 10), (1, 15)):
        url = clickthrough.inbox_link(db, actor=boss, filters=filters, metric="inbound", weekday=weekday, hour=hour)
        assert _inbox_count(db, boss, url)[0] == report.heatmap[weekday][hour], (weekday, hour, filters)
    return {**row, "1-5m": buckets["1-5m"], "heat": [report.heatmap[1][h] for h in (9, 10, 15)]}


def test_a_transfer_within_a_day_counts_under_the_last_owner_in_cards_series_and_clicks(db, seeded):
    """c7, Tue 3 Nov: the customer writes at 09:00, the bot hands it to team A at 09:01, Ana takes it and answers
    at 09:05 (FRT 4 min); the customer writes at 10:30; at 11:00 it goes to team B and Bruno, who answers and
    closes it at 12:00. Opened, closed, the heatmap and the messages count under the cycle's last owner (team B,
    Bruno); a first response under the person who sent it (Ana) and the cycle's last team (B). Cards, series and
    clicks agree under each filter, from the raw rows and from the stored rollups."""
    from crm_app.services.analytics import criteria, rollups

    tenant, made, ana, bruno = seeded
    team_a, team_b = _teams(db, tenant.id, ana, bruno)
    c7 = make_conversation(db, made["c1"].inbox_id, wa_id="5511900000107")
    c7.created_at = sp(3, 9, 0)
    for at in (sp(3, 9, 0), sp(3, 10, 30)):
        db.add(Message(tenant_id=tenant.id, conversation_id=c7.id, direction="inbound", sender_type="customer",
                       kind="text", body="Oi", status="received", created_at=at))
    facts.note(db, c7, "customer", at=sp(3, 9, 0))
    c7.team_id = team_a
    facts.note(db, c7, "handoff", at=sp(3, 9, 1), reason="menu", team_id=team_a)
    c7.assignee_id = ana.user_id
    facts.note(db, c7, "assign", at=sp(3, 9, 2), user_id=ana.user_id)
    facts.note(db, c7, "human", at=sp(3, 9, 5), user_id=ana.user_id)
    facts.note(db, c7, "customer", at=sp(3, 10, 30))
    c7.team_id, c7.assignee_id = team_b, bruno.user_id
    facts.note(db, c7, "transfer", at=sp(3, 11, 0), user_id=bruno.user_id, team_id=team_b)
    facts.note(db, c7, "human", at=sp(3, 11, 10), user_id=bruno.user_id)
    facts.note(db, c7, "close", at=sp(3, 12, 0), by="human")
    db.commit()
    boss = make_user(db, tenant.id, "executive")
    expected = {  # filter: (opened, closed, FRT 1–5 min, heatmap Tue 9 h / 10 h / 15 h)
        ("team", team_a): (0, 0, 0, [0, 0, 0]), ("team", team_b): (1, 1, 1, [1, 1, 0]),
        ("attendant", ana.user_id): (1, 0, 2, [0, 0, 0]), ("attendant", bruno.user_id): (1, 1, 0, [0, 0, 0])}
    # (Ana's own c1 and her first response to it are Tuesday's too; an attendant filter shows no demand.)
    found = {}
    for (kind, ident), _ in expected.items():
        filters = criteria.Filters(FIRST, LAST, **{f"{kind}_id": ident})
        got = _agree(db, boss, filters, NOW)
        found[(kind, ident)] = (got["opened"], got["closed"], got["1-5m"], got["heat"])
    assert found == expected
    rollups.rebuild(db, tenant.id, FIRST, LAST)
    db.commit()
    for (kind, ident), want in expected.items():
        filters = criteria.Filters(FIRST, LAST, **{f"{kind}_id": ident})
        got = _agree(db, boss, filters, dt.datetime(2026, 11, 7, 12, tzinfo=dt.UTC))
        assert (got["opened"], got["closed"], got["1-5m"], got["heat"]) == want, (kind, ident)


def test_a_transfer_days_later_restates_the_stored_days_of_the_conversation(db, seeded):
    """c8 opens Tue 3 Nov 15:00 under team A and Ana, and the rollups of 3–5 Nov are stored (as the periodic job
    leaves them). Weeks later, still open, it is transferred to team B and Bruno through the inbox: the stored
    Tuesday moves with it (a job the transfer queues rebuilds the conversation's past days), so team B's bar
    and heatmap cell equal their clicks, and team A's are 0 again."""
    from crm_app.services import inbox as inbox_service
    from crm_app.services.analytics import criteria, rollups
    from tests.support.whatsapp import run_burst_worker

    tenant, made, ana, bruno = seeded
    team_a, team_b = _teams(db, tenant.id, ana, bruno)
    c8 = make_conversation(db, made["c1"].inbox_id, wa_id="5511900000108")
    c8.created_at, c8.team_id, c8.assignee_id = sp(3, 15, 0), team_a, ana.user_id
    db.add(Message(tenant_id=tenant.id, conversation_id=c8.id, direction="inbound", sender_type="customer",
                   kind="text", body="Oi", status="received", created_at=sp(3, 15, 0)))
    facts.note(db, c8, "customer", at=sp(3, 15, 0))
    facts.note(db, c8, "handoff", at=sp(3, 15, 1), reason="menu", team_id=team_a)
    facts.note(db, c8, "assign", at=sp(3, 15, 2), user_id=ana.user_id)
    facts.note(db, c8, "human", at=sp(3, 15, 5), user_id=ana.user_id)
    db.commit()
    rollups.rebuild(db, tenant.id, FIRST, LAST)
    db.commit()
    admin = make_user(db, tenant.id, "admin")
    inbox_service.transfer(db, actor=admin, conversation_id=c8.id, team_id=team_b, user_id=bruno.user_id)
    db.commit()
    result = run_burst_worker("default")
    assert result.returncode == 0, result.stderr[-2000:]
    db.expire_all()
    later = dt.datetime(2026, 11, 7, 12, tzinfo=dt.UTC)  # every day of the period from the stored rollups
    by_team = {team: _agree(db, admin, criteria.Filters(FIRST, LAST, team_id=team), later)
               for team in (team_a, team_b)}
    assert {t: (r["opened"], r["1-5m"], r["heat"][2]) for t, r in by_team.items()} == {
        team_a: (0, 0, 0), team_b: (1, 1, 1)}
