"""The laptop run (embedded SQLite, no PostgreSQL): what works there, and what says clearly that it does not.

Works on both dialects: the inbox's period filter (local days and hours as plain UTC comparisons), and the busy
share (Python over the presence history and the facts). The dashboard figures and the metrics API answer 503
`analytics_needs_postgresql` with a message that says what to set; the page shows that message as a notice.
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
from crm_app.services.analytics import figures, rollups
from crm_app.services.conversations import facts
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.services.analytics.test_busy_share import seed_day, utc

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
    got = figures.busy_shares(any_db, tenant.id, [ana.user_id, bruno.user_id, carla.user_id], start, end,
                              now=utc(4, 18))
    assert got == {ana.user_id: 0.375, bruno.user_id: 0.5, carla.user_id: None}


def test_the_dashboard_says_it_needs_postgresql_on_sqlite(sqlite_url):
    engine = make_engine(sqlite_url)
    with Session(engine, expire_on_commit=False) as db:
        tenant = make_tenant(db)
        boss = make_user(db, tenant.id, "executive")
        with pytest.raises(rollups.AnalyticsNeedsPostgres) as refused:
            figures.report(db, actor=boss, filters=figures.Filters(dt.date(2026, 11, 4), dt.date(2026, 11, 4)))
    engine.dispose()
    assert refused.value.status == 503 and refused.value.code == "analytics_needs_postgresql"
    assert "DATABASE_URL" in str(refused.value)
