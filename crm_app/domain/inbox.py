"""Pure helpers for the inbox: list previews, keyset cursors, phone display, canned-response variables, and the
local-time period filter."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from crm_app.domain.search import like_pattern

PREVIEW_LENGTH = 200
_SPACES = re.compile(r"\s+")

# One emoji per kind: the preview stays language-neutral, and the UI shows it as is.
_KIND_ICONS = {
    "image": "📷", "video": "🎥", "audio": "🎵", "voice": "🎤", "document": "📄", "sticker": "💟",
    "location": "📍", "contacts": "👤", "template": "📋", "order": "🛒", "unsupported": "⚠️",
}


def compute_preview(kind: str, body: str | None) -> str:
    """One line for the conversation list: the text, or the kind's emoji and its caption or name."""
    text = _SPACES.sub(" ", body or "").strip()
    icon = _KIND_ICONS.get(kind)
    line = f"{icon} {text}".strip() if icon else text
    if len(line) > PREVIEW_LENGTH:
        line = line[:PREVIEW_LENGTH - 1] + "…"
    return line


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def encode_cursor(moment: dt.datetime | None, row_id: int) -> str:
    """An opaque keyset cursor for (moment, id); exact to the microsecond."""
    micros = "" if moment is None else str((moment - _EPOCH) // dt.timedelta(microseconds=1))
    return base64.urlsafe_b64encode(f"{micros}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime | None, int]:
    """The (moment, id) a cursor encodes. Raises ValueError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        micros, _, row_id = raw.partition(":")
        moment = None if micros == "" else _EPOCH + dt.timedelta(microseconds=int(micros))
        return moment, int(row_id)
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:  # a huge number overflows the timedelta
        raise ValueError("invalid cursor") from exc


def encode_ranked_cursor(rank: int, moment: dt.datetime | None, row_id: int) -> str:
    """A keyset cursor for (rank, moment, id), e.g. a priority before the usual order."""
    return f"{int(rank)}.{encode_cursor(moment, row_id)}"


def decode_ranked_cursor(cursor: str) -> tuple[int, dt.datetime | None, int]:
    """The (rank, moment, id) a ranked cursor encodes. Raises ValueError when it is not one of ours."""
    rank, dot, rest = cursor.partition(".")
    if not dot or not rank.isdigit() or len(rank) > 3:
        raise ValueError("invalid cursor")
    return (int(rank), *decode_cursor(rest))


# The share of an SLA clock's window, at its end, in which the deadline counts as "at risk" (amber, then red).
SLA_RISK_SHARE = 0.2


def sla_level(due_at: dt.datetime | None, started_at: dt.datetime | None, now: dt.datetime) -> str:
    """"" without a deadline; "late" once it passed; "risk" in the last `SLA_RISK_SHARE` of [started, due];
    else "ok". The list's "SLA em risco" filter is "risk" or "late"."""
    if due_at is None:
        return ""
    if now >= due_at:
        return "late"
    if started_at is not None and (due_at - now) <= (due_at - started_at) * SLA_RISK_SHARE:
        return "risk"
    return "ok"


def duration_words(seconds: float) -> str:
    """A countdown's words, the same in pt-BR and English: "< 1 min", "12 min", "2 h 5 min", "3 d 4 h"."""
    minutes = int(abs(seconds) // 60)
    if minutes < 1:
        return "< 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h" if hours % 24 else f"{hours // 24} d"


def display_phone(phone_e164: str | None) -> str:
    """A phone as people read it: "+55 11 98123-4567" for Brazil, the E.164 form elsewhere."""
    phone = phone_e164 or ""
    digits = phone.lstrip("+")
    if digits.startswith("55") and len(digits) in (12, 13) and digits.isdigit():
        local = digits[4:]
        return f"+55 {digits[2:4]} {local[:-4]}-{local[-4:]}"
    return phone


_VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_]+)\s*\}\}")


def render_variables(content: str, values: Mapping[str, str | None]) -> str:
    """Replace `{{name}}` with `values[name]` (missing value: empty); unknown names stay as typed."""
    def substitute(match: re.Match) -> str:
        name = match.group(1).lower()
        if name not in values:
            return match.group(0)
        return values[name] or ""

    return _VARIABLE.sub(substitute, content)


_PHONE_LIKE = re.compile(r"^[\d\s()+.\-]+$")


def search_pattern(query: str | None) -> str | None:
    """The LIKE pattern for a search box: a typed phone ("(11) 98123-4567") searches by its digits only."""
    text = (query or "").strip()
    if _PHONE_LIKE.match(text) and any(ch.isdigit() for ch in text):
        text = "".join(ch for ch in text if ch.isdigit())
    return like_pattern(text)


# What a period filter of the inbox dates: a cycle opened, closed or first answered by a person, or a customer
# message (the analytics heatmap's cells).
PERIOD_EVENTS = ("opened", "closed", "first_response", "inbound")
MAX_PERIOD_DAYS = 400


@dataclass(frozen=True)
class Period:
    """An inbox period filter: local days [since, until] of the tenant, optionally one weekday (0 = Monday)
    and one local hour of each of those days, applied to the moment `on` names (one of `PERIOD_EVENTS`)."""

    since: dt.date
    until: dt.date
    on: str = "opened"
    weekday: int | None = None
    hour: int | None = None


def parse_period(since: str, until: str, on: str = "", weekday: str = "", hour: str = "") -> Period | None:
    """The period of an inbox URL's `since`, `until`, `on`, `weekday` and `hour`; None when `since` is empty.

    Raises:
        ValueError: An unreadable date, weekday or hour, an unknown event, an inverted or too long range.
    """
    if not since:
        return None
    first = dt.date.fromisoformat(since[:10])
    last = dt.date.fromisoformat(until[:10]) if until else first
    if last < first or (last - first).days >= MAX_PERIOD_DAYS:
        raise ValueError("the range must run forward and cover at most 400 days")
    if (on or "opened") not in PERIOD_EVENTS:
        raise ValueError("unknown event")
    day = int(weekday) if weekday != "" else None
    at = int(hour) if hour != "" else None
    if (day is not None and not 0 <= day <= 6) or (at is not None and not 0 <= at <= 23):
        raise ValueError("weekday 0–6, hour 0–23")
    return Period(first, last, on or "opened", day, at)


def compute_local_ranges(period: Period, tz: str) -> list[tuple[dt.datetime, dt.datetime]]:
    """The UTC stretches [start, end) a period covers in timezone `tz`, adjacent stretches merged.

    One stretch per matching local day (or per matching hour of it), each cut where the local clock says, so a
    day of 23 or 25 hours and a São Paulo midnight at 03:00 UTC come out right; an hour is every moment whose own
    local time has that day and hour (`compute_local_hours`), as the charts count. Works on any SQL dialect as
    plain comparisons.
    """
    zone = ZoneInfo(tz)
    out: list[tuple[dt.datetime, dt.datetime]] = []
    day = period.since
    while day <= period.until:
        if period.weekday is None or day.weekday() == period.weekday:
            if period.hour is None:
                stretches = [(dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC),
                              dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC))]
            else:  # a few hours either side: whatever the offset did around it, the hour lies within
                near = dt.datetime.combine(day, dt.time(period.hour), zone).astimezone(dt.UTC)
                stretches = [(a, b) for a, b, date, hour in compute_local_hours(near - _MARGIN, near + 2 * _MARGIN, tz)
                             if date == day and hour == period.hour]
            for start, end in stretches:
                if out and out[-1][1] == start:
                    out[-1] = (out[-1][0], end)
                else:
                    out.append((start, end))
        day += dt.timedelta(days=1)
    return out


_MARGIN = dt.timedelta(hours=3)


def compute_local_hours(start: dt.datetime, end: dt.datetime,
                        tz: str) -> list[tuple[dt.datetime, dt.datetime, dt.date, int]]:
    """[start, end) cut into UTC stretches of one local hour each: (start, end, local day, local hour).

    Each moment is read as converting it alone reads it (zoneinfo here, `AT TIME ZONE` in PostgreSQL): when the
    clocks go back, the repeated hour is one stretch of two real hours; when they go forward, the skipped hour
    has none.
    """
    zone = ZoneInfo(tz)
    out = []
    cursor, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    while cursor < end:
        local = cursor.astimezone(zone)
        top = local.replace(minute=0, second=0, microsecond=0)
        # The next local hour on the wall clock (a naive step, then read in the zone: a gap or a fold resolves
        # to the first real moment with the next hour); a half-hour shift can land behind, so step in UTC then.
        following = (top + dt.timedelta(hours=1)).astimezone(dt.UTC)
        if following <= cursor:
            following = cursor + (dt.timedelta(hours=1) - (local.replace(tzinfo=None) - top.replace(tzinfo=None)))
        piece_end = min(following, end)
        out.append((cursor, piece_end, local.date(), local.hour))
        cursor = piece_end
    return out
