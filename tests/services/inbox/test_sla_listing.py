"""The inbox list by SLA: "Vence primeiro" and priority sorts across pages, and the "SLA em risco" filter."""

import datetime as dt

import pytest

from crm_app.domain.inbox import duration_words, sla_level
from crm_app.errors import ValidationError
from crm_app.services.inbox import listing
from tests.factories import make_user
from tests.support.inbox import (
    fresh_tenant,
    no_leftover_jobs,  # noqa: F401  (an autouse fixture)
    quick_conversation,
)

MIN = dt.timedelta(minutes=1)


@pytest.fixture
def box(db):
    tenant, inbox = fresh_tenant(db, webhook_inbox=False)
    return inbox, make_user(db, tenant.id, "supervisor")


def _made(db, inbox, specs: dict[str, dict]) -> dict[str, int]:
    now = dt.datetime.now(dt.UTC)
    made = {}
    for i, (name, fields) in enumerate(specs.items()):
        made[name] = quick_conversation(db, inbox.id, phone=f"+5511966{i:06d}", name=name,
                                        last_message_at=now - (i + 1) * MIN, **fields).id
    db.commit()
    return made


def _all_pages(db, actor, limit: int, **kwargs) -> tuple[list[int], int]:
    seen, cursor, pages = [], None, 0
    while True:
        page = listing.list_conversations(db, actor=actor, tab="all", cursor=cursor, limit=limit, **kwargs)
        seen += [r.id for r in page.rows]
        pages, cursor = pages + 1, page.next_cursor
        if cursor is None:
            return seen, pages


def test_due_first_lists_the_nearest_deadline_first_and_no_deadline_last_across_pages(db, box):
    inbox, sup = box
    now = dt.datetime.now(dt.UTC)
    same = now + 30 * MIN  # two rows on one deadline: the id breaks the tie, also across a page boundary
    made = _made(db, inbox, {
        "none_a": {}, "later": {"sla_due_at": now + 90 * MIN, "sla_started_at": now - MIN},
        "late": {"sla_due_at": now - 5 * MIN, "sla_started_at": now - 60 * MIN},
        "tie_1": {"sla_due_at": same, "sla_started_at": now}, "tie_2": {"sla_due_at": same, "sla_started_at": now},
        "none_b": {}, "none_c": {},
    })
    expected = [made[k] for k in ("late", "tie_1", "tie_2", "later", "none_a", "none_b", "none_c")]
    for limit in (1, 2, 3, 5, 50):
        seen, pages = _all_pages(db, sup, limit, sort="due")
        assert seen == expected, limit
        assert pages == -(-len(expected) // limit)
    first = listing.list_conversations(db, actor=sup, tab="all", sort="due", limit=2)
    assert [r.id for r in first.rows] == expected[:2] and first.total == 7
    assert first.rows[0].sla_due_at == now - 5 * MIN and first.rows[0].sla_started_at == now - 60 * MIN
    with pytest.raises(ValidationError):
        listing.list_conversations(db, actor=sup, tab="all", sort="priority", cursor=first.next_cursor)


def test_priority_sort_lists_urgent_first_then_newest_activity_across_pages(db, box):
    inbox, sup = box
    made = _made(db, inbox, {"p0_new": {}, "p2_new": {"priority": 2}, "p4": {"priority": 4},
                             "p0_old": {}, "p2_old": {"priority": 2}, "p3": {"priority": 3}})
    expected = [made[k] for k in ("p4", "p3", "p2_new", "p2_old", "p0_new", "p0_old")]
    for limit in (1, 2, 4, 50):
        assert _all_pages(db, sup, limit, sort="priority")[0] == expected, limit
    page = listing.list_conversations(db, actor=sup, tab="all", sort="priority", limit=1)
    assert page.rows[0].priority == 4
    with pytest.raises(ValidationError):
        listing.list_conversations(db, actor=sup, tab="all", sort="recent", cursor=page.next_cursor)
    with pytest.raises(ValidationError):
        listing.list_conversations(db, actor=sup, tab="all", sort="soonest")


def test_at_risk_is_a_deadline_past_or_in_the_last_fifth_of_its_window(db, box):
    inbox, sup = box
    now = dt.datetime.now(dt.UTC)
    hour_ago = now - 100 * MIN
    made = _made(db, inbox, {
        "overdue": {"sla_due_at": now - MIN, "sla_started_at": now - 60 * MIN},
        "in_last_fifth": {"sla_due_at": now + 19 * MIN, "sla_started_at": now - 81 * MIN},  # 19 of 100 left
        "just_before": {"sla_due_at": now + 22 * MIN, "sla_started_at": now - 78 * MIN},  # 22 of 100 left
        "plenty": {"sla_due_at": now + 90 * MIN, "sla_started_at": hour_ago},
        "no_start_future": {"sla_due_at": now + MIN},
        "no_start_past": {"sla_due_at": now - MIN},
        "no_clock": {},
    })
    page = listing.list_conversations(db, actor=sup, tab="all", at_risk=True, sort="due")
    assert [r.id for r in page.rows] == [made["overdue"], made["no_start_past"], made["in_last_fifth"]]
    assert page.total == 3
    assert {r.id for r in listing.list_conversations(db, actor=sup, tab="all").rows} == set(made.values())


def test_the_level_and_the_words_of_the_chip():
    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    start = now - dt.timedelta(minutes=80)
    assert sla_level(None, None, now) == ""
    assert sla_level(now + dt.timedelta(minutes=21), start, now) == "ok"  # 21 of 101 left
    assert sla_level(now + dt.timedelta(minutes=20), start, now) == "risk"  # exactly 20 % of 100 left
    assert sla_level(now, start, now) == "late"
    assert sla_level(now + MIN, None, now) == "ok"
    assert [duration_words(s) for s in (30, 60, 12 * 60 + 59, 125 * 60, 120 * 60, 27 * 3600, -3 * 60)] == [
        "< 1 min", "1 min", "12 min", "2 h 5 min", "2 h", "1 d 3 h", "3 min"]
