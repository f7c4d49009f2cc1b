"""The `/analytics` page's read model: cards with the change against the previous period, the charts' data, the
attendant, team and number tables, and the filter choices the actor may use. Everything from `figures`."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm_app.models import Inbox, Label, Team, TeamMember, User
from crm_app.services.analytics import breakdowns, criteria, csat, figures, sla
from crm_app.services.core.actors import Actor

# The cards, in order: (key, source, kind). kind: "count", "duration" (seconds), "rate" (0–1).
CARDS: tuple[tuple[str, str, str], ...] = (
    ("opened", "opened", "count"), ("closed", "closed", "count"), ("messages_in", "messages_in", "count"),
    ("messages_out", "messages_out", "count"), ("new_contacts", "new_contacts", "count"),
    ("frt", "frt", "duration"), ("resolution", "resolution", "duration"), ("first_contact", "first_contact", "rate"),
    ("containment", "contained", "rate"),
    ("unanswered", "unanswered", "count"), ("windows_missed", "windows_missed", "count"),
    ("failed_sends", "failed_sends", "count"),
)


@dataclass(frozen=True)
class Card:
    """One KPI: its value now and in the previous period (durations: the median; the business median, the p90 and
    the average beside it)."""

    key: str
    kind: str
    value: float | None
    previous: float | None
    business: float | None = None
    p90: float | None = None
    avg: float | None = None


@dataclass
class Dashboard:
    """Everything the page shows."""

    since: dt.date
    until: dt.date
    cards: list[Card] = field(default_factory=list)
    days: list[dict] = field(default_factory=list)
    heatmap: list[list[int]] = field(default_factory=list)
    staffing: list[dict] = field(default_factory=list)
    frt_buckets: list[dict] = field(default_factory=list)
    handoff_reasons: list[dict] = field(default_factory=list)
    failed_by_reason: list[dict] = field(default_factory=list)
    attendants: list[breakdowns.BreakdownRow] = field(default_factory=list)
    teams: list[breakdowns.BreakdownRow] = field(default_factory=list)
    inboxes: list[breakdowns.BreakdownRow] = field(default_factory=list)
    # CSAT: the period's and the previous period's counts, and per "attendant", "team" and "inbox" id
    csat_now: csat.CsatCounts = field(default_factory=csat.CsatCounts)
    csat_previous: csat.CsatCounts = field(default_factory=csat.CsatCounts)
    csat_by: dict[str, dict[int, csat.CsatCounts]] = field(default_factory=dict)
    # SLA: whether the tenant has any clock (else the section shows how to start), the report and the groups per
    # "team", "attendant" and "inbox"
    sla_clocks: bool = False
    sla_report: sla.SlaReport = field(default_factory=sla.SlaReport)
    sla_by: dict[str, list[sla.SlaGroup]] = field(default_factory=dict)
    empty: bool = True


@dataclass(frozen=True)
class Choices:
    """What the filters offer: (id, name) pairs within the actor's scope."""

    teams: list[tuple[int, str]]
    inboxes: list[tuple[int, str]]
    labels: list[tuple[int, str]]
    attendants: list[tuple[int, str]]


def _card(key: str, source: str, kind: str, now: figures.Report, before: figures.Report) -> Card:
    if kind == "duration":
        a, b = now.durations[source], before.durations[source]
        return Card(key, kind, a.median, b.median, a.business_median, a.p90, a.avg)
    if kind == "rate":
        return Card(key, kind, _rate(now, source), _rate(before, source))
    return Card(key, kind, now.totals[source], before.totals[source])


def _csat_cards(now: csat.CsatCounts, before: csat.CsatCounts) -> list[Card]:
    """The CSAT cards: the average rating (kind "score", 1 to 5) and the response rate."""
    return [Card("csat", "score", now.average, before.average),
            Card("csat_response", "rate", now.response_rate, before.response_rate)]


def _rate(report: figures.Report, source: str) -> float | None:
    # Over closed cycles (resolution_count), the unit `contained` and `first_contact` count in; "closed" counts
    # conversation-days.
    closed = report.totals["resolution_count"]
    return report.totals[source] / closed if closed else None


def dashboard(session: Session, *, actor: Actor, filters: criteria.Filters) -> Dashboard:
    """The page's figures for the actor (scope applied by `figures`).

    Args:
        session: The caller's session.
        actor: Any reader.
        filters: The period and filters.

    Returns:
        The read model.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:  # the previous period on a second connection, meanwhile
        previous = figures.beside(session, pool, figures.report, actor=actor, filters=filters.previous(),
                                  demand=False, durations=("frt", "resolution"))
        now = figures.report(session, actor=actor, filters=filters)
        before = previous.result()
    out = Dashboard(filters.since, filters.until, days=now.days, heatmap=now.heatmap, staffing=now.staffing)
    out.cards = [_card(key, source, kind, now, before) for key, source, kind in CARDS]
    satisfaction = csat.report(session, actor=actor, filters=filters)
    out.csat_now, out.csat_previous = satisfaction.totals, satisfaction.previous
    out.cards += _csat_cards(out.csat_now, out.csat_previous)
    out.csat_by = {by: {g.id: g.counts for g in csat.breakdown(session, actor=actor, filters=filters, by=by)}
                   for by in ("attendant", "team", "inbox")}
    out.sla_clocks = sla.has_clocks(session, actor.tenant_id)
    if out.sla_clocks:
        out.sla_report = sla.report(session, actor=actor, filters=filters)
        out.sla_by = {by: sla.breakdown(session, actor=actor, filters=filters, by=by)
                      for by in ("team", "attendant", "inbox")}
    out.frt_buckets = breakdowns.frt_buckets(session, actor=actor, filters=filters)
    out.handoff_reasons = breakdowns.handoff_reasons(session, actor=actor, filters=filters)
    out.failed_by_reason = breakdowns.failed_by_reason(session, actor=actor, filters=filters)
    for by, name in (("attendant", "attendants"), ("team", "teams"), ("inbox", "inboxes")):
        setattr(out, name, breakdowns.breakdown(session, actor=actor, filters=filters, by=by))
    out.empty = not any(now.totals[n] for n in ("opened", "closed", "messages_in", "messages_out"))
    return out


def choices(session: Session, *, actor: Actor) -> Choices:
    """The teams, numbers, labels and attendants the actor may filter by."""
    scope = criteria.scope_for(session, actor)
    tenant = actor.tenant_id
    teams = session.exec(select(Team.id, Team.name).where(Team.tenant_id == tenant).order_by(Team.name)).all()
    if scope.team_ids is not None:
        teams = [t for t in teams if t[0] in scope.team_ids]
    people = select(User.id, User.name).where(User.tenant_id == tenant, User.is_active.is_(True),
                                              User.role.in_(["attendant", "supervisor"]))
    if scope.attendant_id is not None:
        people = people.where(User.id == scope.attendant_id)
    elif scope.team_ids is not None:
        members = select(TeamMember.user_id).where(TeamMember.team_id.in_(list(scope.team_ids)))
        people = people.where(User.id.in_(members))
    return Choices(
        teams=[tuple(t) for t in teams],
        inboxes=[tuple(r) for r in session.exec(select(Inbox.id, Inbox.name).where(Inbox.tenant_id == tenant)
                                                .order_by(Inbox.name)).all()],
        labels=[tuple(r) for r in session.exec(select(Label.id, Label.name).where(Label.tenant_id == tenant)
                                               .order_by(Label.name)).all()],
        attendants=[tuple(r) for r in session.exec(people.order_by(User.name)).all()])
