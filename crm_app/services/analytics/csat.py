"""CSAT figures and answers: average, distribution (1-5) and response rate, per day, attendant, team and number.

One query path: `_counts` groups the surveys of the period by local day of sending and by the dimension asked
for; the series, the summary (the sum of the series' days) and the breakdowns are sums of its rows, so they always
agree. A survey counts on the local day it was sent: "answered / sent" is the share of that day's surveys rated
(at any time since). The same filters and scope as the rest of analytics (`figures`): executives and admins read
the tenant, supervisors their teams, attendants the surveys about themselves.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm_app.errors import ValidationError
from crm_app.models import CsatSurvey, Inbox, Team, User
from crm_app.services.analytics import criteria, rollups
from crm_app.services.audit import reads
from crm_app.services.core.actors import Actor

RATINGS = (1, 2, 3, 4, 5)
_KEYS = {None: "0", "attendant": "f.attendant_id", "team": "f.team_id", "inbox": "f.inbox_id"}
_MODELS = {"attendant": User, "team": Team, "inbox": Inbox}


@dataclass
class CsatCounts:
    """Counts of a set of surveys: sent, answered, the sum of ratings, and how many of each rating."""

    sent: int = 0
    answered: int = 0
    ratings_sum: int = 0
    distribution: list[int] = field(default_factory=lambda: [0] * 5)

    @property
    def average(self) -> float | None:
        """The average rating, or None with no answer."""
        return round(self.ratings_sum / self.answered, 2) if self.answered else None

    @property
    def response_rate(self) -> float | None:
        """Answered / sent, or None with nothing sent."""
        return round(self.answered / self.sent, 4) if self.sent else None

    def add(self, other: CsatCounts) -> None:
        """Add `other`'s counts to these."""
        self.sent, self.answered = self.sent + other.sent, self.answered + other.answered
        self.ratings_sum += other.ratings_sum
        self.distribution = [a + b for a, b in zip(self.distribution, other.distribution, strict=True)]


def _counts(session: Session, actor: Actor, filters: criteria.Filters, by: str | None) -> dict[tuple[dt.date, int],
                                                                                          CsatCounts]:
    """{(local day, key): counts} of the surveys sent in the period, for the actor's scope (key 0 when `by` is
    None)."""
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    buckets = ", ".join(f"sum(CASE WHEN f.rating = {n} THEN 1 ELSE 0 END)" for n in RATINGS)
    query = (f"SELECT {rollups.local_day(session, 'f.sent_at')} AS day, {_KEYS[by]} AS key, count(*), "
             f"count(f.rating), coalesce(sum(f.rating), 0), {buckets} FROM csat_surveys f "
             "WHERE f.tenant_id = :tenant_id AND f.sent_at >= :start AND f.sent_at < :end"
             + criteria.fact_conditions(filters, scope, "f.attendant_id") + " GROUP BY 1, 2")
    out: dict[tuple[dt.date, int], CsatCounts] = {}
    for day, key, sent, answered, total, *spread in rollups.run(
            session, query, criteria.fact_params(actor.tenant_id, tz, filters, scope)).all():
        out[(rollups.as_date(day), int(key or 0))] = CsatCounts(int(sent), int(answered), int(total),
                                                                [int(n) for n in spread])
    return out


@dataclass
class CsatReport:
    """The period's series (one entry per local day), its summary and the previous period's summary."""

    days: list[tuple[dt.date, CsatCounts]]
    totals: CsatCounts
    previous: CsatCounts | None = None


def report(session: Session, *, actor: Actor, filters: criteria.Filters, compare: bool = True) -> CsatReport:
    """CSAT per local day and in sum; with `compare`, the same figures for the period just before.

    Args:
        session: The caller's session.
        actor: Any analytics reader; the scope narrows what they see.
        filters: The period and filters.
        compare: Whether to compute the previous period's summary (the KPI card's change).

    Returns:
        The report.
    """
    found = _counts(session, actor, filters, None)
    days, totals = [], CsatCounts()
    for i in range((filters.until - filters.since).days + 1):
        day = filters.since + dt.timedelta(days=i)
        counts = found.get((day, 0), CsatCounts())
        totals.add(counts)
        days.append((day, counts))
    previous = report(session, actor=actor, filters=filters.previous(), compare=False).totals if compare else None
    return CsatReport(days, totals, previous)


@dataclass
class CsatGroup:
    """One attendant's, team's or number's CSAT over the period."""

    id: int
    name: str
    counts: CsatCounts


def breakdown(session: Session, *, actor: Actor, filters: criteria.Filters, by: str) -> list[CsatGroup]:
    """CSAT per attendant, team or number ("attendant", "team", "inbox"), by name; surveys without one are left
    out."""
    if by not in _MODELS:
        raise ValidationError("by must be attendant, team or inbox", field="by")
    sums: dict[int, CsatCounts] = defaultdict(CsatCounts)
    for (_, key), counts in _counts(session, actor, filters, by).items():
        if key:
            sums[key].add(counts)
    model = _MODELS[by]
    names = dict(session.exec(select(model.id, model.name).where(model.tenant_id == actor.tenant_id,
                                                                 model.id.in_(list(sums) or [0]))).all())
    return sorted((CsatGroup(key, names[key], counts) for key, counts in sums.items() if key in names),
                  key=lambda g: (g.name.casefold(), g.id))


@dataclass(frozen=True)
class CsatAnswer:
    """One survey as the API lists it."""

    id: int
    conversation_id: int
    cycle: int
    contact_id: int
    inbox_id: int
    team_id: int | None
    attendant_id: int | None
    closed_by_user_id: int | None
    status: str
    rating: int | None
    comment: str | None
    sent_at: dt.datetime
    rated_at: dt.datetime | None
    commented_at: dt.datetime | None


def _cursor(survey_id: int) -> str:
    return base64.urlsafe_b64encode(f"csat:{survey_id}".encode()).decode().rstrip("=")


def _after(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "csat" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except ValueError as exc:
        raise ValidationError("this cursor is not one we gave", field="cursor") from exc


def list_answers(session: Session, *, actor: Actor, filters: criteria.Filters, answered_only: bool = True,
                 with_comments: bool = False, cursor: str | None = None,
                 limit: int = 50) -> tuple[list[CsatAnswer], str | None]:
    """The surveys sent in the period, newest first, a page at a time (keyset on the id).

    Args:
        session: The caller's session.
        actor: Any analytics reader; the same scope as the figures.
        filters: The period (local days of sending) and the team, number, label and attendant filters.
        answered_only: Only rated surveys (the default), or every survey sent.
        with_comments: Whether the customers' comments leave with the rows (the caller may read messages); a
            page that carries any is recorded in the audit trail as an export (`export.download`, `csat_answers`).
        cursor: The previous page's `next_cursor`.
        limit: 1 to 100.

    Returns:
        (rows, the next page's cursor or None).
    """
    if not 1 <= limit <= 100:
        raise ValidationError("limit must be 1 to 100", field="limit")
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    params = criteria.fact_params(actor.tenant_id, tz, filters, scope)
    conditions = criteria.fact_conditions(filters, scope, "f.attendant_id")
    after = _after(cursor)
    if after is not None:
        conditions += " AND f.id < :after"
        params["after"] = after
    if answered_only:
        conditions += " AND f.rating IS NOT NULL"
    ids = [row[0] for row in rollups.run(session, "SELECT f.id FROM csat_surveys f WHERE f.tenant_id = :tenant_id "
                                         "AND f.sent_at >= :start AND f.sent_at < :end" + conditions
                                         + f" ORDER BY f.id DESC LIMIT {int(limit) + 1}", params).all()]
    rows = session.exec(select(CsatSurvey).where(CsatSurvey.id.in_(ids[:limit] or [0]))
                        .order_by(CsatSurvey.id.desc())).all()
    page = [CsatAnswer(r.id, r.conversation_id, r.cycle, r.contact_id, r.inbox_id, r.team_id, r.attendant_id,
                       r.closed_by_user_id, str(r.status), r.rating, r.comment if with_comments else None,
                       r.sent_at, r.rated_at, r.commented_at) for r in rows]
    if any(row.comment for row in page):
        reads.record_export(session, actor=actor, kind="csat_answers", filters={
            "since": filters.since.isoformat(), "until": filters.until.isoformat(), "team_id": filters.team_id,
            "inbox_id": filters.inbox_id, "label_id": filters.label_id, "attendant_id": filters.attendant_id,
            "answered_only": answered_only, "after": after})
    return page, (_cursor(ids[limit - 1]) if len(ids) > limit else None)
