"""The one query path behind the analytics cards, series, tables and API.

Counts and sums come per local day: from the stored rollups for days before today, from the raw rows for today
(and for every day when a label filter is set, which rollups do not carry). The summary is the sum of the
series' days, so the two always agree. Medians, p90s and averages of durations come from the facts, never
from the rollups. Who sees what: executives and admins the tenant, supervisors their teams, attendants only
their own figures.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain import analytics as rules
from crm_app.errors import ValidationError
from crm_app.models import Inbox, Label, Team, TeamMember, User
from crm_app.services import call
from crm_app.services.analytics import busy, rollups
from crm_app.services.core.actors import Actor, fetch_owned, require_role

READERS = ("admin", "executive", "supervisor", "attendant")
MAX_DAYS = 400
DURATIONS = ("frt", "next_response", "resolution", "bot", "queue")
# metric: (table alias + timestamp, wall column, business column, attendant column)
_DURATION_SOURCES = {
    "frt": ("f.first_human_at", "f.frt_seconds", "f.frt_business_seconds", "f.first_human_user_id"),
    "resolution": ("f.closed_at", "f.resolution_seconds", "f.resolution_business_seconds", "f.assignee_id"),
    "bot": ("coalesce(f.handoff_at, f.closed_at)", "f.bot_seconds", "f.bot_business_seconds", "f.assignee_id"),
    "queue": ("f.assigned_at", "f.queue_seconds", "f.queue_business_seconds", "f.assignee_id"),
    "next_response": ("r.at", "r.seconds", "r.business_seconds", "r.user_id"),
}


@dataclass(frozen=True)
class Filters:
    """What a report covers: local days [since, until] and optional number, team, label and attendant."""

    since: dt.date
    until: dt.date
    team_id: int | None = None
    inbox_id: int | None = None
    label_id: int | None = None
    attendant_id: int | None = None

    def previous(self) -> Filters:
        """The same filters over the period of equal length just before."""
        length = (self.until - self.since).days + 1
        return replace(self, since=self.since - dt.timedelta(days=length), until=self.since - dt.timedelta(days=1))


@dataclass(frozen=True)
class Scope:
    """Whose figures the actor may read: None means no limit."""

    team_ids: frozenset[int] | None = None
    attendant_id: int | None = None


@dataclass
class Duration:
    """A duration's count, average, median and p90, in wall seconds and in business seconds."""

    count: int = 0
    avg: float | None = None
    median: float | None = None
    p90: float | None = None
    business_avg: float | None = None
    business_median: float | None = None
    business_p90: float | None = None


@dataclass
class Report:
    """Per-day counts (the series), their sum (the summary) and the durations over the period."""

    days: list[dict] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    durations: dict[str, Duration] = field(default_factory=dict)
    # [weekday 0=Mon][local hour]: conversations whose customer wrote then (summed over the period's days)
    heatmap: list[list[int]] = field(default_factory=list)
    staffing: list[dict] = field(default_factory=list)  # per local hour: inbound and attendants online (averages)


def period(name: str, today: dt.date, since: str | None = None, until: str | None = None) -> tuple[dt.date, dt.date]:
    """The local days of a named period: "today", "7d", "30d", "90d", "365d", or "custom" with ISO dates.

    Raises:
        ValidationError: An unknown period, unreadable dates, an inverted or too long range.
    """
    if name == "today":
        return today, today
    if name in ("7d", "30d", "90d", "365d"):
        return today - dt.timedelta(days=int(name[:-1]) - 1), today
    if name != "custom":
        raise ValidationError("period must be today, 7d, 30d, 90d, 365d or custom", field="period")
    try:
        first, last = dt.date.fromisoformat(since or ""), dt.date.fromisoformat(until or "")
    except ValueError as exc:
        raise ValidationError("since and until must be dates (YYYY-MM-DD)", field="since") from exc
    if last < first or (last - first).days >= MAX_DAYS:
        raise ValidationError(f"the range must run forward and cover at most {MAX_DAYS} days", field="until")
    return first, last


def scope_for(session: Session, actor: Actor) -> Scope:
    """Executives and admins: the tenant; supervisors: the teams they belong to; attendants: themselves."""
    require_role(actor, *READERS)
    if actor.role in ("admin", "executive"):
        return Scope()
    if actor.role == "supervisor":
        teams = session.exec(select(TeamMember.team_id).where(TeamMember.user_id == actor.user_id)).all()
        return Scope(team_ids=frozenset(teams))
    return Scope(attendant_id=actor.user_id)


def check_filters(session: Session, actor: Actor, filters: Filters) -> None:
    """Every id in the filters belongs to the actor's tenant (else the same NotFound as a missing one)."""
    for model, value, what in ((Team, filters.team_id, "team"), (Inbox, filters.inbox_id, "number"),
                               (Label, filters.label_id, "label"), (User, filters.attendant_id, "attendant")):
        if value is not None:
            fetch_owned(session, model, value, actor=actor, what=what)


def today_for(session: Session, tenant_id: int, now: dt.datetime | None = None) -> dt.date:
    """The tenant's local date now."""
    return (now or utcnow()).astimezone(ZoneInfo(rollups.tenant_timezone(session, tenant_id))).date()


def report(session: Session, *, actor: Actor, filters: Filters, now: dt.datetime | None = None,
           demand: bool = True, durations: tuple[str, ...] = DURATIONS) -> Report:
    """The figures of a period for the actor, by the one query path (see the module's docstring).

    Args:
        session: The caller's session.
        actor: Any reader; the scope narrows what they see.
        filters: The period and filters.
        now: The moment that decides what "today" is (default: now).
        demand: Whether to compute the heatmap and staffing (the previous period's cards need neither).
        durations: Which durations to compute (the series needs none, the previous period's cards two).

    Returns:
        Days, totals, durations, heatmap and staffing.
    """
    scope = scope_for(session, actor)
    check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the percentiles on a second connection, meanwhile
        sorted_ = beside(session, pool, all_durations, actor.tenant_id, tz, filters, scope, durations) \
            if durations else None
        parts = _parts(session, actor.tenant_id, tz, filters, scope, today_for(session, actor.tenant_id, now),
                       ids=demand)
        out = Report()
        out.days = _with_contacts(session, actor.tenant_id, tz, filters, scope, parts.days())
        out.totals = {name: sum(day[name] for day in out.days) for name in out.days[0] if name != "day"}
        if demand:
            out.heatmap, out.staffing = parts.demand()
        out.durations = sorted_.result() if sorted_ else {}
    return out


def beside(session: Session, pool: ThreadPoolExecutor, fn, /, *args, **kwargs) -> Future:
    """Run a read on a second connection while the caller goes on (PostgreSQL); on SQLite, on the caller's
    session, right away (one file, nothing to gain from a second connection).

    Args:
        session: The caller's session.
        pool: Where the second connection's work runs.
        fn: A service function whose first parameter is the session.
        *args: Its arguments after the session.
        **kwargs: Its keyword arguments.

    Returns:
        A future of its result.
    """
    if rollups.is_postgres(session):
        return pool.submit(call, fn, *args, **kwargs)
    done: Future = Future()
    done.set_result(fn(session, *args, **kwargs))
    return done


_NAMES = rollups.COUNTS + rollups.SUMS + ("online_seconds",)


def _parts(session: Session, tenant_id: int, tz: str, filters: Filters, scope: Scope, today: dt.date,
           ids: bool = False) -> _Parts:
    """One `_Parts` per session and question: the page's cards and three tables share today's raw rows. `ids`:
    the heatmap's conversation ids are needed (a kept one without them is replaced)."""
    key = ("analytics.parts", tenant_id, tz, filters, scope, today)
    if key not in session.info or (ids and not session.info[key].ids):
        session.info[key] = _Parts(session, tenant_id, tz, filters, scope, today, ids)
    return session.info[key]


class _Parts:
    """The period split in two: stored rollups (summed by SQL) before today, raw rows (summed here) from today.

    Both halves apply the same filters and scope, so a day reads the same from either (rollups = raw). A label
    filter reads the per-label rollups (`analytics_daily_labels`), except for demand (the heatmap and staffing,
    which the page alone asks for): the hourly rollups carry no labels, so then every day is read raw. SQLite
    keeps no rollups and reads every day raw.
    """

    def __init__(self, session: Session, tenant_id: int, tz: str, filters: Filters, scope: Scope,
                 today: dt.date, ids: bool = True) -> None:
        self.session, self.tenant_id, self.filters, self.scope, self.ids = session, tenant_id, filters, scope, ids
        all_raw = (filters.label_id is not None and ids) or not rollups.is_postgres(session)
        self.labelled = filters.label_id is not None and not all_raw
        self.table = "analytics_daily_labels" if self.labelled else "analytics_daily"
        raw_from = filters.since if all_raw else max(filters.since, today)
        self.stored_until = min(raw_from - dt.timedelta(days=1), filters.until)
        self.members = rollups.memberships(session, tenant_id)
        self.raw = {}
        if raw_from <= filters.until:
            self.raw = {k: r for k, r in rollups.raw_days(session, tenant_id, tz, raw_from, filters.until,
                                                          filters.label_id, ids).items()}
        self.params = {"t": tenant_id, "a": filters.since, "b": self.stored_until, "inbox_id": filters.inbox_id,
                       "team_id": filters.team_id, "scope_teams": sorted(scope.team_ids or ()),
                       "attendant_id": scope.attendant_id or filters.attendant_id, "label_id": filters.label_id}

    @property
    def has_stored(self) -> bool:
        return self.stored_until >= self.filters.since

    def _conditions(self) -> str:
        """analytics_daily rows of the filters and scope; presence rows (inbox 0) follow their attendant's teams."""
        f, parts = self.filters, ["label_id = :label_id"] if self.labelled else []
        members = "attendant_id IN (SELECT user_id FROM team_members WHERE team_id {})"
        if f.inbox_id is not None:
            parts.append("(inbox_id = :inbox_id OR inbox_id = 0)")
        if f.team_id is not None:
            parts.append(f"(team_id = :team_id OR (inbox_id = 0 AND {members.format('= :team_id')}))")
        if self.scope.team_ids is not None:
            teams = "IN " + team_list(self.scope)
            parts.append(f"(team_id {teams} OR (inbox_id = 0 AND {members.format(teams)}))")
        if self.params["attendant_id"] is not None:
            parts.append("attendant_id = :attendant_id")
        return "".join(f" AND {p}" for p in parts)

    def _kept(self, key: tuple) -> bool:
        """The same test as `_conditions`, for a raw row."""
        _, inbox, team, attendant = key
        f, teams = self.filters, self.members.get(attendant, [])
        if f.inbox_id is not None and inbox not in (0, f.inbox_id):
            return False
        if f.team_id is not None and team != f.team_id and not (inbox == 0 and f.team_id in teams):
            return False
        if self.scope.team_ids is not None and team not in self.scope.team_ids and not (
                inbox == 0 and self.scope.team_ids.intersection(teams)):
            return False
        return self.params["attendant_id"] is None or attendant == self.params["attendant_id"]

    def _sums(self) -> str:
        """The select list of `_NAMES`' sums (a label's rows carry no presence: 0 seconds online)."""
        return ", ".join("0" if self.labelled and n == "online_seconds" else f"sum({n})" for n in _NAMES)

    def days(self) -> list[dict]:
        """One dict of counts per local day of the period."""
        f = self.filters
        days = {f.since + dt.timedelta(days=i): dict.fromkeys(_NAMES, 0) for i in range((f.until - f.since).days + 1)}
        if self.has_stored:
            query = (f"SELECT day, {self._sums()} FROM {self.table} WHERE tenant_id = :t AND day >= :a AND day <= :b "
                     "AND inbox_id <> 0" + self._conditions() + " GROUP BY day")
            for day, *values in rollups.run(self.session, query, self.params).all():
                days[day].update({n: (float(v) if n in rollups.SUMS + ("online_seconds",) else int(v))
                                  for n, v in zip(_NAMES, values, strict=True)})
        for key, row in self.raw.items():
            if key[0] in days and key[1] and self._kept(key):  # presence rows (no number) carry no counts
                for name in _NAMES:
                    days[key[0]][name] += sum(row.hourly_online) if name == "online_seconds" else row.values[name]
        return [{"day": day.isoformat(), **{n: v for n, v in values.items() if n != "online_seconds"}}
                for day, values in days.items()]

    def groups(self, by: str) -> dict[int, dict]:
        """Counts per attendant, team or number over the period (rows with no such dimension are left out)."""
        column = {"attendant": "attendant_id", "team": "team_id", "inbox": "inbox_id"}[by]
        position = {"inbox": 1, "team": 2, "attendant": 3}[by]
        found: dict[int, dict] = defaultdict(lambda: dict.fromkeys(_NAMES, 0))
        if self.has_stored:
            query = (f"SELECT {column}, {self._sums()} FROM {self.table} WHERE tenant_id = :t AND day >= :a "
                     f"AND day <= :b AND {column} <> 0" + self._conditions() + " GROUP BY 1")
            for ident, *values in rollups.run(self.session, query, self.params).all():
                found[ident].update(dict(zip(_NAMES, values, strict=True)))
        for key, row in self.raw.items():
            if key[position] and self._kept(key):
                for name in _NAMES:
                    found[key[position]][name] += sum(row.hourly_online) if name == "online_seconds" \
                        else row.values[name]
        return found

    def demand(self) -> tuple[list[list[int]], list[dict]]:
        """Inbound per weekday × hour, and per hour the average inbound and attendants online per day.

        A heatmap cell counts the conversations whose customer wrote at least once on that weekday in that local
        hour during the period, each once however many weeks it wrote then: the conversations its click opens.
        Demand belongs to numbers and teams, not to one attendant: an attendant's own view shows none.
        """
        heat = [[0] * 24 for _ in range(7)]
        inbound, online = [0] * 24, [0.0] * 24
        ndays = (self.filters.until - self.filters.since).days + 1
        if self.params["attendant_id"] is None:
            for hour, messages, seconds in self._hourly():
                inbound[hour] += int(messages or 0)
                online[hour] += float(seconds or 0)
            for weekday, hour, conversations in self._cells():
                heat[weekday][hour] = int(conversations)
        staffing = [{"hour": h, "inbound": round(inbound[h] / ndays, 2),
                     "online": round(online[h] / 3600 / ndays, 2)} for h in range(24)]
        return heat, staffing

    def _hourly_conditions(self) -> str:
        f, scope = self.filters, self.scope
        messages = ["inbox_id > 0"]
        if f.inbox_id is not None:
            messages.append("inbox_id = :inbox_id")
        if f.team_id is not None:
            messages.append("team_id = :team_id")
        if scope.team_ids is not None:
            messages.append(f"team_id IN {team_list(scope)}")
        presence = "inbox_id = 0 AND " + ("team_id = :team_id" if f.team_id is not None else
                                          f"team_id IN {team_list(scope)}" if scope.team_ids is not None else
                                          "team_id = 0")
        return f" AND (({' AND '.join(messages)}) OR ({presence}))"

    def _hourly(self) -> list[tuple[int, float, float]]:
        out: list[tuple[int, float, float]] = []
        if self.has_stored:
            query = ("SELECT hour, sum(messages_in), sum(online_seconds) "
                     "FROM analytics_hourly WHERE tenant_id = :t AND day >= :a AND day <= :b"
                     + self._hourly_conditions() + " GROUP BY 1")
            out.extend(rollups.run(self.session, query, self.params).all())
        for (_, hour, inbox, team), (messages, seconds, _, _) in self._raw_hourly().items():
            if self._hourly_kept(inbox, team):
                out.append((hour, messages if inbox else 0, 0.0 if inbox else seconds))
        return out

    def _cells(self) -> list[tuple[int, int, int]]:
        """(weekday, hour, distinct conversations) of the heatmap: the stored days' conversation hours counted in
        cell order by PostgreSQL, plus the raw days' (today's) conversations not already stored in that cell."""
        raw: set[tuple[int, int, int]] = set()
        for (day, hour, inbox, team), values in self._raw_hourly().items():
            if inbox and self._hourly_kept(inbox, team):
                raw.update((day.weekday(), hour, conversation_id) for conversation_id in values[3])
        counts: dict[tuple[int, int], int] = defaultdict(int)
        if self.has_stored:
            where = ("FROM analytics_conversation_hours WHERE tenant_id = :t AND day >= :a AND day <= :b"
                     + "".join(f" AND {c}" for c in self._cell_conditions()))
            query = (f"SELECT weekday, hour, count(*) FROM (SELECT weekday, hour, conversation_id {where} "
                     "GROUP BY 1, 2, 3) AS x GROUP BY 1, 2")
            for weekday, hour, n in rollups.run(self.session, query, self.params).all():
                counts[(weekday, hour)] += int(n)
            if raw:
                query = (f"SELECT DISTINCT weekday, hour, conversation_id {where} "
                         "AND conversation_id = ANY(CAST(:ids AS bigint[]))")
                ids = sorted({c for _, _, c in raw})
                raw -= {tuple(r) for r in rollups.run(self.session, query, {**self.params, "ids": ids}).all()}
        for weekday, hour, _ in raw:
            counts[(weekday, hour)] += 1
        return [(w, h, n) for (w, h), n in counts.items()]

    def _raw_hourly(self) -> dict[tuple, list]:
        if "_hourly_rows" not in self.__dict__:
            self._hourly_rows = rollups.hourly_rows(self.raw, self.members)
        return self._hourly_rows

    def _cell_conditions(self) -> list[str]:
        f, scope = self.filters, self.scope
        parts = []
        if f.inbox_id is not None:
            parts.append("inbox_id = :inbox_id")
        if f.team_id is not None:
            parts.append("team_id = :team_id")
        if scope.team_ids is not None:
            parts.append(f"team_id IN {team_list(scope)}")
        return parts

    def _hourly_kept(self, inbox: int, team: int) -> bool:
        f, scope = self.filters, self.scope
        if inbox:
            return ((f.inbox_id is None or inbox == f.inbox_id) and (f.team_id is None or team == f.team_id)
                    and (scope.team_ids is None or team in scope.team_ids))
        if f.team_id is not None:
            return team == f.team_id
        return team in scope.team_ids if scope.team_ids is not None else team == 0


def _with_contacts(session: Session, tenant_id: int, tz: str, filters: Filters, scope: Scope,
                   days: list[dict]) -> list[dict]:
    """New contacts per day, for the whole tenant only (a contact has no team, number or attendant)."""
    whole = scope == Scope() and not any((filters.team_id, filters.inbox_id, filters.label_id, filters.attendant_id))
    counts: dict[str, int] = {}
    if whole:
        start, end = rollups.day_bounds(tz, filters.since, filters.until)
        found = rollups.run(session, f"SELECT {rollups.local_day(session, 'created_at')} AS day, count(*) FROM "
                            "contacts WHERE tenant_id = :t AND created_at >= :s AND created_at < :e GROUP BY 1",
                            {"tz": tz, "t": tenant_id, "s": start, "e": end})
        counts = {rollups.as_date(day).isoformat(): n for day, n in found}
    return [{**day, "new_contacts": counts.get(day["day"], 0) if whole else 0} for day in days]


def fact_conditions(filters: Filters, scope: Scope, attendant_column: str | None) -> str:
    """SQL conditions on the facts alias `f` for the filters and the scope (bound parameters named here); with
    `attendant_column` None the attendant condition is left to the caller."""
    parts = []
    if filters.team_id is not None:
        parts.append("f.team_id = :team_id")
    if filters.inbox_id is not None:
        parts.append("f.inbox_id = :inbox_id")
    if scope.team_ids is not None:
        parts.append(f"f.team_id IN {team_list(scope)}")
    if attendant_column and (scope.attendant_id is not None or filters.attendant_id is not None):
        parts.append(f"{attendant_column} = :attendant_id")
    return "".join(f" AND {p}" for p in parts) + rollups.conversation_filter(filters.label_id)


def team_list(scope: Scope) -> str:
    """The scope's team ids as an SQL list (integers read from the database; "(-1)" matches none): one syntax
    for PostgreSQL and SQLite."""
    return "(" + (", ".join(str(int(t)) for t in sorted(scope.team_ids or ())) or "-1") + ")"


def fact_params(tenant_id: int, tz: str, filters: Filters, scope: Scope) -> dict:
    """The bound parameters of `fact_conditions` and the period."""
    start, end = rollups.day_bounds(tz, filters.since, filters.until)
    return {"tenant_id": tenant_id, "start": start, "end": end, "tz": tz, "team_id": filters.team_id,
            "inbox_id": filters.inbox_id, "label_id": filters.label_id,
            "scope_teams": sorted(scope.team_ids or ()), "attendant_id": scope.attendant_id or filters.attendant_id}


def _percentiles(wall: str, business: str) -> list[str]:
    def cont(q: float, column: str) -> str:
        return f"percentile_cont({q}) WITHIN GROUP (ORDER BY {column})"

    return [f"count({wall})", f"avg({wall})", cont(0.5, wall), cont(0.9, wall), f"avg({business})",
            cont(0.5, business), cont(0.9, business)]


def all_durations(session: Session, tenant_id: int, tz: str, filters: Filters, scope: Scope,
                  wanted_metrics: tuple[str, ...] = DURATIONS) -> dict[str, Duration]:
    """The durations of the period: those kept on the facts in one scan (a FILTER per duration), and the next
    responses. Same figures as `duration` for each."""
    if not rollups.is_postgres(session):  # no percentile_cont: one query per duration, sorted in Python
        return {m: duration(session, tenant_id, tz, filters, scope, m) for m in DURATIONS if m in wanted_metrics}
    wanted = scope.attendant_id is not None or filters.attendant_id is not None
    selects, ranges = [], []
    metrics = tuple(m for m in ("frt", "resolution", "bot", "queue") if m in wanted_metrics)
    for metric in metrics:
        at, wall, business, attendant = _DURATION_SOURCES[metric]
        condition = f"{at} >= :start AND {at} < :end AND {wall} IS NOT NULL"
        condition += f" AND {attendant} = :attendant_id" if wanted else ""
        ranges.append(f"({at} >= :start AND {at} < :end)")
        selects += [f"{expr} FILTER (WHERE {condition})" for expr in _percentiles(wall, business)]
    query = (f"SELECT {', '.join(selects)} FROM conversation_facts f WHERE f.tenant_id = :tenant_id "
             f"AND ({' OR '.join(ranges)})" + fact_conditions(filters, scope, None))
    row = rollups.run(session, query, fact_params(tenant_id, tz, filters, scope)).one()
    out = {}
    for i, metric in enumerate(metrics):
        values = row[i * 7:(i + 1) * 7]
        out[metric] = Duration(int(values[0] or 0), *[None if v is None else float(v) for v in values[1:]])
    if "next_response" in wanted_metrics:
        out["next_response"] = duration(session, tenant_id, tz, filters, scope, "next_response")
    return {name: out[name] for name in DURATIONS if name in out}


def duration(session: Session, tenant_id: int, tz: str, filters: Filters, scope: Scope, metric: str) -> Duration:
    """Count, average, median and p90 (wall and business seconds) of one duration over the period, from the facts."""
    return durations_by(session, tenant_id, tz, filters, scope, metric, None).get(None, Duration())


_GROUPS = {"attendant": None, "team": "f.team_id", "inbox": "f.inbox_id"}


def durations_by(session: Session, tenant_id: int, tz: str, filters: Filters, scope: Scope, metric: str,
                 by: str | None) -> dict[int | None, Duration]:
    """Like `duration`, per attendant, team or number (`by`), or for everything (`by=None`, key None)."""
    at, wall, business, attendant = _DURATION_SOURCES[metric]
    group = None if by is None else (_GROUPS[by] or attendant)
    conditions = fact_conditions(filters, scope, attendant)
    joined = group not in (None, attendant) or conditions.replace(f"{attendant} = :attendant_id", "").strip(" AND")
    source = "conversation_facts f"
    if metric == "next_response":
        source = "conversation_responses r JOIN conversation_facts f ON f.id = r.fact_id" if joined else \
            "conversation_responses r"
    tenant = "r.tenant_id" if metric == "next_response" else "f.tenant_id"
    kind = " AND r.kind = 'next'" if metric == "next_response" else ""
    key = f"{group}" if group else "NULL"
    where = (f" FROM {source} WHERE {tenant} = :tenant_id AND {at} >= :start AND {at} < :end AND {wall} IS NOT NULL"
             f"{kind}" + conditions)
    params = fact_params(tenant_id, tz, filters, scope)
    if not rollups.is_postgres(session):
        return _durations_in_python(rollups.run(session, f"SELECT {key}, {wall}, {business}" + where, params))
    query = (f"SELECT {key} AS key, count({wall}), avg({wall}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {wall}), "
             f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {wall}), avg({business}), "
             f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {business}), "
             f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {business})" + where + (" GROUP BY 1" if group else ""))
    out = {}
    for row in rollups.run(session, query, params).all():
        if row[1]:
            out[row[0]] = Duration(int(row[1]), *[None if v is None else float(v) for v in row[2:]])
    return out


def _durations_in_python(rows) -> dict[int | None, Duration]:
    """What the PostgreSQL query's aggregates give, from (key, wall, business) rows (the SQLite path)."""
    found: dict[int | None, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for key, wall, business in rows:
        found[key][0].append(float(wall))
        if business is not None:
            found[key][1].append(float(business))
    return {key: Duration(len(wall), *rules.compute_stats(wall), *rules.compute_stats(business))
            for key, (wall, business) in found.items()}


@dataclass
class BreakdownRow:
    """One attendant's, team's or number's figures over the period."""

    id: int
    name: str
    handled: int = 0
    messages_sent: int = 0
    messages_in: int = 0
    first_contact: int = 0  # of `handled`, the cycles resolved at first contact
    frt: Duration = field(default_factory=Duration)
    resolution: Duration = field(default_factory=Duration)
    online_hours: float = 0.0
    busy_share: float | None = None  # attendants only; None with no online time (see `rules.compute_busy_seconds`)


def breakdown(session: Session, *, actor: Actor, filters: Filters, by: str,
              now: dt.datetime | None = None) -> list[BreakdownRow]:
    """The attendant, team or number table: handled, first-contact resolutions, messages, FRT and resolution (median,
    p90), online hours.

    Args:
        session: The caller's session.
        actor: Any reader; the scope narrows the rows (an attendant gets their own row only).
        filters: The period and filters.
        by: "attendant", "team" or "inbox".
        now: The moment that decides what "today" is.

    Returns:
        Rows by name.
    """
    if by not in _GROUPS:
        raise ValidationError("by must be attendant, team or inbox", field="by")
    scope = scope_for(session, actor)
    check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    parts = _parts(session, actor.tenant_id, tz, filters, scope, today_for(session, actor.tenant_id, now))
    found: dict[int, BreakdownRow] = {}
    for ident, values in parts.groups(by).items():
        # Handled: the cycles closed while assigned to them (resolution_count), as the API documents.
        found[ident] = BreakdownRow(ident, "", handled=int(values["resolution_count"]),
                                    messages_sent=int(values["messages_out"]), messages_in=int(values["messages_in"]),
                                    first_contact=int(values["first_contact"]),
                                    online_hours=float(values["online_seconds"]) / 3600)
    for metric in ("frt", "resolution"):
        for ident, stats in durations_by(session, actor.tenant_id, tz, filters, scope, metric, by).items():
            if ident:
                setattr(found.setdefault(ident, BreakdownRow(ident, "")), metric, stats)
    _name(session, actor.tenant_id, by, found)
    if by == "attendant" and found:
        start, end = rollups.day_bounds(tz, filters.since, filters.until)
        for ident, share in busy.busy_shares(session, actor.tenant_id, list(found), start, end, now).items():
            found[ident].busy_share = share
    return sorted(found.values(), key=lambda r: (r.name.casefold(), r.id))


def _name(session: Session, tenant_id: int, by: str, found: dict[int, BreakdownRow]) -> None:
    model = {"attendant": User, "team": Team, "inbox": Inbox}[by]
    if not found:
        return
    # Only the names: a number's row also holds its encrypted secrets, which a report never needs.
    for ident, name in session.exec(select(model.id, model.name).where(model.tenant_id == tenant_id,
                                                                         model.id.in_(list(found)))).all():
        found[ident].name = name
    for ident in [i for i, r in found.items() if not r.name]:  # another tenant's id never shows
        del found[ident]
    for row in found.values():
        row.online_hours = round(row.online_hours, 2)


def frt_buckets(session: Session, *, actor: Actor, filters: Filters) -> list[dict]:
    """The FRT distribution: per bucket (0–1 min … 4 h+, wall time), the conversations with a first response of
    the period in it. A conversation counts once per bucket, however many of its cycles (start, reopens) were
    answered in that bucket, so a bar is the number of conversations its click opens; one whose cycles fall in
    two buckets counts in both. (The FRT card's median and p90 are over cycles.)"""
    scope = scope_for(session, actor)
    check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    cases = " ".join(f"WHEN f.frt_seconds >= {low}" + (f" AND f.frt_seconds < {high}" if high else "")
                     + f" THEN '{name}'" for name, low, high in rules.FRT_BUCKETS)
    query = (f"SELECT CASE {cases} END AS bucket, count(DISTINCT f.conversation_id) FROM conversation_facts f "
             "WHERE f.tenant_id = :tenant_id "
             "AND f.first_human_at >= :start AND f.first_human_at < :end AND f.frt_seconds IS NOT NULL"
             + fact_conditions(filters, scope, "f.first_human_user_id") + " GROUP BY 1")
    found = dict(rollups.run(session, query, fact_params(actor.tenant_id, tz, filters, scope)).all())
    return [{"bucket": name, "count": int(found.get(name, 0))} for name, _, _ in rules.FRT_BUCKETS]


def handoff_reasons(session: Session, *, actor: Actor, filters: Filters) -> list[dict]:
    """Handoffs of the period by reason, most frequent first."""
    scope = scope_for(session, actor)
    check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    query = ("SELECT coalesce(f.handoff_reason, 'handoff'), count(*) FROM conversation_facts f "
             "WHERE f.tenant_id = :tenant_id AND f.handoff_at >= :start AND f.handoff_at < :end"
             + fact_conditions(filters, scope, "f.assignee_id") + " GROUP BY 1 ORDER BY 2 DESC, 1")
    rows = rollups.run(session, query, fact_params(actor.tenant_id, tz, filters, scope)).all()
    return [{"reason": reason, "count": int(n)} for reason, n in rows]


def failed_by_reason(session: Session, *, actor: Actor, filters: Filters) -> list[dict]:
    """Failed sends of the period by Meta's reason (people's and the bot's messages)."""
    scope = scope_for(session, actor)
    check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    conditions = fact_conditions(filters, scope, "CASE WHEN m.sender_type = 'attendant' THEN m.sender_user_id "
                                                 "ELSE f.assignee_id END")
    conditions = conditions.replace("f.conversation_id", "m.conversation_id")
    query = ("SELECT coalesce(m.error_reason, '?'), count(*) FROM messages m JOIN conversations f "
             "ON f.id = m.conversation_id WHERE m.tenant_id = :tenant_id AND m.status = 'failed' "
             "AND m.direction = 'outbound' AND m.created_at >= :start AND m.created_at < :end"
             + conditions + " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20")
    rows = rollups.run(session, query, fact_params(actor.tenant_id, tz, filters, scope)).all()
    return [{"reason": reason, "count": int(n)} for reason, n in rows]
