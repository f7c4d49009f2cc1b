"""Busy share, computed by hand: the share of online time with at least one assigned conversation open.

UTC tenant, Wednesday 4 November 2026, "now" 18:00.
- Ana online 08:00–12:00 and 13:00–17:00 (8 h; away 12:00–13:00 does not count). Her cycles: A 09:00–10:00,
  B 09:30–11:00 (overlapping A: 09:00–11:00 counts once), C 12:15–13:30 (online only from 13:00), D from 16:30,
  still open (online until 17:00). Busy while online: 2 h + 0.5 h + 0.5 h = 3 h → 3 / 8 = 0.375.
- Bruno online 10:00–11:00; cycle E assigned the day before at 23:00, closed 10:30: 0.5 h of 1 h → 0.5.
- Carla holds a cycle but was never online: no share (None), not 0.
"""

from __future__ import annotations

import datetime as dt

import pytest

from crm_app.domain.analytics import compute_busy_seconds
from crm_app.models import PresenceInterval, Tenant
from crm_app.services.analytics import breakdowns, criteria
from crm_app.services.conversations import facts
from tests.factories import make_conversation, make_inbox, make_tenant, make_user


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def test_busy_seconds_by_hand():
    online = [(utc(4, 13), utc(4, 17)), (utc(4, 8), utc(4, 12))]
    busy = [(utc(4, 9), utc(4, 10)), (utc(4, 9, 30), utc(4, 11)), (utc(4, 12, 15), utc(4, 13, 30)),
            (utc(4, 16, 30), utc(4, 18))]
    assert compute_busy_seconds(online, busy) == (8 * 3600, 3 * 3600)
    assert compute_busy_seconds([], busy) == (0, 0)
    assert compute_busy_seconds(online, []) == (8 * 3600, 0)
    assert compute_busy_seconds([(utc(4, 8), utc(4, 9)), (utc(4, 8, 30), utc(4, 10))], [(utc(4, 7), utc(4, 12))]) \
        == (2 * 3600, 2 * 3600)  # overlapping presence counts once


def _online(db, tenant_id: int, user_id: int, start: dt.datetime, end: dt.datetime, status: str = "online"):
    db.add(PresenceInterval(tenant_id=tenant_id, user_id=user_id, status=status, started_at=start, ended_at=end,
                            last_seen_at=end))


def _cycle(db, box, wa_id: str, who, assigned: dt.datetime, closed: dt.datetime | None):
    c = make_conversation(db, box.id, wa_id=wa_id)
    c.created_at = assigned - dt.timedelta(minutes=10)
    facts.note(db, c, "customer", at=assigned - dt.timedelta(minutes=10))
    facts.note(db, c, "handoff", at=assigned - dt.timedelta(minutes=5), reason="menu")
    facts.note(db, c, "assign", at=assigned, user_id=who.user_id)
    facts.note(db, c, "human", at=assigned + dt.timedelta(minutes=5), user_id=who.user_id)
    if closed:
        facts.note(db, c, "close", at=closed, by="human")


def seed_day(db):
    """The day above, in any database (the SQLite fallback test uses it too)."""
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = "UTC"
    box = make_inbox(db, tenant.id)
    ana, bruno, carla = (make_user(db, tenant.id, "attendant") for _ in range(3))
    _online(db, tenant.id, ana.user_id, utc(4, 8), utc(4, 12))
    _online(db, tenant.id, ana.user_id, utc(4, 12), utc(4, 13), status="away")
    _online(db, tenant.id, ana.user_id, utc(4, 13), utc(4, 17))
    _online(db, tenant.id, bruno.user_id, utc(4, 10), utc(4, 11))
    _cycle(db, box, "5511900000201", ana, utc(4, 9), utc(4, 10))
    _cycle(db, box, "5511900000202", ana, utc(4, 9, 30), utc(4, 11))
    _cycle(db, box, "5511900000203", ana, utc(4, 12, 15), utc(4, 13, 30))
    _cycle(db, box, "5511900000204", ana, utc(4, 16, 30), None)
    _cycle(db, box, "5511900000205", bruno, utc(3, 23), utc(4, 10, 30))
    _cycle(db, box, "5511900000206", carla, utc(4, 14), utc(4, 15))
    db.commit()
    return tenant, ana, bruno, carla


@pytest.fixture
def day(db):
    return seed_day(db)


def test_busy_share_in_the_attendant_table(db, day):
    tenant, ana, bruno, carla = day
    boss = make_user(db, tenant.id, "executive")
    rows = breakdowns.breakdown(db, actor=boss, filters=criteria.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 4)),
                             by="attendant", now=utc(4, 18))
    got = {r.id: (r.online_hours, r.busy_share) for r in rows}
    assert got[ana.user_id] == (8.0, 0.375)
    assert got[bruno.user_id] == (1.0, 0.5)
    assert got[carla.user_id] == (0.0, None)
    # Teams and numbers have no busy share.
    assert all(r.busy_share is None for r in breakdowns.breakdown(
        db, actor=boss, filters=criteria.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 4)), by="inbox",
        now=utc(4, 18)))
