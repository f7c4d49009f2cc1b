"""Durations over a period, from the conversation facts: count, average, median and p90, in wall and business
seconds. Bot time, queue wait, first response and resolution are columns of the facts; next responses are rows of
their own (`conversation_responses`). PostgreSQL computes the percentiles; SQLite's rows are sorted in Python.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session

from crm_app.domain import analytics as rules
from crm_app.services.analytics import criteria, rollups

DURATIONS = ("frt", "next_response", "resolution", "bot", "queue")
# metric: (table alias + timestamp, wall column, business column, attendant column)
_DURATION_SOURCES = {
    "frt": ("f.first_human_at", "f.frt_seconds", "f.frt_business_seconds", "f.first_human_user_id"),
    "resolution": ("f.closed_at", "f.resolution_seconds", "f.resolution_business_seconds", "f.assignee_id"),
    "bot": ("coalesce(f.handoff_at, f.closed_at)", "f.bot_seconds", "f.bot_business_seconds", "f.assignee_id"),
    "queue": ("f.assigned_at", "f.queue_seconds", "f.queue_business_seconds", "f.assignee_id"),
    "next_response": ("r.at", "r.seconds", "r.business_seconds", "r.user_id"),
}


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


def _percentiles(wall: str, business: str) -> list[str]:
    def cont(q: float, column: str) -> str:
        return f"percentile_cont({q}) WITHIN GROUP (ORDER BY {column})"

    return [f"count({wall})", f"avg({wall})", cont(0.5, wall), cont(0.9, wall), f"avg({business})",
            cont(0.5, business), cont(0.9, business)]


def all_durations(session: Session, tenant_id: int, tz: str, filters: criteria.Filters, scope: criteria.Scope,
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
             f"AND ({' OR '.join(ranges)})" + criteria.fact_conditions(filters, scope, None))
    row = rollups.run(session, query, criteria.fact_params(tenant_id, tz, filters, scope)).one()
    out = {}
    for i, metric in enumerate(metrics):
        values = row[i * 7:(i + 1) * 7]
        out[metric] = Duration(int(values[0] or 0), *[None if v is None else float(v) for v in values[1:]])
    if "next_response" in wanted_metrics:
        out["next_response"] = duration(session, tenant_id, tz, filters, scope, "next_response")
    return {name: out[name] for name in DURATIONS if name in out}


def duration(session: Session, tenant_id: int, tz: str, filters: criteria.Filters, scope: criteria.Scope,
             metric: str) -> Duration:
    """Count, average, median and p90 (wall and business seconds) of one duration over the period, from the facts."""
    return durations_by(session, tenant_id, tz, filters, scope, metric, None).get(None, Duration())


# by: the facts' column to group on (None: the duration's own attendant column)
GROUPS = {"attendant": None, "team": "f.team_id", "inbox": "f.inbox_id"}


def durations_by(session: Session, tenant_id: int, tz: str, filters: criteria.Filters, scope: criteria.Scope,
                 metric: str, by: str | None) -> dict[int | None, Duration]:
    """Like `duration`, per attendant, team or number (`by`), or for everything (`by=None`, key None)."""
    at, wall, business, attendant = _DURATION_SOURCES[metric]
    group = None if by is None else (GROUPS[by] or attendant)
    conditions = criteria.fact_conditions(filters, scope, attendant)
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
    params = criteria.fact_params(tenant_id, tz, filters, scope)
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
