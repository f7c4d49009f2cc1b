"""Business hours: weekly intervals in the team's timezone, holidays, overnight shifts, and clear errors."""

import datetime as dt

import pytest

from crm_app.domain.business_hours import is_open, parse_holidays, parse_hours, valid_timezone

SP = "America/Sao_Paulo"
WEEKDAYS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_empty_hours_are_always_open():
    assert is_open({}, [], SP, utc(2026, 11, 22, 3, 0))
    assert is_open(None, ["2026-11-22"], SP, utc(2026, 11, 22, 3, 0))


def test_weekday_interval_in_sao_paulo_time():
    # 2026-11-23 is a Monday. São Paulo is UTC-3 all year (no DST since 2019).
    assert not is_open(WEEKDAYS, [], SP, utc(2026, 11, 23, 11, 59))  # 08:59 local
    assert is_open(WEEKDAYS, [], SP, utc(2026, 11, 23, 12, 0))  # 09:00 local
    assert is_open(WEEKDAYS, [], SP, utc(2026, 11, 23, 20, 59))  # 17:59 local
    assert not is_open(WEEKDAYS, [], SP, utc(2026, 11, 23, 21, 0))  # 18:00 local: the end is exclusive
    # January (southern summer): still UTC-3, the old DST no longer shifts the hours.
    assert is_open(WEEKDAYS, [], SP, utc(2027, 1, 4, 12, 0))
    assert not is_open(WEEKDAYS, [], SP, utc(2027, 1, 4, 11, 0))


def test_weekend_closed_and_utc_late_evening_is_still_the_local_weekday():
    assert not is_open(WEEKDAYS, [], SP, utc(2026, 11, 28, 15, 0))  # Saturday
    # 20:30 UTC on Friday is 17:30 in São Paulo (open); 01:00 UTC on Saturday is still Friday 22:00 there (closed).
    assert is_open(WEEKDAYS, [], SP, utc(2026, 11, 27, 20, 30))
    assert not is_open(WEEKDAYS, [], SP, utc(2026, 11, 28, 1, 0))


def test_other_timezones_and_naive_datetimes():
    lisbon = {"mon": [["09:00", "18:00"]]}
    assert is_open(lisbon, [], "Europe/Lisbon", utc(2026, 11, 23, 9, 0))  # winter: UTC+0
    assert not is_open(lisbon, [], "Europe/Lisbon", utc(2026, 7, 6, 7, 30))  # summer (UTC+1): 08:30 local
    assert is_open(lisbon, [], "Europe/Lisbon", utc(2026, 7, 6, 8, 0))  # 09:00 local in summer
    assert not is_open(lisbon, [], "Europe/Lisbon", utc(2026, 7, 6, 17, 0))  # 18:00 local in summer
    assert is_open(WEEKDAYS, [], SP, dt.datetime(2026, 11, 23, 12, 0))  # naive is UTC
    assert is_open({"mon": [["09:00", "18:00"]]}, [], "Not/AZone", utc(2026, 11, 23, 9, 0))  # unknown zone: UTC


def test_holidays_close_the_whole_local_day():
    assert not is_open(WEEKDAYS, ["2026-11-20"], SP, utc(2026, 11, 20, 15, 0))  # Consciência Negra, a Friday
    assert is_open(WEEKDAYS, ["2026-11-20"], SP, utc(2026, 11, 19, 15, 0))


def test_overnight_interval():
    night = {"fri": [["22:00", "06:00"]]}
    assert not is_open(night, [], SP, utc(2026, 11, 28, 0, 59))  # Fri 21:59 local
    assert is_open(night, [], SP, utc(2026, 11, 28, 1, 0))  # Fri 22:00
    assert is_open(night, [], SP, utc(2026, 11, 28, 8, 59))  # Sat 05:59 (the shift started Friday)
    assert not is_open(night, [], SP, utc(2026, 11, 28, 9, 0))  # Sat 06:00
    assert not is_open(night, [], SP, utc(2026, 11, 29, 2, 0))  # Sat 23:00: no Saturday shift
    # A holiday on Friday cancels the shift; a holiday on Saturday does not cut Friday's shift short.
    assert not is_open(night, ["2026-11-27"], SP, utc(2026, 11, 28, 1, 0))
    assert not is_open(night, ["2026-11-27"], SP, utc(2026, 11, 28, 5, 0))
    assert is_open(night, ["2026-11-28"], SP, utc(2026, 11, 28, 5, 0))


def test_multiple_intervals_and_24_00():
    split = {"mon": [["13:00", "18:00"], ["08:00", "12:00"]], "tue": [["00:00", "24:00"]]}
    assert parse_hours(split)["mon"] == [["08:00", "12:00"], ["13:00", "18:00"]]
    assert not is_open(split, [], "UTC", utc(2026, 11, 23, 12, 30))  # lunch
    assert is_open(split, [], "UTC", utc(2026, 11, 23, 13, 0))
    assert is_open(split, [], "UTC", utc(2026, 11, 24, 23, 59))


@pytest.mark.parametrize(("raw", "message"), [
    ({"mon": [["9:00", "18:00"]]}, "HH:MM"),
    ({"mon": [["09:00", "25:00"]]}, "HH:MM"),
    ({"mon": [["09:00", "09:00"]]}, "empty"),
    ({"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}, "overlap"),
    ({"mon": [["09:00"]]}, "start and an end"),
    ({"funday": [["09:00", "12:00"]]}, "unknown weekday"),
    ({"mon": "09:00-18:00"}, "list"),
    (["mon"], "map weekdays"),
])
def test_parse_hours_refuses_with_a_clear_message(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(raw)


def test_parse_hours_normalises():
    assert parse_hours({"Monday": [["09:00", "18:00"]], "sun": []}) == {"mon": [["09:00", "18:00"]]}
    assert parse_hours(None) == {}


def test_holidays_and_timezones_validation():
    assert parse_holidays(["2026-12-25", "2026-01-01", "2026-12-25"]) == ["2026-01-01", "2026-12-25"]
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_holidays(["25/12/2026"])
    assert valid_timezone(SP) and not valid_timezone("Mars/Base")
