"""The one query path behind the analytics cards, series, tables and API.

Counts and sums come per local day: from the stored rollups for days before today, from the raw rows for today
(and for every day when a label filter is set, which rollups do not carry). The summary is the sum of the
series' days, so the two always agree. Medians, p90s and averages of durations come from the facts, never
from the rollups (`timings`). Who sees what is `criteria`'s; the tables per attendant, team or number are
`breakdowns`'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlmodel import Session

from crm_app.services import call
from crm_app.services.analytics import criteria, rollups, timings
from crm_app.services.core.actors import Actor


@dataclass
class Report:
    """Per-day counts (the series), their sum (the summary) and the durations over the period."""

    days: list[dict] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    durations: dict[str, timings.Duration] = field(default_factory=dict)
    # [weekday 0=Mon][local hour]: conversations whose customer wrote then (summed over the period's days)
    heatmap: list[list[int]] = field(default_factory=list)
    staffing: list[dict] = field(default_factory=list)  # per local hour: inbound and attendants online (averages)


def report(session: Session, *, actor: Actor, filters: criteria.Filters, now: dt.datetime | None = None,
           demand: bool = True, durations: tuple[str, ...] = timings.DURATIONS) -> Report:
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
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the percentiles on a second connection, meanwhile
        sorted_ = beside(session, pool, timings.all_durations, actor.tenant_id, tz, filters, scope, durations) \
            if durations else None
        today = criteria.today_for(session, actor.tenant_id, now)
        parts = period_parts(session, actor.tenant_id, tz, filters, scope, today, ids=demand)
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


def period_parts(session: Session, tenant_id: int, tz: str, filters: criteria.Filters, scope: criteria.Scope,
                 today: dt.date, ids: bool = False) -> _Parts:
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

    def __init__(self, session: Session, tenant_id: int, tz: str, filters: criteria.Filters, scope: criteria.Scope,
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
            teams = "IN " + criteria.team_list(self.scope)
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
            messages.append(f"team_id IN {criteria.team_list(scope)}")
        presence = "inbox_id = 0 AND " + ("team_id = :team_id" if f.team_id is not None else
                                          f"team_id IN {criteria.team_list(scope)}" if scope.team_ids is not None else
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
            parts.append(f"team_id IN {criteria.team_list(scope)}")
        return parts

    def _hourly_kept(self, inbox: int, team: int) -> bool:
        f, scope = self.filters, self.scope
        if inbox:
            return ((f.inbox_id is None or inbox == f.inbox_id) and (f.team_id is None or team == f.team_id)
                    and (scope.team_ids is None or team in scope.team_ids))
        if f.team_id is not None:
            return team == f.team_id
        return team in scope.team_ids if scope.team_ids is not None else team == 0


def _with_contacts(session: Session, tenant_id: int, tz: str, filters: criteria.Filters, scope: criteria.Scope,
                   days: list[dict]) -> list[dict]:
    """New contacts per day, for the whole tenant only (a contact has no team, number or attendant)."""
    narrowed = (filters.team_id, filters.inbox_id, filters.label_id, filters.attendant_id)
    whole = scope == criteria.Scope() and not any(narrowed)
    counts: dict[str, int] = {}
    if whole:
        start, end = rollups.day_bounds(tz, filters.since, filters.until)
        found = rollups.run(session, f"SELECT {rollups.local_day(session, 'created_at')} AS day, count(*) FROM "
                            "contacts WHERE tenant_id = :t AND created_at >= :s AND created_at < :e GROUP BY 1",
                            {"tz": tz, "t": tenant_id, "s": start, "e": end})
        counts = {rollups.as_date(day).isoformat(): n for day, n in found}
    return [{**day, "new_contacts": counts.get(day["day"], 0) if whole else 0} for day in days]
