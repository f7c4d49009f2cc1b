"""REST API v1, analytics: `/metrics/overview`, `/metrics/timeseries` and `/metrics/attendants` (`metrics:read`).

The same filters as the `/analytics` page, the same service (`services.analytics.figures`) and the same scope
rules: executives and admins read the tenant, supervisors their teams, attendants their own figures.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query

from crm_app.api import v1_schemas as s
from crm_app.services.analytics import breakdowns, criteria, figures, rollups, timings
from crm_app.services.core.actors import Actor

PERIOD = Literal["today", "7d", "30d", "90d", "365d", "custom"]
OWNER = ("Team and attendant filters: a cycle's figures (opened, closed, handoffs, containment, resolution) count "
         "under its last team and attendant, also on earlier days once it changes hands; a first response under "
         "the person who sent it and the cycle's last team; customer messages under the conversation's current team "
         "and attendant, people's messages under their sender. Demand (the page's heatmap) has no attendant "
         "dimension.")


def filters_for(session, actor: Actor, period: str, since: str | None, until: str | None, team_id: int | None,
                inbox_id: int | None, label_id: int | None, attendant_id: int | None) -> criteria.Filters:
    """The query's period and filters as the analytics services take them (the tenant's local days)."""
    first, last = criteria.period(period, criteria.today_for(session, actor.tenant_id), since, until)
    return criteria.Filters(first, last, team_id=team_id, inbox_id=inbox_id, label_id=label_id,
                           attendant_id=attendant_id)


def period_of(session, actor: Actor, filters: criteria.Filters) -> s.Period:
    """The period an answer covers, with the tenant's timezone."""
    return s.Period(since=filters.since, until=filters.until,
                    timezone=rollups.tenant_timezone(session, actor.tenant_id))


def _durations(durations: dict[str, timings.Duration]) -> s.Durations:
    return s.Durations(**{name: s.DurationStats(**asdict(value)) for name, value in durations.items()})


def overview(session, *, actor: Actor, **query: Any) -> s.Overview:
    """The cards: totals and durations of the period and of the one before, and the breakdowns.

    The previous period is read on a second connection at the same time (PostgreSQL works on both at once).
    """
    filters = filters_for(session, actor, **query)
    with ThreadPoolExecutor(max_workers=1) as pool:
        previous = figures.beside(session, pool, figures.report, actor=actor, filters=filters.previous(),
                                  demand=False, durations=("frt", "resolution"))
        now = figures.report(session, actor=actor, filters=filters, demand=False)  # no heatmap or staffing here
        before = previous.result()
    closed = now.totals["resolution_count"]  # cycles closed: the unit `contained` and `first_contact` count in
    closed_before = before.totals["resolution_count"]
    return s.Overview(
        period=period_of(session, actor, filters), totals=s.Counts(**now.totals), durations=_durations(now.durations),
        previous_totals=s.Counts(**before.totals),
        previous_durations=s.PreviousDurations(**{k: s.DurationStats(**asdict(v))
                                                  for k, v in before.durations.items()}),
        containment_rate=(now.totals["contained"] / closed) if closed else None,
        first_contact_rate=(now.totals["first_contact"] / closed) if closed else None,
        previous_first_contact_rate=(before.totals["first_contact"] / closed_before) if closed_before else None,
        failed_by_reason=[s.Reason(**r) for r in breakdowns.failed_by_reason(session, actor=actor, filters=filters)],
        handoff_reasons=[s.Reason(**r) for r in breakdowns.handoff_reasons(session, actor=actor, filters=filters)],
        frt_buckets=[s.Reason(reason=b["bucket"], count=b["count"])
                     for b in breakdowns.frt_buckets(session, actor=actor, filters=filters)])


def timeseries(session, *, actor: Actor, **query: Any) -> s.Timeseries:
    """One entry per local day."""
    filters = filters_for(session, actor, **query)
    got = figures.report(session, actor=actor, filters=filters, demand=False, durations=())
    return s.Timeseries(period=period_of(session, actor, filters), data=[s.Day(**day) for day in got.days])


def attendants(session, *, actor: Actor, **query: Any) -> s.AttendantList:
    """The attendant table."""
    filters = filters_for(session, actor, **query)
    rows = breakdowns.breakdown(session, actor=actor, filters=filters, by="attendant")
    return s.AttendantList(period=period_of(session, actor, filters), data=[s.AttendantRow(
        user_id=r.id, name=r.name, handled=r.handled, messages_sent=r.messages_sent, first_contact=r.first_contact,
        first_contact_rate=(r.first_contact / r.handled) if r.handled else None,
        frt=s.DurationStats(**asdict(r.frt)), resolution=s.DurationStats(**asdict(r.resolution)),
        online_hours=r.online_hours, busy_share=r.busy_share) for r in rows])


class Query_:
    """The page's filters as query parameters."""

    def __init__(
        self,
        period: Annotated[PERIOD, Query(description="today, the last 7/30/90/365 local days, or custom.")] = "7d",
        since: Annotated[str | None, Query(max_length=10, description="custom: first day, YYYY-MM-DD.")] = None,
        until: Annotated[str | None, Query(max_length=10, description="custom: last day, YYYY-MM-DD.")] = None,
        team_id: Annotated[int | None, Query(ge=1, description=OWNER)] = None,
        inbox_id: Annotated[int | None, Query(ge=1, description="The WhatsApp number.")] = None,
        label_id: Annotated[int | None, Query(ge=1)] = None,
        attendant_id: Annotated[int | None, Query(ge=1, description=OWNER)] = None,
    ) -> None:
        self.values = {"period": period, "since": since, "until": until, "team_id": team_id, "inbox_id": inbox_id,
                       "label_id": label_id, "attendant_id": attendant_id}


def add_routes(app: FastAPI, *, reader: Callable[..., Actor], run: Callable[..., Any],
               errors: dict[int | str, dict[str, Any]]) -> None:
    """Mount the metrics routes on the v1 app.

    Args:
        app: The v1 app.
        reader: The `metrics:read` dependency.
        run: The v1 helper that calls a service in one transaction as the token's actor.
        errors: The documented error answers.
    """
    Reader = Annotated[Actor, Depends(reader)]
    Filters = Annotated[Query_, Depends()]

    @app.get("/metrics/overview", response_model=s.Overview, tags=["metrics"], responses=errors,
             summary="KPI cards of a period, compared with the period before")
    def get_overview(actor: Reader, q: Filters) -> s.Overview:
        return run(overview, actor, **q.values)

    @app.get("/metrics/timeseries", response_model=s.Timeseries, tags=["metrics"], responses=errors,
             summary="The same counts per local day (their sum is the overview's totals)")
    def get_timeseries(actor: Reader, q: Filters) -> s.Timeseries:
        return run(timeseries, actor, **q.values)

    @app.get("/metrics/attendants", response_model=s.AttendantList, tags=["metrics"], responses=errors,
             summary="Per attendant: handled, first-contact resolution, FRT and resolution (median, p90), sent, "
                     "online hours, busy share")
    def get_attendants(actor: Reader, q: Filters) -> s.AttendantList:
        return run(attendants, actor, **q.values)
