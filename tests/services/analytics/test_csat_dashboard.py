"""The /analytics read model's CSAT: the average and response-rate cards with the previous period, the ratings'
spread for the chart, and the per-attendant counts the tables show, on PostgreSQL and on the laptop's SQLite
(surveys count on the São Paulo day they were sent)."""

from __future__ import annotations

import datetime as dt

from crm_app.models import CsatSurvey, Tenant
from crm_app.services.analytics import criteria, dashboard
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.services.analytics import test_sqlite_fallback as fallback

any_db, sqlite_url = fallback.any_db, fallback.sqlite_url  # the two-dialect fixtures

SP = dt.timezone(dt.timedelta(hours=-3))


def _survey(db, conversation, user_id, rating, at):
    db.add(CsatSurvey(tenant_id=conversation.tenant_id, conversation_id=conversation.id, cycle=0,
                      contact_id=conversation.contact_id, contact_inbox_id=conversation.contact_inbox_id,
                      inbox_id=conversation.inbox_id, attendant_id=user_id, status="sent" if rating is None else "done",
                      rating=rating, sent_at=at))


def test_the_csat_cards_compare_with_the_previous_period_on_both_dialects(any_db):
    db = any_db
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = "America/Sao_Paulo"
    box, ana = make_inbox(db, tenant.id), make_user(db, tenant.id, "attendant")
    boss = make_user(db, tenant.id, "admin")
    sent = [(5, dt.datetime(2026, 11, 4, 10, tzinfo=SP)), (3, dt.datetime(2026, 11, 4, 23, 30, tzinfo=SP)),
            (None, dt.datetime(2026, 11, 3, 9, tzinfo=SP)),
            (2, dt.datetime(2026, 11, 2, 23, 59, tzinfo=SP)),  # the day before the period: the previous one
            (4, dt.datetime(2026, 11, 5, 0, 1, tzinfo=SP))]  # after it
    for i, (rating, at) in enumerate(sent):
        _survey(db, make_conversation(db, box.id, wa_id=f"55119000004{i:02d}"), ana.user_id, rating, at)
    db.commit()
    board = dashboard.dashboard(db, actor=boss, filters=criteria.Filters(dt.date(2026, 11, 3), dt.date(2026, 11, 4)))
    cards = {c.key: c for c in board.cards}
    assert (cards["csat"].value, cards["csat"].previous) == (4.0, 2.0)
    assert (cards["csat_response"].value, cards["csat_response"].previous) == (round(2 / 3, 4), 1.0)
    assert board.csat_now.distribution == [0, 0, 1, 0, 1]
    assert board.csat_by["attendant"][ana.user_id].sent == 3
