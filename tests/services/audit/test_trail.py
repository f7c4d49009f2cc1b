"""Searching the trail: each filter, date ranges turned into id ranges (entries whose ids and times swap included),
keyset pages, the CSV export, roles and tenants."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_app.errors import PermissionDenied, ValidationError
from crm_app.services.audit import trail
from crm_app.services.core import audit
from tests.factories import make_tenant, make_user

F = trail.TrailFilter
DAY = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


def _entry(db, actor, at: dt.datetime, action: str = "user.update", target: str = "1", ip: str | None = None) -> int:
    row = audit.record(db, actor=actor, tenant_id=actor.tenant_id, action=action, target_type="user",
                       target_id=target)
    row.created_at, row.ip = at, ip
    db.flush()
    return row.id


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    admin, other = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "admin")
    daily = {day: _entry(db, admin, DAY + dt.timedelta(days=day)) for day in range(30)}
    # Two writers swapped: the later time got the smaller id.
    late = _entry(db, other, DAY + dt.timedelta(days=10, milliseconds=5), action="incident.create", ip="10.0.0.7")
    early = _entry(db, other, DAY + dt.timedelta(days=10, milliseconds=1), action="incident.update", target="9999")
    neighbour = make_user(db, make_tenant(db).id, "admin")
    _entry(db, neighbour, DAY + dt.timedelta(days=10, hours=1))
    db.commit()
    return {"admin": admin, "other": other, "daily": daily, "late": late, "early": early}


def _ids(db, actor, filters, **kw) -> list[int]:
    return [r.id for r in trail.search(db, actor=actor, filters=filters, **kw).rows]


def test_a_day_holds_exactly_its_entries_swapped_ones_included(db, world):
    day10 = F(since=DAY + dt.timedelta(days=10), until=DAY + dt.timedelta(days=11))
    assert _ids(db, world["admin"], day10) == sorted([world["daily"][10], world["late"], world["early"]], reverse=True)
    # (the factories' own entries are from today, after the month)
    assert _ids(db, world["admin"], F(since=DAY + dt.timedelta(days=28), until=DAY + dt.timedelta(days=31))) == [
        world["daily"][29], world["daily"][28]]
    assert _ids(db, world["admin"], F(until=DAY + dt.timedelta(days=1))) == [world["daily"][0]]
    # From between the two: the first entry by time has the larger id; the one after it, the smaller, still counts.
    assert _ids(db, world["admin"], F(since=DAY + dt.timedelta(days=10, milliseconds=1),
                                      until=DAY + dt.timedelta(days=11))) == [world["early"], world["late"]]
    assert _ids(db, world["admin"], F(since=DAY + dt.timedelta(days=40))) == []  # nothing there: no walk at all
    assert _ids(db, world["admin"], F(since=DAY + dt.timedelta(days=3, hours=1),
                                      until=DAY + dt.timedelta(days=3, hours=2))) == []


def test_pages_inside_a_range_follow_the_keyset(db, world):
    week = F(since=DAY + dt.timedelta(days=7), until=DAY + dt.timedelta(days=14))
    seen, before = [], None
    while True:
        page = trail.search(db, actor=world["admin"], filters=week, before_id=before, limit=3)
        seen += [r.id for r in page.rows]
        if page.next_before_id is None:
            break
        before = page.next_before_id
    assert seen == sorted([world["daily"][d] for d in range(7, 14)] + [world["late"], world["early"]], reverse=True)


def test_each_filter_and_the_export(db, world):
    admin, other = world["admin"], world["other"]
    assert _ids(db, admin, F(actor_user_id=other.user_id)) == [world["early"], world["late"]]
    assert _ids(db, admin, F(action="incident.")) == [world["early"], world["late"]]
    assert _ids(db, admin, F(action="incident.create")) == [world["late"]]
    assert _ids(db, admin, F(target_type="user", target_id="9999")) == [world["early"]]
    assert _ids(db, admin, F(ip="10.0.0.7")) == [world["late"]]
    with pytest.raises(ValidationError):
        trail.search(db, actor=admin, filters=F(ip="not-an-ip"))
    text = trail.export_csv(db, actor=admin, filters=F(since=DAY + dt.timedelta(days=10),
                                                       until=DAY + dt.timedelta(days=11)), locale="pt-BR")
    assert [line.split(",")[0] for line in text.strip().splitlines()[1:]] == [
        str(i) for i in sorted([world["daily"][10], world["late"], world["early"]], reverse=True)]
    empty = trail.export_csv(db, actor=admin, filters=F(since=DAY + dt.timedelta(days=40)), locale="pt-BR")
    assert len(empty.strip().splitlines()) == 1  # the header only


def test_only_readers_of_the_tenant(db, world):
    with pytest.raises(PermissionDenied):
        trail.search(db, actor=make_user(db, world["admin"].tenant_id, "attendant"), filters=F())
    outsider = make_user(db, make_tenant(db).id, "admin")
    assert _ids(db, outsider, F(since=DAY + dt.timedelta(days=10), until=DAY + dt.timedelta(days=11))) == []


def test_an_entry_held_in_an_open_transaction_still_falls_in_its_range(db, monkeypatch):
    """The time is the database's at insert: an entry written late in a long transaction is not dated at its
    start, where it would sit before the range's probe with an id after it."""
    from sqlmodel import Session

    from crm_app.db import get_engine, utcnow

    monkeypatch.setattr(trail, "RANGE_PROBE", 2)
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    since = utcnow()
    held = audit.record(db, actor=admin, tenant_id=tenant.id, action="user.update", target_type="user",
                        target_id="held")  # added, not yet inserted: its transaction goes on
    with Session(get_engine()) as other:
        others = [audit.record(other, actor=admin, tenant_id=tenant.id, action="user.update", target_type="user",
                               target_id=str(n)) for n in range(3)]
        other.commit()
        others = [row.id for row in others]
    db.commit()
    assert held.id > max(others)
    found = _ids(db, admin, F(since=since, until=utcnow() + dt.timedelta(minutes=1), target_type="user"))
    assert held.id in found
    assert sorted(found) == sorted([held.id, *others])


def test_an_entry_is_sealed_with_the_time_the_database_stored(db):
    from crm_app.services.audit import chain

    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    row = audit.record(db, actor=admin, tenant_id=tenant.id, action="user.update", target_type="user")
    db.flush()
    stamped = row.created_at
    assert stamped is not None and stamped.tzinfo is not None
    db.commit()
    chain.seal_tenant(db, tenant.id)
    db.expire_all()
    assert chain.verify_tenant(db, tenant.id).ok
    assert row.created_at == stamped


def test_the_csv_export_is_recorded_as_a_read_with_its_kind_and_filters_once_an_hour(db, world):
    from sqlmodel import select

    from crm_app.models import AuditLog

    admin = world["admin"]
    day10 = F(since=DAY + dt.timedelta(days=10), until=DAY + dt.timedelta(days=11), action="incident.",
              ip="10.0.0.7")
    for _ in range(2):
        trail.export_csv(db, actor=admin, filters=day10, locale="pt-BR")
    trail.export_csv(db, actor=admin, filters=F(actor_user_id=world["other"].user_id), locale="pt-BR")
    db.commit()
    db.expire_all()
    rows = db.exec(select(AuditLog).where(AuditLog.action == "export.download").order_by(AuditLog.id)).all()
    assert len(rows) == 2  # the same export twice in the hour is one read; other filters, another object
    first, second = rows
    assert first.target_type == "export" and first.target_id.startswith("audit_csv:")
    assert first.target_id != second.target_id and first.actor_user_id == admin.user_id
    assert first.after == {"kind": "audit_csv", "filters": {
        "action": "incident.", "since": day10.since.isoformat(), "until": day10.until.isoformat(), "ip": "given"}}
    assert "10.0.0.7" not in str(first.after)
    assert second.after["filters"] == {"actor_user_id": world["other"].user_id}
