"""REST API v1, CSAT: `GET /csat` (the answers, `csat:read`) and `GET /metrics/csat` (the figures, `metrics:read`).

Both take the analytics filters (period, team, number, label, attendant) and read through
`services.analytics.csat`, with the analytics scope rules: executives and admins the tenant, supervisors their
teams, attendants the surveys about themselves. A comment is the customer's own words: it is shown only to
tokens that may also read messages (`messages:read`), like every other embedded object, and a page that carries
comments is recorded in the audit trail as an export.
"""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field

from crm_app.api import v1_metrics
from crm_app.api import v1_schemas as s
from crm_app.services.access import scope
from crm_app.services.analytics import csat
from crm_app.services.core.actors import Actor


class CsatAnswer(BaseModel):
    id: int = Field(description="The survey.")
    conversation_id: int
    cycle: int = Field(description="Which close of the conversation it rates (0 = the first).")
    contact_id: int
    inbox_id: int = Field(description="The WhatsApp number.")
    team_id: int | None
    attendant_id: int | None = Field(description="The assignee when it closed, else the person who closed it.")
    closed_by_user_id: int | None
    status: Literal["sent", "rated", "done"] = Field(description=(
        "sent: no rating yet; rated: rated, a comment may still come; done: rated, and commented or thanked."))
    rating: int | None = Field(description="1 (Péssimo) to 5 (Excelente).")
    comment: str | None = Field(description="The customer's comment; null without `messages:read`.")
    sent_at: dt.datetime
    rated_at: dt.datetime | None
    commented_at: dt.datetime | None


class CsatPage(BaseModel):
    data: list[CsatAnswer]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last one.")


class CsatFigures(BaseModel):
    sent: int = Field(description="Surveys sent in the period.")
    answered: int = Field(description="Of those, how many were rated (at any time since).")
    average: float | None = Field(description="Average rating of the answered ones (1 to 5).")
    response_rate: float | None = Field(description="answered / sent.")
    distribution: list[int] = Field(description="How many ratings of 1, 2, 3, 4 and 5.")


class CsatDay(CsatFigures):
    day: dt.date


class CsatGroup(CsatFigures):
    id: int
    name: str


class CsatMetrics(BaseModel):
    period: s.Period
    totals: CsatFigures = Field(description="The sum of `days`.")
    previous_totals: CsatFigures = Field(description="The same figures for the period of equal length before.")
    days: list[CsatDay]
    by_attendant: list[CsatGroup]
    by_team: list[CsatGroup]
    by_number: list[CsatGroup]


def _figures(counts: csat.CsatCounts) -> dict[str, Any]:
    return {"sent": counts.sent, "answered": counts.answered, "average": counts.average,
            "response_rate": counts.response_rate, "distribution": counts.distribution}


def answers(session, *, actor: Actor, answered: str, with_comments: bool, cursor: str | None, limit: int,
            **query: Any) -> CsatPage:
    """One page of answers (keyset, newest first)."""
    filters = v1_metrics.filters_for(session, actor, **query)
    rows, next_cursor = csat.list_answers(session, actor=actor, filters=filters, answered_only=answered == "only",
                                          with_comments=with_comments, cursor=cursor, limit=limit)
    return CsatPage(data=[CsatAnswer.model_validate(r, from_attributes=True) for r in rows], next_cursor=next_cursor)


def metrics(session, *, actor: Actor, **query: Any) -> CsatMetrics:
    """The figures of the period, per day and per attendant, team and number."""
    filters = v1_metrics.filters_for(session, actor, **query)
    got = csat.report(session, actor=actor, filters=filters)

    def groups(by: str) -> list[CsatGroup]:
        return [CsatGroup(id=g.id, name=g.name, **_figures(g.counts))
                for g in csat.breakdown(session, actor=actor, filters=filters, by=by)]

    return CsatMetrics(period=v1_metrics.period_of(session, actor, filters), totals=CsatFigures(**_figures(got.totals)),
                       previous_totals=CsatFigures(**_figures(got.previous)),
                       days=[CsatDay(day=d, **_figures(c)) for d, c in got.days],
                       by_attendant=groups("attendant"), by_team=groups("team"), by_number=groups("inbox"))


def add_routes(app: FastAPI, *, scoped: Callable[[str], Callable[..., Actor]], run: Callable[..., Any],
               errors: dict[int | str, dict[str, Any]]) -> None:
    """Mount the CSAT routes on the v1 app.

    Args:
        app: The v1 app.
        scoped: The v1 dependency factory (a scope -> the token's actor).
        run: The v1 helper that calls a service in one transaction as the token's actor.
        errors: The documented error answers.
    """
    Reader = Annotated[Actor, Depends(scoped(scope("csat")))]
    MetricsReader = Annotated[Actor, Depends(scoped(scope("metrics")))]
    Filters = Annotated[v1_metrics.Query_, Depends()]

    @app.get("/csat", response_model=CsatPage, tags=["csat"], responses=errors,
             summary="CSAT answers of a period, newest first (by the day the survey was sent)")
    def list_csat(actor: Reader, request: Request, q: Filters,
                  answered: Annotated[Literal["only", "all"], Query(
                      description="`only`: rated surveys; `all`: every survey sent, rated or not.")] = "only",
                  cursor: Annotated[str | None, Query(max_length=200)] = None,
                  limit: Annotated[int, Query(ge=1, le=100)] = 50) -> CsatPage:
        return run(answers, actor, answered=answered, with_comments=scope("messages") in request.state.token_scopes,
                   cursor=cursor, limit=limit, **q.values)

    @app.get("/metrics/csat", response_model=CsatMetrics, tags=["metrics"], responses=errors,
             summary="CSAT average, distribution and response rate, per day, attendant, team and number")
    def get_csat_metrics(actor: MetricsReader, q: Filters) -> CsatMetrics:
        return run(metrics, actor, **q.values)
