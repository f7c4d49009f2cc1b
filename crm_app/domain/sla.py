"""SLA deadlines from a conversation's milestones. Pure: no session, no clock (pass `now` in).

Three targets, each optional in a policy:

- first response: from the handoff to a person (the first handoff, assignment or transfer; or the customer's first
  message when no bot spoke before it) to the first human message. Bot time before the handoff never counts.
- next response: from a customer message that follows a human reply (the first such message; later ones do not
  restart the clock) to the next human message. One wait per customer turn; each late one is a breach of its own.
- resolution: from the same start as first response to the close. A reopen (or a customer message after the
  close) starts a new cycle with a new resolution clock; the first response is owed once per conversation.

The clock runs in the team's business hours when the policy says "business hours only" (`Clock`), else on the wall
clock. It stops while the conversation waits on the customer (after a human message until the customer writes:
resolution only, the response targets are not running then by definition) and while it is snoozed (all targets).

A breach is identified by its target and the instant its clock started (`Miss.key`), so a job that evaluates the
same conversation twice finds the same breach and acts on it once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from crm_app.domain import business_hours
from crm_app.domain.business_hours import ClosedDays

FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION = "first_response", "next_response", "resolution"
TARGETS: tuple[str, ...] = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)
ACTIVE, HIT, MISSED = "active", "hit", "missed"
# A conversation's priority (`Conversation.priority`): none, low, medium, high, urgent.
PRIORITIES: tuple[str, ...] = ("none", "low", "medium", "high", "urgent")
# Milestones: what facts.EVENTS records, plus the snooze and its end (an explicit wake, or `until`).
EVENTS: tuple[str, ...] = ("customer", "bot", "human", "handoff", "assign", "transfer", "close", "reopen",
                           "snooze", "wake")
_HANDOVER = frozenset({"handoff", "assign", "transfer"})


@dataclass(frozen=True)
class Clock:
    """How time counts: the team's weekly hours, closed days and zone; `business_only=False` is the wall clock."""

    hours: dict | None = None
    holidays: ClosedDays = None
    tz: str | None = None
    business_only: bool = True

    def seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Counted seconds of [start, end)."""
        if not self.business_only:
            return max((end - start).total_seconds(), 0.0)
        return business_hours.business_seconds(self.hours, self.holidays, self.tz, start, end)

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime | None:
        """The instant when `seconds` have been counted from `start` (None: no open time ahead)."""
        if not self.business_only:
            return start + dt.timedelta(seconds=seconds)
        return business_hours.add_business_seconds(self.hours, self.holidays, self.tz, start, seconds)


WALL = Clock(business_only=False)


@dataclass(frozen=True)
class Event:
    """One milestone. `until` is a snooze's planned end (None: until woken or the customer writes)."""

    at: dt.datetime
    kind: str
    until: dt.datetime | None = None


@dataclass(frozen=True)
class Targets:
    """A policy's targets in seconds; None is "no target"."""

    first_response: float | None = None
    next_response: float | None = None
    resolution: float | None = None

    def of(self, target: str) -> float | None:
        return getattr(self, target)


Pause = tuple[dt.datetime, dt.datetime | None]  # [start, end); end None: still paused, no end known


@dataclass(frozen=True)
class Miss:
    """One breach: a clock that reached its target before the thing it waited for happened."""

    target: str
    started_at: dt.datetime
    due_at: dt.datetime

    @property
    def key(self) -> str:
        return f"{self.target}:{self.started_at.astimezone(dt.UTC).isoformat()}"


@dataclass(frozen=True)
class TargetState:
    """The latest clock of one target.

    Attributes:
        status: "active" (running, or paused, not yet due), "hit" (done in time) or "missed" (due passed,
            done late or not yet).
        started_at: When this clock started.
        due_at: The deadline, None while paused with no known end (or with no open time ahead).
        done_at: When what it waited for happened, or None.
    """

    target: str
    status: str
    started_at: dt.datetime
    due_at: dt.datetime | None
    done_at: dt.datetime | None


@dataclass
class Evaluation:
    """Every target's latest state, every breach so far, and the next deadline still ahead of an active clock."""

    states: dict[str, TargetState] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)
    clocks: list[TargetState] = field(default_factory=list)  # every clock with a target, oldest first

    @property
    def next_due_at(self) -> dt.datetime | None:
        """The earliest deadline of a clock still running and not yet missed (what a scheduler waits for)."""
        dues = [s.due_at for s in self.states.values() if s.status == ACTIVE and s.done_at is None and s.due_at]
        return min(dues, default=None)


def compute_due(start: dt.datetime, seconds: float, clock: Clock, pauses: Iterable[Pause]) -> dt.datetime | None:
    """The instant when `seconds` of running time have passed since `start`, skipping closed time and pauses.

    None when a pause with no known end begins before the budget runs out.
    """
    left, cursor = float(seconds), start
    for pause_start, pause_end in _merge(pauses):
        if pause_end is not None and pause_end <= cursor:
            continue
        if pause_start > cursor:
            available = clock.seconds(cursor, pause_start)
            if left <= available:
                return clock.add(cursor, left)
            left -= available
        if pause_end is None:
            return None
        cursor = max(cursor, pause_end)
    return clock.add(cursor, left)


def _merge(pauses: Iterable[Pause]) -> list[Pause]:
    """Pauses sorted and merged where they overlap or touch."""
    merged: list[Pause] = []
    for start, end in sorted(pauses, key=lambda p: p[0]):
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, None if end is None or last_end is None else max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _state(target: str, start: dt.datetime, seconds: float, clock: Clock, pauses: Sequence[Pause],
           done_at: dt.datetime | None, now: dt.datetime) -> TargetState:
    """One clock's state at `now`: missed when done after the deadline, or not done and the deadline has come."""
    due = compute_due(start, seconds, clock, pauses)
    if due is not None and (due < done_at if done_at is not None else due <= now):
        status = MISSED
    else:
        status = HIT if done_at is not None else ACTIVE
    return TargetState(target, status, start, due, done_at)


@dataclass
class _Walk:
    """What the walk over the milestones has seen so far."""

    clocks: list[tuple[str, dt.datetime, dt.datetime | None]] = field(default_factory=list)
    snoozes: list[Pause] = field(default_factory=list)
    waits: list[Pause] = field(default_factory=list)  # waiting on the customer
    cycle_start: dt.datetime | None = None  # the resolution clock's start in this cycle
    first_start: dt.datetime | None = None
    first_done: bool = False
    first_from_customer: bool = False  # the first-response clock started at a customer message, not a handover
    next_start: dt.datetime | None = None
    replied: bool = False  # a human has written in this conversation
    bot_spoke: bool = False
    closed: bool = False
    waiting_since: dt.datetime | None = None
    snoozed_since: dt.datetime | None = None
    snoozed_until: dt.datetime | None = None


def _walk(events: Sequence[Event]) -> _Walk:
    """Turn the milestones into clocks (target, start, done_at or None) and pauses."""
    w = _Walk()
    for event in sorted(events, key=lambda e: e.at):
        if event.kind not in EVENTS:
            raise ValueError(f"unknown SLA event {event.kind!r}")
        _step(w, event)
    _wake(w, None)
    if w.first_start is not None and not w.first_done:
        w.clocks.append((FIRST_RESPONSE, w.first_start, None))
    if w.next_start is not None:
        w.clocks.append((NEXT_RESPONSE, w.next_start, None))
    if w.cycle_start is not None:
        w.clocks.append((RESOLUTION, w.cycle_start, None))
    if w.waiting_since is not None:
        w.waits.append((w.waiting_since, None))
    return w


def _step(w: _Walk, event: Event) -> None:  # noqa: C901 - one branch per milestone reads best as one table
    at, kind = event.at, event.kind
    if w.closed and kind in ("customer", "reopen", "handoff", "assign", "transfer", "human"):
        w.closed, w.cycle_start = False, None
        if w.replied or kind != "customer":
            w.cycle_start = at
    if w.snoozed_until is not None and w.snoozed_until <= at:
        _wake(w, w.snoozed_until)
    if kind in ("customer", "wake", "close"):
        _wake(w, at)
    if kind == "customer":
        _end_wait(w, at)
        if w.replied and w.next_start is None:
            w.next_start = at
        if w.first_start is None and not w.replied and not w.bot_spoke:
            w.first_start, w.first_from_customer = at, True
            w.cycle_start = w.cycle_start or at
    elif kind == "bot":
        w.bot_spoke = True
        if w.first_from_customer and not w.first_done:  # the bot answers: the clock waits for the handoff
            w.first_start, w.cycle_start, w.first_from_customer = None, None, False
    elif kind in _HANDOVER:
        if w.first_start is None and not w.replied:
            w.first_start = at
        w.cycle_start = w.cycle_start or at
    elif kind == "human":
        _human(w, at)
    elif kind == "snooze" and w.snoozed_since is None:
        w.snoozed_since, w.snoozed_until = at, event.until
    elif kind == "close":
        _close(w, at)


def _wake(w: _Walk, at: dt.datetime | None) -> None:
    """End the snooze at `at` (or at its planned end, if sooner); None: the end of the milestones."""
    if w.snoozed_since is None:
        return
    end = w.snoozed_until if at is None or (w.snoozed_until is not None and w.snoozed_until < at) else at
    if end is None or end > w.snoozed_since:
        w.snoozes.append((w.snoozed_since, end))
    w.snoozed_since = w.snoozed_until = None


def _human(w: _Walk, at: dt.datetime) -> None:
    if w.first_start is not None and not w.first_done:
        w.clocks.append((FIRST_RESPONSE, w.first_start, at))
    w.first_done = w.first_done or w.first_start is not None
    if w.first_start is None:  # a person wrote first (an outbound start): nothing owed before it
        w.first_start, w.first_done = at, True
        w.cycle_start = w.cycle_start or at
    if w.next_start is not None:
        w.clocks.append((NEXT_RESPONSE, w.next_start, at))
        w.next_start = None
    w.replied = True
    if w.waiting_since is None:
        w.waiting_since = at


def _end_wait(w: _Walk, at: dt.datetime) -> None:
    if w.waiting_since is not None:
        w.waits.append((w.waiting_since, at))
        w.waiting_since = None


def _close(w: _Walk, at: dt.datetime) -> None:
    if w.cycle_start is not None:
        w.clocks.append((RESOLUTION, w.cycle_start, at))
    _end_wait(w, at)
    w.next_start, w.cycle_start, w.closed = None, None, True


def evaluate(targets: Targets, events: Sequence[Event], clock: Clock, now: dt.datetime) -> Evaluation:
    """Every target's latest state and every breach, from the conversation's milestones, at `now`.

    Args:
        targets: The policy's targets (seconds; None: no target).
        events: The conversation's milestones, in any order.
        clock: Business hours (or the wall clock) the policy counts in.
        now: The evaluation instant (aware).
    """
    w = _walk(events)
    result = Evaluation()
    for target, start, done_at in sorted(w.clocks, key=lambda c: c[1]):
        seconds = targets.of(target)
        if seconds is None:
            continue
        pauses = w.snoozes + (w.waits if target == RESOLUTION else [])
        state = _state(target, start, seconds, clock, pauses, done_at, now)
        if state.status == MISSED and state.due_at is not None:
            result.misses.append(Miss(target, start, state.due_at))
        result.states[target] = state
        result.clocks.append(state)
    return result


WARN, ESCALATE = "warn", "escalate"


@dataclass(frozen=True)
class Action:
    """One thing the SLA job owes a conversation: a warning before a deadline, or one escalation step of a breach.

    `key` is stable across evaluations (the clock's start names the deadline or the breach), so the job records it
    and never does the same thing twice, even when a worker dies between two steps.
    """

    key: str
    kind: str  # WARN or ESCALATE
    target: str
    at: dt.datetime  # when it falls due
    step: int | None = None  # the escalation step's index in the policy's chain
    action: str | None = None  # the step's action (notify_supervisor, reassign_team, ...)
    user_id: int | None = None  # reassign_user's person
    due_at: dt.datetime | None = None  # the deadline it is about


def _start_key(target: str, started_at: dt.datetime) -> str:
    return f"{target}:{started_at.astimezone(dt.UTC).isoformat()}"


def plan_actions(evaluation: Evaluation, *, warn_before: dt.timedelta | None,
                 escalation: Sequence[dict]) -> list[Action]:
    """Every warning and escalation step the evaluation calls for, due or not, in order of when they fall due.

    A warning is owed for a running clock with a deadline (`warn_before` ahead of it, or at once when the clock
    started closer to it than that); escalation steps for each breach, `after_minutes` after its deadline.
    """
    actions: list[Action] = []
    if warn_before is not None:
        for state in evaluation.states.values():
            if state.status == ACTIVE and state.done_at is None and state.due_at is not None:
                at = max(state.due_at - warn_before, state.started_at)
                actions.append(Action(f"{WARN}:{_start_key(state.target, state.started_at)}", WARN, state.target,
                                      at, due_at=state.due_at))
    for miss in evaluation.misses:
        for index, step in enumerate(escalation):
            at = miss.due_at + dt.timedelta(minutes=int(step.get("after_minutes") or 0))
            actions.append(Action(f"{ESCALATE}:{miss.key}:{index}", ESCALATE, miss.target, at, index,
                                  step.get("action"), step.get("user_id"), miss.due_at))
    return sorted(actions, key=lambda a: (a.at, a.key))


def due_actions(actions: Sequence[Action], done: Iterable[str], now: dt.datetime) -> list[Action]:
    """The actions due at `now` and not yet done; a breach's steps go in order, never one before its predecessor."""
    finished = set(done)
    due: list[Action] = []
    for action in actions:
        if action.key in finished or action.at > now:
            continue
        if action.step:
            before = f"{action.key.rsplit(':', 1)[0]}:{action.step - 1}"
            if before not in finished and before not in {d.key for d in due}:
                continue
        due.append(action)
    return due


def next_wake_at(actions: Sequence[Action], done: Iterable[str], evaluation: Evaluation) -> dt.datetime | None:
    """When the job must look at this conversation again: the earliest undone action, or the next deadline."""
    finished = set(done)
    times = [a.at for a in actions if a.key not in finished]
    if evaluation.next_due_at is not None:
        times.append(evaluation.next_due_at)
    return min(times, default=None)
