"""REST API v1, SLA figures: `GET /metrics/sla` (`metrics:read`).

The analytics filters (period, team, number, label, attendant) and scope rules (executives and admins the tenant,
supervisors their teams, attendants their own clocks), read through `services.analytics.sla`.
"""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from crm_app.api import v1_metrics
from crm_app.api import v1_schemas as s
from crm_app.services.access import scope
from crm_app.services.analytics import sla
from crm_app.services.core.actors import Actor

COUNTS = ("A clock counts in the period it was decided in: a hit clock on the moment what it waited for happened "
          "(`done_at`), a missed clock at its deadline (`due_at`), answered later or never. Running clocks are not "
          "counted. Team, attendant and number are the conversation's when the clock finished.")


class SlaFigures(BaseModel):
    hit: int = Field(description="Clocks done by their deadline, decided in the period.")
    missed: int = Field(description="Clocks whose deadline passed in the period (breaches).")
    attainment: float | None = Field(description="hit / (hit + missed), 0 to 1; null with no decided clock.")


class SlaTargets(BaseModel):
    first_response: SlaFigures = Field(description="From the handoff to a person to the first human message.")
    next_response: SlaFigures = Field(description="From a customer message after a human reply to the next one.")
    resolution: SlaFigures = Field(description="From the same start as first response (or a reopen) to the close.")
    all: SlaFigures = Field(description="The three targets together.")


class SlaDay(SlaTargets):
    day: dt.date = Field(description="A local day (the tenant's timezone); `all.missed` is the day's breaches.")


class SlaGroup(SlaTargets):
    id: int
    name: str


class SlaMetrics(BaseModel):
    period: s.Period
    totals: SlaTargets = Field(description="The sum of `days`. " + COUNTS)
    previous_totals: SlaTargets = Field(description="The same figures for the period of equal length before.")
    days: list[SlaDay]
    by_attendant: list[SlaGroup] = Field(description="Per attendant (the clock's assignee); unassigned left out.")
    by_team: list[SlaGroup] = Field(description="Per team (the clock's team); clocks without a team left out.")
    by_number: list[SlaGroup] = Field(description="Per WhatsApp number.")


def _targets(counts: dict[str, sla.SlaCounts]) -> dict[str, SlaFigures]:
    return {name: SlaFigures(hit=c.hit, missed=c.missed, attainment=c.attainment) for name, c in counts.items()}


def metrics(session, *, actor: Actor, **query: Any) -> SlaMetrics:
    """The figures of the period, per day and per attendant, team and number."""
    filters = v1_metrics.filters_for(session, actor, **query)
    got = sla.report(session, actor=actor, filters=filters)

    def groups(by: str) -> list[SlaGroup]:
        return [SlaGroup(id=g.id, name=g.name, **_targets(g.targets))
                for g in sla.breakdown(session, actor=actor, filters=filters, by=by)]

    return SlaMetrics(period=v1_metrics.period_of(session, actor, filters), totals=SlaTargets(**_targets(got.totals)),
                      previous_totals=SlaTargets(**_targets(got.previous)),
                      days=[SlaDay(day=d, **_targets(c)) for d, c in got.days],
                      by_attendant=groups("attendant"), by_team=groups("team"), by_number=groups("inbox"))


def add_routes(app: FastAPI, *, scoped: Callable[[str], Callable[..., Actor]], run: Callable[..., Any],
               errors: dict[int | str, dict[str, Any]]) -> None:
    """Mount the SLA figures route on the v1 app.

    Args:
        app: The v1 app.
        scoped: The v1 dependency factory (a scope -> the token's actor).
        run: The v1 helper that calls a service in one transaction as the token's actor.
        errors: The documented error answers.
    """
    Reader = Annotated[Actor, Depends(scoped(scope("metrics")))]
    Filters = Annotated[v1_metrics.Query_, Depends()]

    @app.get("/metrics/sla", response_model=SlaMetrics, tags=["metrics"], responses=errors,
             summary="SLA attainment (hit / (hit + missed)) and breaches per target, per day, attendant, team and "
                     "number", description=COUNTS)
    def get_sla_metrics(actor: Reader, q: Filters) -> SlaMetrics:
        return run(metrics, actor, **q.values)
