"""The business-day calendar: national, state, optional and added days; business days and business seconds."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_app.domain import business_hours
from crm_app.domain.calendar import HolidayCalendar, parse_entry

D = dt.date


def test_national_holidays_include_good_friday_and_20_november_only_from_2024():
    national = HolidayCalendar()
    days = {h.day: h.name for h in national.holidays(2025)}
    assert days[D(2025, 4, 18)] == "Sexta-feira Santa"  # Easter 2025 is 20 April
    assert D(2025, 11, 20) in days and D(2025, 12, 25) in days and D(2025, 4, 21) in days
    assert national.is_holiday(D(2024, 11, 20)) and not national.is_holiday(D(2023, 11, 20))
    assert not national.is_holiday(D(2025, 3, 4))  # Carnival is a ponto facultativo
    assert all(h.kind == "national" for h in national.holidays(2025))


def test_state_holidays_count_only_for_that_state():
    assert HolidayCalendar(state="SP").is_holiday(D(2025, 7, 9))  # Revolução Constitucionalista
    assert not HolidayCalendar(state="RJ").is_holiday(D(2025, 7, 9))
    assert not HolidayCalendar().is_holiday(D(2025, 7, 9))
    assert {h.kind for h in HolidayCalendar(state="SP").holidays(2025)} == {"national", "state"}
    with pytest.raises(ValueError):
        HolidayCalendar(state="XX")


def test_optional_days_are_closed_only_when_the_tenant_counts_them():
    counted = HolidayCalendar(count_optional=True)
    optional = {h.day: h.name for h in counted.holidays(2025) if h.kind == "optional"}
    assert optional == {D(2025, 3, 3): "Carnaval", D(2025, 3, 4): "Carnaval", D(2025, 3, 5): "Quarta-feira de Cinzas",
                        D(2025, 6, 19): "Corpus Christi"}
    assert not counted.is_holiday(D(2025, 12, 24)) and not counted.is_holiday(D(2025, 10, 28))


def test_municipal_and_team_days_one_year_or_every_year():
    cal = HolidayCalendar().with_extra(["01-25 Aniversário de São Paulo", "2026-08-15 Padroeira", "02-29 Bissexto"],
                                       kind="municipal")
    assert cal.is_holiday(D(2025, 1, 25)) and cal.is_holiday(D(2031, 1, 25))
    assert cal.is_holiday(D(2026, 8, 15)) and not cal.is_holiday(D(2027, 8, 15))
    assert cal.is_holiday(D(2028, 2, 29)) and not cal.is_holiday(D(2027, 3, 1))
    assert cal.name(D(2025, 1, 25)) == "Aniversário de São Paulo"
    team = cal.with_extra([D(2026, 12, 24), "2026-12-31"])
    assert team.is_holiday(D(2026, 12, 24)) and team.is_holiday(D(2026, 12, 31)) and not cal.is_holiday(D(2026, 12, 24))
    for bad in ("31/12/2026 Fim", "2026-02-30 Nada", "13-01", ""):
        with pytest.raises(ValueError):
            parse_entry(bad)


def test_business_days_skip_weekends_and_holidays():
    cal = HolidayCalendar(state="SP")
    # Thursday 17 April 2025: Friday is Good Friday, Monday the 21st is Tiradentes.
    assert cal.add_business_days(D(2025, 4, 17), 1) == D(2025, 4, 22)
    assert cal.add_business_days(D(2025, 4, 17), 0) == D(2025, 4, 17)
    assert HolidayCalendar().add_business_days(D(2025, 4, 10), 3) == D(2025, 4, 15)
    assert cal.closed_between(D(2025, 4, 1), D(2025, 4, 30)) == {D(2025, 4, 18), D(2025, 4, 21)}
    assert cal.closed_between(D(2024, 12, 24), D(2025, 1, 2)) == {D(2024, 12, 25), D(2025, 1, 1)}
    with pytest.raises(ValueError):
        cal.add_business_days(D(2025, 4, 17), -1)


UTC = dt.UTC
WEEKDAYS_9_18 = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def test_business_seconds_in_the_teams_hours_and_zone():
    # Monday 2025-04-14 17:00 São Paulo (20:00 UTC) → Tuesday 10:00 SP (13:00 UTC): 1 h Monday + 1 h Tuesday.
    start, end = dt.datetime(2025, 4, 14, 20, tzinfo=UTC), dt.datetime(2025, 4, 15, 13, tzinfo=UTC)
    assert business_hours.business_seconds(WEEKDAYS_9_18, None, "America/Sao_Paulo", start, end) == 2 * 3600
    assert business_hours.business_seconds(WEEKDAYS_9_18, None, "UTC", start, end) == 4 * 3600  # 9–13 Tue UTC
    assert business_hours.business_seconds({}, None, "UTC", start, end) == 17 * 3600  # always open: wall time
    assert business_hours.business_seconds(WEEKDAYS_9_18, None, "UTC", end, start) == 0


def test_business_seconds_skip_a_holiday_and_the_weekend():
    cal = HolidayCalendar()
    # Thursday 17 April 2025 17:00 SP → Tuesday 22nd 10:00 SP: 1 h Thursday, Good Friday, weekend, Tiradentes, 1 h.
    start = dt.datetime(2025, 4, 17, 20, tzinfo=UTC)
    end = dt.datetime(2025, 4, 22, 13, tzinfo=UTC)
    assert business_hours.business_seconds(WEEKDAYS_9_18, cal, "America/Sao_Paulo", start, end) == 2 * 3600
    assert business_hours.business_seconds(WEEKDAYS_9_18, ["2025-04-22"], "America/Sao_Paulo", start,
                                           end) == 19 * 3600  # own list only: Thu 1 h, Fri and Mon 9 h, Tue shut


def test_business_seconds_overnight_interval_belongs_to_the_day_it_starts():
    night = {"fri": [["22:00", "06:00"]]}
    start, end = dt.datetime(2025, 4, 10, tzinfo=UTC), dt.datetime(2025, 4, 14, tzinfo=UTC)
    assert business_hours.business_seconds(night, None, "UTC", start, end) == 8 * 3600  # Fri 22:00 → Sat 06:00
    assert business_hours.business_seconds(night, ["2025-04-11"], "UTC", start, end) == 0  # Friday closed
    assert business_hours.business_seconds(night, ["2025-04-12"], "UTC", start, end) == 8 * 3600  # tail on Sat
    midnight = {"mon": [["18:00", "24:00"]]}
    assert business_hours.business_seconds(midnight, None, "UTC", dt.datetime(2025, 4, 14, tzinfo=UTC),
                                           dt.datetime(2025, 4, 16, tzinfo=UTC)) == 6 * 3600


def test_is_open_takes_a_calendar():
    good_friday_noon_sp = dt.datetime(2025, 4, 18, 15, tzinfo=UTC)
    assert business_hours.is_open(WEEKDAYS_9_18, [], "America/Sao_Paulo", good_friday_noon_sp)
    assert not business_hours.is_open(WEEKDAYS_9_18, HolidayCalendar(), "America/Sao_Paulo", good_friday_noon_sp)
