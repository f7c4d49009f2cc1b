"""How a conversation's milestones become its analytics facts. Pure: no session, no clock.

One fact row per conversation *cycle*: a conversation's start, or a reopen, opens a cycle and a close ends it.
Each function below takes the cycle's fact (any object with the fields of `models.analytics.ConversationFact`),
changes it in place and returns the response rows it produced, as `Response` values. Business seconds come from
`clock(start, end)`, which the caller builds from the conversation's team (its weekly intervals, the holiday
calendar, the timezone); wall seconds are plain differences.

The definitions (shown as tooltips and in the API's field descriptions):

- bot time: cycle start → handoff, or → close when the bot resolved it alone;
- queue wait: handoff → first assignment to a person;
- first response time (FRT): handoff → first human message to the customer; bot messages never count;
- next response time: each customer message after a human reply → the next human reply (bot replies in between
  do not stop the clock);
- resolution time: cycle start → close; a reopen starts a new cycle;
- first-contact resolution: a closed cycle that was not reopened within 7 days of its close (`FCR_WINDOW`) and
  was not itself such a reopen (a return within 7 days is the same matter coming back); its rate is over the
  cycles closed, so a matter that took three cycles adds three resolutions and no first-contact one. A cycle
  closed less than 7 days ago counts until it is reopened;
- containment: closed by the bot with no human message;
- unanswered after handoff: closed (by anyone, or by inactivity) with no human message after the handoff;
- 24 h window missed: after the handoff, the customer's last message got no human answer within 24 h;
- busy share: the share of an attendant's online time during which at least one cycle assigned to them was open
  (`compute_busy_seconds`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WINDOW = dt.timedelta(hours=24)
FCR_WINDOW = dt.timedelta(days=7)  # a reopen this soon after a close: the matter was not resolved
Clock = Callable[[dt.datetime, dt.datetime], float]

FIRST, NEXT, WINDOW_MISSED = "first", "next", "window_missed"
# Who closed a cycle.
CLOSED_BY = ("bot", "human", "inactivity", "system")
FRT_BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("0-1m", 0, 60), ("1-5m", 60, 300), ("5-15m", 300, 900), ("15-60m", 900, 3600),
    ("1-4h", 3600, 14400), ("4h+", 14400, None))


@dataclass(frozen=True)
class Response:
    """One measured wait: a next response (`next`) or a missed 24 h window (`window_missed`, no duration)."""

    kind: str
    at: dt.datetime
    seconds: float | None
    business_seconds: float | None
    user_id: int | None


def _span(clock: Clock, start: dt.datetime, end: dt.datetime) -> tuple[float, float]:
    """Wall and business seconds of [start, end); never negative (clocks of two sources may disagree)."""
    if end <= start:
        return 0.0, 0.0
    return (end - start).total_seconds(), max(0.0, float(clock(start, end)))


def _owed(fact: Any) -> bool:
    """A human answer is owed: handed off, and the customer's last message is after the last human reply."""
    if fact.handoff_at is None or fact.last_customer_at is None:
        return False
    return fact.last_human_at is None or fact.last_human_at < fact.last_customer_at


def missed_window(fact: Any, at: dt.datetime) -> list[Response]:
    """A window that expired before `at` while a human answer was owed; it is counted once, then forgotten.

    Args:
        fact: The cycle.
        at: The moment of the event that looks (a message, a close).

    Returns:
        Zero or one `window_missed` response, dated when the window closed.
    """
    if not _owed(fact) or _already_counted(fact) or fact.last_customer_at + WINDOW > at:
        return []
    expired = fact.last_customer_at + WINDOW
    fact.windows_missed = (fact.windows_missed or 0) + 1
    fact.window_counted_at = fact.last_customer_at
    return [Response(WINDOW_MISSED, expired, None, None, fact.assignee_id)]


def _already_counted(fact: Any) -> bool:
    return fact.window_counted_at is not None and fact.window_counted_at == fact.last_customer_at


def customer_message(fact: Any, at: dt.datetime) -> list[Response]:
    """A customer message: maybe a missed window, then the next-response clock starts if a human had replied."""
    out = missed_window(fact, at)
    fact.customer_messages = (fact.customer_messages or 0) + 1
    if fact.first_human_at is not None and fact.awaiting_since is None:
        fact.awaiting_since = at
    if fact.last_customer_at is None or at > fact.last_customer_at:
        fact.last_customer_at = at
    return out


def bot_message(fact: Any, at: dt.datetime) -> list[Response]:
    """A bot message: counted, and nothing else (it never stops a waiting clock)."""
    fact.bot_messages = (fact.bot_messages or 0) + 1
    return []


def handoff(fact: Any, at: dt.datetime, clock: Clock, *, reason: str | None, team_id: int | None) -> list[Response]:
    """The bot hands over: bot time ends, the queue wait and the FRT clock start (the first handoff counts)."""
    if team_id is not None:
        fact.team_id = team_id
    if fact.handoff_at is not None:
        return []
    fact.handoff_at, fact.handoff_reason = at, (reason or "handoff")[:40]
    fact.bot_seconds, fact.bot_business_seconds = _span(clock, fact.opened_at, at)
    return []


def assign(fact: Any, at: dt.datetime, clock: Clock, *, user_id: int | None) -> list[Response]:
    """A person gets the conversation (or nobody): the first assignment after the handoff ends the queue wait.

    A person who takes a conversation from the bot without a handoff is the handoff ("takeover").
    """
    fact.assignee_id = user_id
    if user_id is None:
        return []
    if fact.handoff_at is None:
        handoff(fact, at, clock, reason="takeover", team_id=None)
    if fact.assigned_at is None:
        fact.assigned_at = at
        fact.queue_seconds, fact.queue_business_seconds = _span(clock, fact.handoff_at, at)
    return []


def transfer(fact: Any, at: dt.datetime, clock: Clock, *, user_id: int | None,
             team_id: int | None) -> list[Response]:
    """A transfer: counted; the team follows it; the FRT clock keeps running from the handoff."""
    fact.transfers = (fact.transfers or 0) + 1
    if team_id is not None:
        fact.team_id = team_id
    return assign(fact, at, clock, user_id=user_id)


def human_message(fact: Any, at: dt.datetime, clock: Clock, *, user_id: int | None) -> list[Response]:
    """A person's message to the customer: the first one after the handoff is the FRT, later ones close a
    next-response wait; a window that expired first is counted as missed."""
    out = missed_window(fact, at)
    if fact.handoff_at is None:
        handoff(fact, at, clock, reason="takeover", team_id=None)
    fact.human_messages = (fact.human_messages or 0) + 1
    if fact.first_human_at is None:
        fact.first_human_at, fact.first_human_user_id = at, user_id
        fact.frt_seconds, fact.frt_business_seconds = _span(clock, fact.handoff_at, at)
    elif fact.awaiting_since is not None:
        wall, business = _span(clock, fact.awaiting_since, at)
        out.append(Response(NEXT, at, wall, business, user_id))
    fact.awaiting_since, fact.last_human_at = None, at
    return out


def close(fact: Any, at: dt.datetime, clock: Clock, *, by: str) -> list[Response]:
    """The cycle ends: resolution time, containment, unanswered after handoff, a last missed window."""
    if fact.closed_at is not None:
        return []
    out = missed_window(fact, at)
    fact.closed_at, fact.closed_by = at, by if by in CLOSED_BY else "system"
    fact.resolution_seconds, fact.resolution_business_seconds = _span(clock, fact.opened_at, at)
    fact.contained = fact.closed_by == "bot" and not fact.human_messages
    if fact.first_contact is None:  # False already: this cycle is a matter that came back (see `reopen`)
        fact.first_contact = True
    fact.unanswered = fact.handoff_at is not None and fact.first_human_at is None
    if fact.handoff_at is None:  # the bot's time is the whole cycle when it resolved it alone
        fact.bot_seconds, fact.bot_business_seconds = fact.resolution_seconds, fact.resolution_business_seconds
    return out


def reopen(previous: Any, fact: Any, at: dt.datetime) -> bool:
    """A closed cycle is followed by a new one at `at`: within `FCR_WINDOW` of the close, neither the closed cycle
    nor the new one is a first-contact resolution.

    Returns:
        Whether the closed cycle's first-contact resolution changed (its close day's figures must be rebuilt).
    """
    previous.reopened = True
    if previous.closed_at is None or at - previous.closed_at >= FCR_WINDOW:
        return False
    fact.first_contact = False
    changed = previous.first_contact is not False
    previous.first_contact = False
    return changed


def frt_bucket(seconds: float) -> str:
    """The FRT distribution's bucket of a duration (0–1 min, 1–5, 5–15, 15–60, 1–4 h, 4 h+)."""
    for name, low, high in FRT_BUCKETS:
        if seconds >= low and (high is None or seconds < high):
            return name
    return FRT_BUCKETS[0][0]


def percentile(values: list[float], q: float) -> float | None:
    """The continuous percentile (PostgreSQL's `percentile_cont`) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


Stretch = tuple[dt.datetime, dt.datetime]


def _union(stretches: list[Stretch]) -> list[Stretch]:
    merged: list[Stretch] = []
    for start, end in sorted(s for s in stretches if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def compute_busy_seconds(online: list[Stretch], busy: list[Stretch]) -> tuple[float, float]:
    """Online seconds, and the online seconds during which at least one busy stretch ran (overlaps count once).

    Busy share (the attendant table): the second over the first. A busy stretch is one conversation cycle held by
    the attendant: from its first assignment to its close (or to now while it is open), credited wholly to the
    attendant holding it at the close (or now): a transferred cycle counts for its last assignee.

    Args:
        online: Stretches of presence "online", in any order, possibly overlapping.
        busy: Stretches of open assigned cycles, likewise.

    Returns:
        (online seconds, busy online seconds).
    """
    on, held = _union(online), _union(busy)
    total = sum((end - start).total_seconds() for start, end in on)
    both, i, j = 0.0, 0, 0
    while i < len(on) and j < len(held):
        start, end = max(on[i][0], held[j][0]), min(on[i][1], held[j][1])
        if end > start:
            both += (end - start).total_seconds()
        if on[i][1] < held[j][1]:
            i += 1
        else:
            j += 1
    return total, both


def compute_stats(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Average, median and p90 of some durations (None each when there are none), as the SQL aggregates give."""
    if not values:
        return None, None, None
    return sum(values) / len(values), percentile(values, 0.5), percentile(values, 0.9)
