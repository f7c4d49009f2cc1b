"""Business hours of a team: weekly intervals, holidays and a timezone. Pure, no database.

Hours are stored as JSON, `{"mon": [["09:00", "18:00"]], "sat": [["09:00", "12:00"]]}`. A weekday that is missing
or empty is closed; an empty dict means "always open" (a team that never set hours must not turn customers away).
An interval whose end is not after its start runs overnight (22:00–06:00 is open from 22:00 until 06:00 of the next
day), and "24:00" may end an interval. Holidays are ISO dates in the team's timezone: the whole local day is closed,
except for the tail of an overnight interval that started the day before (a night shift that began on a workday
finishes its shift).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterator
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
DEFAULT_TIMEZONE = "America/Sao_Paulo"


def _minutes(value: object, *, day: str) -> int:
    """"HH:MM" as minutes since midnight; ValueError that names the day when it is not a time."""
    if not isinstance(value, str) or not _TIME.match(value.strip()):
        raise ValueError(f"{day}: '{value}' is not a time in HH:MM (00:00 to 24:00)")
    hours, minutes = value.strip().split(":")
    return int(hours) * 60 + int(minutes)


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_day(day: str, intervals: object) -> list[list[str]]:
    """One weekday's intervals, normalised to "HH:MM" and sorted; refuses overlaps and empty intervals."""
    if not isinstance(intervals, list | tuple):
        raise ValueError(f"{day}: intervals must be a list of [start, end] pairs")
    spans: list[tuple[int, int]] = []
    for pair in intervals:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"{day}: each interval needs a start and an end")
        start, end = _minutes(pair[0], day=day), _minutes(pair[1], day=day)
        if start == end:
            raise ValueError(f"{day}: interval {_fmt(start)}–{_fmt(end)} is empty")
        if start == 24 * 60:
            raise ValueError(f"{day}: an interval cannot start at 24:00")
        spans.append((start, end))
    spans.sort()
    _refuse_overlaps(day, spans)
    return [[_fmt(s), _fmt(e)] for s, e in spans]


def _refuse_overlaps(day: str, spans: list[tuple[int, int]]) -> None:
    """Same-day intervals must not overlap (an overnight one counts until midnight)."""
    last_end = -1
    for start, end in spans:
        if start < last_end:
            raise ValueError(f"{day}: intervals overlap at {_fmt(start)}")
        last_end = end if end > start else 24 * 60


def parse_hours(raw: dict | None) -> dict[str, list[list[str]]]:
    """Validate and normalise a business-hours dict; ValueError with a readable message when it is wrong.

    Keys are weekday abbreviations (mon…sun, case-insensitive); days with no intervals are dropped.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("business hours must map weekdays to lists of intervals")
    result: dict[str, list[list[str]]] = {}
    for key, intervals in raw.items():
        day = str(key).strip().lower()[:3]
        if day not in WEEKDAYS or str(key).strip().lower() not in (day, _long_name(day)):
            raise ValueError(f"unknown weekday '{key}' (use mon, tue, wed, thu, fri, sat, sun)")
        parsed = _parse_day(day, intervals)
        if parsed:
            result[day] = parsed
    return {day: result[day] for day in WEEKDAYS if day in result}


def _long_name(day: str) -> str:
    return {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday",
            "sat": "saturday", "sun": "sunday"}[day]


def parse_holidays(raw: list | None) -> list[str]:
    """Validate ISO dates (YYYY-MM-DD); sorted, without duplicates."""
    dates: set[str] = set()
    for value in raw or []:
        try:
            dates.add(dt.date.fromisoformat(str(value).strip()).isoformat())
        except ValueError:
            raise ValueError(f"'{value}' is not a date in YYYY-MM-DD") from None
    return sorted(dates)


def zone(tz: str | None) -> dt.tzinfo:
    """The zone named `tz`; São Paulo when it is empty, UTC when the name is unknown."""
    try:
        return ZoneInfo(tz or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def valid_timezone(tz: str) -> bool:
    """Whether `tz` is a known IANA zone name."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Calendar(Protocol):
    """What these functions need of a holiday calendar (`crm_app.domain.calendar.HolidayCalendar`)."""

    def is_holiday(self, day: dt.date) -> bool: ...


ClosedDays = Calendar | Collection[str | dt.date] | None


def _closed(holidays: ClosedDays) -> Callable[[dt.date], bool]:
    """A test for closed days: a calendar, or ISO dates / dates (a team's own list)."""
    if holidays is None:
        return lambda day: False
    if hasattr(holidays, "is_holiday"):
        return holidays.is_holiday
    days = {d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in holidays}
    return days.__contains__


def is_open(hours: dict | None, holidays: ClosedDays, tz: str | None, now: dt.datetime) -> bool:
    """Whether the team is open at `now` (aware; naive is taken as UTC). Empty hours mean always open.

    `holidays` is a calendar or a list of closed dates (ISO strings or dates)."""
    if not hours:
        return True
    try:
        week = parse_hours(hours)
    except ValueError:
        return True  # Bad stored hours must not silence a team; the settings page refuses them on save.
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    local = now.astimezone(zone(tz))
    closed = _closed(holidays)
    minute = local.hour * 60 + local.minute
    today, yesterday = local.date(), local.date() - dt.timedelta(days=1)
    if not closed(today) and _open_today(week.get(WEEKDAYS[today.weekday()], []), minute):
        return True
    if closed(yesterday):
        return False
    return _open_from_yesterday(week.get(WEEKDAYS[yesterday.weekday()], []), minute)


def _open_today(intervals: list[list[str]], minute: int) -> bool:
    """Intervals that started today: same-day ones, and overnight ones until midnight."""
    for start_s, end_s in intervals:
        start, end = _minutes(start_s, day=""), _minutes(end_s, day="")
        if end > start and start <= minute < end:
            return True
        if end < start and minute >= start:
            return True
    return False


def _open_from_yesterday(intervals: list[list[str]], minute: int) -> bool:
    """The tail after midnight of yesterday's overnight intervals."""
    for start_s, end_s in intervals:
        start, end = _minutes(start_s, day=""), _minutes(end_s, day="")
        if end < start and minute < end:
            return True
    return False


def _week(hours: dict | None) -> dict[str, list[list[str]]]:
    """Parsed hours; bad stored hours count as always open (empty)."""
    try:
        return parse_hours(hours) if hours else {}
    except ValueError:
        return {}


def _spans(week: dict[str, list[list[str]]], closed: Callable[[dt.date], bool], where: dt.tzinfo,
           day: dt.date, last: dt.date) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The open spans (UTC) of the days from `day` to `last`, day by day, each day's in order.

    An overnight interval belongs to the day it starts on, tail included, and only when that day is open.
    """
    while day <= last:
        if not closed(day):
            for start_s, end_s in week.get(WEEKDAYS[day.weekday()], []):
                opens, closes = _minutes(start_s, day=""), _minutes(end_s, day="")
                if closes <= opens:
                    closes += 24 * 60
                yield _at(day, opens, where), _at(day, closes, where)
        day += dt.timedelta(days=1)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def business_seconds(hours: dict | None, holidays: ClosedDays, tz: str | None, start: dt.datetime,
                     end: dt.datetime) -> float:
    """Seconds of [start, end) inside the weekly intervals, skipping closed days (aware; naive is UTC).

    Empty hours mean always open (the wall time). An overnight interval belongs to the day it starts on: it
    counts when that day is open, tail included, as `is_open` has it. Bad stored hours count as always open.
    """
    start, end = _aware(start), _aware(end)
    if end <= start:
        return 0.0
    week = _week(hours)
    if not week:
        return (end - start).total_seconds()
    where = zone(tz)
    first, last = start.astimezone(where).date() - dt.timedelta(days=1), end.astimezone(where).date()
    total = 0.0
    for span_start, span_end in _spans(week, _closed(holidays), where, first, last):
        total += max((min(end, span_end) - max(start, span_start)).total_seconds(), 0.0)
    return total


# A week's hours with every day a holiday has no open time at all; give up after this many days.
HORIZON_DAYS = 3 * 366


def add_business_seconds(hours: dict | None, holidays: ClosedDays, tz: str | None, start: dt.datetime,
                         seconds: float) -> dt.datetime | None:
    """The instant when `seconds` of open time have passed since `start`: the inverse of `business_seconds`.

    Closed time is skipped (a deadline that falls due at closing moves to the next opening); the result lies
    inside an open span, or at its end when the budget runs out exactly there. Empty or bad hours: the wall time.
    None when there is not that much open time within HORIZON_DAYS (hours whose every day is closed).
    """
    start = _aware(start)
    week = _week(hours)
    if seconds <= 0 or not week:
        return start + dt.timedelta(seconds=max(seconds, 0))
    where = zone(tz)
    first = start.astimezone(where).date() - dt.timedelta(days=1)
    left, cursor = float(seconds), start
    for span_start, span_end in _spans(week, _closed(holidays), where, first,
                                       first + dt.timedelta(days=HORIZON_DAYS)):
        begin = max(cursor, span_start)  # an overnight tail may overlap the next day's first interval
        available = (span_end - begin).total_seconds()
        if available <= 0:
            continue
        if left <= available:
            return begin + dt.timedelta(seconds=left)
        left, cursor = left - available, span_end
    return None


def _at(day: dt.date, minutes: int, where: dt.tzinfo) -> dt.datetime:
    """The instant of `minutes` after local midnight of `day` (past 24 h: on the following days)."""
    extra_days, minute = divmod(minutes, 24 * 60)
    local = dt.datetime.combine(day + dt.timedelta(days=extra_days), dt.time(minute // 60, minute % 60), where)
    return local.astimezone(dt.UTC)
