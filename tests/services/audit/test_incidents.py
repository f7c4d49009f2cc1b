"""The incident register: the two clocks on the shared calendar, the draft notice, validation, tenancy."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_app.domain.calendar import HolidayCalendar
from crm_app.domain.incidents import deadlines
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.services.audit import incidents
from tests.factories import make_tenant, make_user

SP = "America/Sao_Paulo"


def _at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=dt.timezone(dt.timedelta(hours=-3))).astimezone(dt.UTC)


def test_the_anpd_clock_counts_three_business_days_on_the_calendar():
    cal = HolidayCalendar(state="SP")
    # Thursday 2026-11-19, learnt of at 10:00: Fri 20 is Consciência Negra (national), so Mon 23, Tue 24, Wed 25.
    clocks = deadlines(_at(2026, 11, 19), timezone=SP, calendar=cal, now=_at(2026, 11, 19, 11))
    assert clocks.anpd_due == _at(2026, 11, 25, 23, 59) + dt.timedelta(seconds=59)
    assert clocks.gdpr_due == _at(2026, 11, 22)  # 72 hours, weekends and holidays included
    late = deadlines(_at(2026, 11, 19), timezone=SP, calendar=cal, now=_at(2026, 11, 26, 9))
    assert late.anpd_left < dt.timedelta(0) and late.gdpr_left < dt.timedelta(0)


def test_carnival_counts_only_when_the_tenant_closes_on_it():
    friday = _at(2027, 2, 5)  # Carnival is Mon 8 and Tue 9 February 2027, Ash Wednesday the 10th
    open_days = deadlines(friday, timezone=SP, calendar=HolidayCalendar(), now=friday)
    closed = deadlines(friday, timezone=SP, calendar=HolidayCalendar(count_optional=True), now=friday)
    assert open_days.anpd_due.astimezone(dt.timezone(dt.timedelta(hours=-3))).date() == dt.date(2027, 2, 10)
    assert closed.anpd_due.astimezone(dt.timezone(dt.timedelta(hours=-3))).date() == dt.date(2027, 2, 15)


def test_an_admin_records_an_incident_sees_the_clocks_and_the_pt_br_draft(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    now = _at(2026, 12, 7, 12)
    row = incidents.record_incident(db, actor=admin, now=now, data=incidents.IncidentInput(
        title="Planilha de contatos enviada por engano", detected_at=_at(2026, 12, 7, 9),
        data_categories=["contact", "identification"], affected_count=1234, description="Um atendente enviou..."))
    db.commit()
    assert row.status == "open" and row.anpd_left_hours > 0 and 0 < row.gdpr_left_hours <= 72
    assert "Resolução CD/ANPD nº 15/2024" in row.notice and "1.234" in row.notice
    assert "dados de contato" in row.notice and tenant.name in row.notice
    done = incidents.mark_notified(db, actor=admin, incident_id=row.id, now=now)
    again = incidents.mark_notified(db, actor=admin, incident_id=row.id, now=now)
    db.commit()
    assert done.status == again.status == "notified"
    assert [r.id for r in incidents.list_incidents(db, actor=admin, now=now)] == [row.id]


@pytest.mark.parametrize("change, field", [
    ({"title": "x"}, "title"),
    ({"data_categories": []}, "data_categories"),
    ({"data_categories": ["gossip"]}, "data_categories"),
    ({"affected_count": -1}, "affected_count"),
    ({"detected_at": _at(2030, 1, 1)}, "detected_at"),
])
def test_bad_input_gets_a_clear_error(db, change, field):
    admin = make_user(db, make_tenant(db).id)
    values = dict(title="Vazamento", detected_at=_at(2026, 12, 7, 9), data_categories=["contact"], affected_count=1)
    with pytest.raises(ValidationError) as err:
        incidents.record_incident(db, actor=admin, now=_at(2026, 12, 7, 12),
                                  data=incidents.IncidentInput(**{**values, **change}))
    assert err.value.params["field"] == field


def test_other_tenants_and_other_roles_get_nothing(db):
    one, two = make_tenant(db), make_tenant(db)
    admin = make_user(db, one.id)
    now = _at(2026, 12, 7, 12)
    row = incidents.record_incident(db, actor=admin, now=now, data=incidents.IncidentInput(
        title="Vazamento", detected_at=_at(2026, 12, 7, 9), data_categories=["contact"], affected_count=1))
    db.commit()
    stranger = make_user(db, two.id)
    assert incidents.list_incidents(db, actor=stranger, now=now) == []
    with pytest.raises(NotFound):
        incidents.mark_notified(db, actor=stranger, incident_id=row.id, now=now)
    with pytest.raises(PermissionDenied):
        incidents.list_incidents(db, actor=make_user(db, one.id, "supervisor"), now=now)


def test_the_clocks_and_the_notice_are_in_the_tenants_timezone_not_the_viewers(db):
    import dataclasses

    from crm_app.domain.timefmt import format_local
    from crm_app.services.settings.calendar import tenant_calendar

    tenant = make_tenant(db)
    viewer = dataclasses.replace(make_user(db, tenant.id), timezone="Asia/Tokyo")
    # Wednesday 23:30 in São Paulo is already Thursday in Tokyo: the business days counted differ.
    detected = dt.datetime(2026, 12, 3, 2, 30, tzinfo=dt.UTC)
    now = detected + dt.timedelta(hours=1)
    row = incidents.record_incident(db, actor=viewer, now=now, data=incidents.IncidentInput(
        title="Acesso indevido", detected_at=detected, data_categories=["contact"], affected_count=3))
    expected = deadlines(detected, timezone=SP, calendar=tenant_calendar(tenant.id, session=db), now=now)
    assert row.anpd_due == expected.anpd_due
    assert format_local(detected, SP) in row.notice and format_local(expected.anpd_due, SP) in row.notice
    assert format_local(detected, "Asia/Tokyo") not in row.notice and row.timezone == SP
