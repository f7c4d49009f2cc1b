"""SLA attainment and breaches: per target, per local day, and per team, attendant and number.

Read from `sla_clocks` only (one row per clock of a conversation; see `models.sla.SlaClock`), with the same
filters and scope as the rest of analytics (`criteria`): executives and admins read the tenant, supervisors their
teams, attendants the clocks that were theirs. The team, attendant and number are the clock's own columns: the
conversation's when the clock finished.

Definitions (the page's tooltips and the API's docs say the same):

- A clock **counts in a period** when it was decided in it: a hit clock on its `done_at`, a missed clock on its
  `due_at` (it is missed at its deadline, answered later or never). Active clocks are not decided and not counted.
- **Attainment** = hit / (hit + missed), per target; None with no decided clock.
- **Breaches per day**: missed clocks per local day (the tenant's timezone) of their deadline.

One query path: `_counts` groups the decided clocks of the period by local day, target and the dimension asked
for; the summary, the series and the breakdowns are sums of its rows, so they always agree. The period bounds the
deadline from below (`due_at >= start`, a hit is done by its deadline), which keeps the read on the index
`ix_sla_clocks_tenant_due`; a hit clock without a deadline (paused with no known end, then done) is read too.
Works on PostgreSQL and on the laptop's SQLite alike (`rollups.local_day`, `rollups.run`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm_app.errors import ValidationError
from crm_app.models import Inbox, Team, User
from crm_app.services.analytics import criteria, rollups
from crm_app.services.core.actors import Actor

TARGETS = ("first_response", "next_response", "resolution")
_KEYS = {None: "0", "attendant": "f.assignee_id", "team": "f.team_id", "inbox": "f.inbox_id"}
_MODELS = {"attendant": User, "team": Team, "inbox": Inbox}
_DECIDED_AT = "(CASE WHEN f.status = 'missed' THEN f.due_at ELSE f.done_at END)"
_DECIDED = ("f.tenant_id = :tenant_id AND (f.due_at >= :start OR f.due_at IS NULL) "
            "AND ((f.status = 'hit' AND f.done_at >= :start AND f.done_at < :end) "
            "OR (f.status = 'missed' AND f.due_at < :end))")


@dataclass
class SlaCounts:
    """Decided clocks of one target (or of all): how many were hit and how many missed."""

    hit: int = 0
    missed: int = 0

    @property
    def decided(self) -> int:
        return self.hit + self.missed

    @property
    def attainment(self) -> float | None:
        """hit / (hit + missed), or None with no decided clock."""
        return round(self.hit / self.decided, 4) if self.decided else None

    def add(self, other: SlaCounts) -> None:
        """Add `other`'s counts to these."""
        self.hit, self.missed = self.hit + other.hit, self.missed + other.missed


def _targets() -> dict[str, SlaCounts]:
    """Empty counts per target and "all" (the sum of the three)."""
    return {name: SlaCounts() for name in (*TARGETS, "all")}


def _add(into: dict[str, SlaCounts], target: str, counts: SlaCounts) -> None:
    into[target].add(counts)
    into["all"].add(counts)


def _counts(session: Session, actor: Actor, filters: criteria.Filters,
            by: str | None) -> dict[tuple[dt.date, str, int], SlaCounts]:
    """{(local day decided, target, key): counts} of the clocks decided in the period, in the actor's scope (key 0
    when `by` is None, or for clocks without that dimension)."""
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    query = (f"SELECT {rollups.local_day(session, _DECIDED_AT)} AS day, f.target, {_KEYS[by]} AS key, "
             "sum(CASE WHEN f.status = 'hit' THEN 1 ELSE 0 END), "
             "sum(CASE WHEN f.status = 'missed' THEN 1 ELSE 0 END) FROM sla_clocks f WHERE " + _DECIDED
             + criteria.fact_conditions(filters, scope, "f.assignee_id") + " GROUP BY 1, 2, 3")
    out: dict[tuple[dt.date, str, int], SlaCounts] = {}
    for day, target, key, hit, missed in rollups.run(
            session, query, criteria.fact_params(actor.tenant_id, tz, filters, scope)).all():
        if target in TARGETS:
            out[(rollups.as_date(day), str(target), int(key or 0))] = SlaCounts(int(hit), int(missed))
    return out


def has_clocks(session: Session, tenant_id: int) -> bool:
    """Whether the tenant has any SLA clock at all (else the page shows how to start: a policy)."""
    found = rollups.run(session, "SELECT 1 FROM sla_clocks WHERE tenant_id = :tenant_id LIMIT 1",
                        {"tenant_id": tenant_id}).first()
    return found is not None


@dataclass
class SlaReport:
    """The period's counts per target (and "all"), one entry per local day, and the previous period's counts."""

    totals: dict[str, SlaCounts] = field(default_factory=_targets)
    days: list[tuple[dt.date, dict[str, SlaCounts]]] = field(default_factory=list)
    previous: dict[str, SlaCounts] | None = None


def report(session: Session, *, actor: Actor, filters: criteria.Filters, compare: bool = True) -> SlaReport:
    """Attainment per target over the period and per local day; with `compare`, the period just before.

    Args:
        session: The caller's session.
        actor: Any analytics reader; the scope narrows what they see.
        filters: The period and filters.
        compare: Whether to compute the previous period's counts (the cards' change).

    Returns:
        The report; its totals are the sum of its days.
    """
    per_day: dict[dt.date, dict[str, SlaCounts]] = defaultdict(_targets)
    for (day, target, _), counts in _counts(session, actor, filters, None).items():
        _add(per_day[day], target, counts)
    out = SlaReport()
    for i in range((filters.until - filters.since).days + 1):
        day = filters.since + dt.timedelta(days=i)
        counts = per_day.get(day) or _targets()
        for name in TARGETS:
            _add(out.totals, name, counts[name])
        out.days.append((day, counts))
    if compare:
        out.previous = report(session, actor=actor, filters=filters.previous(), compare=False).totals
    return out


@dataclass
class SlaGroup:
    """One team's, attendant's or number's counts per target (and "all") over the period."""

    id: int
    name: str
    targets: dict[str, SlaCounts]


def breakdown(session: Session, *, actor: Actor, filters: criteria.Filters, by: str) -> list[SlaGroup]:
    """Attainment per attendant, team or number ("attendant", "team", "inbox"), by name; clocks without one are
    left out."""
    if by not in _MODELS:
        raise ValidationError("by must be attendant, team or inbox", field="by")
    sums: dict[int, dict[str, SlaCounts]] = defaultdict(_targets)
    for (_, target, key), counts in _counts(session, actor, filters, by).items():
        if key:
            _add(sums[key], target, counts)
    model = _MODELS[by]
    names = dict(session.exec(select(model.id, model.name).where(model.tenant_id == actor.tenant_id,
                                                                 model.id.in_(list(sums) or [0]))).all())
    return sorted((SlaGroup(key, names[key], counts) for key, counts in sums.items() if key in names),
                  key=lambda g: (g.name.casefold(), g.id))
