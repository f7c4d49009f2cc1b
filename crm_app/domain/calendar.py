"""The business-day calendar shared by the whole product: holidays and business days. Pure, no database.

National and state holidays come from the `holidays` package (Brazil and its states; 20 November is national from
2024). Carnival (Monday and Tuesday), Ash Wednesday and Corpus Christi are *pontos facultativos*: open by default,
closed when a tenant counts them (`count_optional`). Municipal days an admin adds, and a team's own closed days, come
in as `extra`.

A day is a business day when it is Monday to Friday and not a holiday of the calendar. Due dates "in N business
days" count the days after the start (the start itself never counts).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

import holidays as holiday_data

STATES: tuple[str, ...] = ("AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
                           "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO")
KINDS: tuple[str, ...] = ("national", "state", "optional", "municipal", "team")
# The pontos facultativos a tenant may count as closed; the package lists more (eves, civil servants' day).
OPTIONAL_NAMES: tuple[str, ...] = ("Carnaval", "Quarta-feira de Cinzas", "Corpus Christi")
EVERY_YEAR = 4  # the year of an `extra` day that repeats every year (a leap year, so 02-29 fits)
_ENTRY = re.compile(r"^\s*(?:(\d{4})-)?(\d{2})-(\d{2})\s*(.*?)\s*$")


@dataclass(frozen=True)
class Holiday:
    day: dt.date
    name: str
    kind: str  # one of KINDS


@lru_cache(maxsize=512)
def _national(year: int) -> tuple[Holiday, ...]:
    found = holiday_data.Brazil(years=year, language="pt_BR")
    return tuple(Holiday(day, name, "national") for day, name in sorted(found.items()))


@lru_cache(maxsize=2048)
def _state(state: str, year: int) -> tuple[Holiday, ...]:
    national = {h.day for h in _national(year)}
    found = holiday_data.Brazil(years=year, subdiv=state, language="pt_BR")
    return tuple(Holiday(day, name, "state") for day, name in sorted(found.items()) if day not in national)


@lru_cache(maxsize=512)
def _optional(year: int) -> tuple[Holiday, ...]:
    found = holiday_data.Brazil(years=year, categories=("optional",), language="pt_BR")
    return tuple(Holiday(day, name, "optional") for day, name in sorted(found.items()) if name in OPTIONAL_NAMES)


def parse_entry(text: str, *, kind: str = "municipal") -> tuple[int | None, int, int, str]:
    """One admin-typed day: "YYYY-MM-DD Name" (that date only) or "MM-DD Name" (every year).

    Returns (year or None, month, day, name). Raises ValueError with the reason.
    """
    match = _ENTRY.match(text or "")
    if not match:
        raise ValueError(f"'{text}' is not a date: use YYYY-MM-DD or MM-DD (every year), then the name")
    year, month, day, name = match.groups()
    try:
        dt.date(int(year) if year else EVERY_YEAR, int(month), int(day))
    except ValueError:
        raise ValueError(f"'{text}' is not a real date") from None
    return (int(year) if year else None), int(month), int(day), name or kind


@dataclass(frozen=True)
class HolidayCalendar:
    """The closed days of one tenant (and, with `with_extra`, of one team).

    Attributes:
        state: The tenant's UF (e.g. "SP"), whose state holidays count; None for national ones only.
        count_optional: Carnival, Ash Wednesday and Corpus Christi count as closed.
        extra: Municipal days the admin added and a team's own days. A day in year EVERY_YEAR repeats yearly.
    """

    state: str | None = None
    count_optional: bool = False
    extra: tuple[Holiday, ...] = ()

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in STATES:
            raise ValueError(f"unknown state {self.state!r}")

    def holidays(self, year: int) -> list[Holiday]:
        """The days of `year` that count as closed, sorted (one entry per day: the first kind in KINDS wins)."""
        found: dict[dt.date, Holiday] = {}
        groups = [_national(year), _state(self.state, year) if self.state else ()]
        if self.count_optional:
            groups.append(_optional(year))
        groups.append(tuple(self._extra_in(year)))
        for group in groups:
            for holiday in group:
                found.setdefault(holiday.day, holiday)
        return sorted(found.values(), key=lambda h: h.day)

    def _extra_in(self, year: int) -> Iterable[Holiday]:
        for holiday in self.extra:
            if holiday.day.year == year:
                yield holiday
            elif holiday.day.year == EVERY_YEAR:
                try:
                    yield replace(holiday, day=holiday.day.replace(year=year))
                except ValueError:  # 29 February in a common year
                    continue

    def _closed_days(self, year: int) -> frozenset[dt.date]:
        cache = self.__dict__.setdefault("_cache", {})
        if year not in cache:
            cache[year] = frozenset(h.day for h in self.holidays(year))
        return cache[year]

    def name(self, day: dt.date) -> str | None:
        """The holiday's name on `day`, or None."""
        return next((h.name for h in self.holidays(day.year) if h.day == day), None)

    def is_holiday(self, day: dt.date) -> bool:
        return day in self._closed_days(day.year)

    def closed_between(self, start: dt.date, end: dt.date) -> frozenset[dt.date]:
        """The holidays from `start` to `end`, both included (weekends are not holidays)."""
        days: set[dt.date] = set()
        for year in range(start.year, end.year + 1):
            days.update(d for d in self._closed_days(year) if start <= d <= end)
        return frozenset(days)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def add_business_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th business day after `start` (n >= 0; n == 0 is `start` itself)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        while n:
            day += dt.timedelta(days=1)
            if self.is_business_day(day):
                n -= 1
        return day

    def with_extra(self, days: Iterable[dt.date | str | Holiday], kind: str = "team") -> HolidayCalendar:
        """This calendar plus more closed days: dates, "YYYY-MM-DD Name"/"MM-DD Name" strings, or holidays."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        added: list[Holiday] = []
        for item in days:
            if isinstance(item, Holiday):
                added.append(item)
            elif isinstance(item, dt.date):
                added.append(Holiday(item, kind, kind))
            else:
                year, month, day, name = parse_entry(item, kind=kind)
                added.append(Holiday(dt.date(year or EVERY_YEAR, month, day), name, kind))
        return replace(self, extra=self.extra + tuple(added))
