"""The analytics tables beside the cards: figures per attendant, team or number, and the distributions (FRT
buckets, handoff reasons, failed sends by reason). Same filters, scope and query path as the cards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm_app.domain import analytics as rules
from crm_app.errors import ValidationError
from crm_app.models import Inbox, Team, User
from crm_app.services.analytics import busy, criteria, figures, rollups, timings
from crm_app.services.core.actors import Actor


@dataclass
class BreakdownRow:
    """One attendant's, team's or number's figures over the period."""

    id: int
    name: str
    handled: int = 0
    messages_sent: int = 0
    messages_in: int = 0
    first_contact: int = 0  # of `handled`, the cycles resolved at first contact
    frt: timings.Duration = field(default_factory=timings.Duration)
    resolution: timings.Duration = field(default_factory=timings.Duration)
    online_hours: float = 0.0
    busy_share: float | None = None  # attendants only; None with no online time (see `rules.compute_busy_seconds`)


def breakdown(session: Session, *, actor: Actor, filters: criteria.Filters, by: str,
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
    if by not in timings.GROUPS:
        raise ValidationError("by must be attendant, team or inbox", field="by")
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    today = criteria.today_for(session, actor.tenant_id, now)
    parts = figures.period_parts(session, actor.tenant_id, tz, filters, scope, today)
    found: dict[int, BreakdownRow] = {}
    for ident, values in parts.groups(by).items():
        # Handled: the cycles closed while assigned to them (resolution_count), as the API documents.
        found[ident] = BreakdownRow(ident, "", handled=int(values["resolution_count"]),
                                    messages_sent=int(values["messages_out"]), messages_in=int(values["messages_in"]),
                                    first_contact=int(values["first_contact"]),
                                    online_hours=float(values["online_seconds"]) / 3600)
    for metric in ("frt", "resolution"):
        for ident, stats in timings.durations_by(session, actor.tenant_id, tz, filters, scope, metric, by).items():
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


def frt_buckets(session: Session, *, actor: Actor, filters: criteria.Filters) -> list[dict]:
    """The FRT distribution: per bucket (0–1 min … 4 h+, wall time), the conversations with a first response of
    the period in it. A conversation counts once per bucket, however many of its cycles (start, reopens) were
    answered in that bucket, so a bar is the number of conversations its click opens; one whose cycles fall in
    two buckets counts in both. (The FRT card's median and p90 are over cycles.)"""
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    cases = " ".join(f"WHEN f.frt_seconds >= {low}" + (f" AND f.frt_seconds < {high}" if high else "")
                     + f" THEN '{name}'" for name, low, high in rules.FRT_BUCKETS)
    query = (f"SELECT CASE {cases} END AS bucket, count(DISTINCT f.conversation_id) FROM conversation_facts f "
             "WHERE f.tenant_id = :tenant_id "
             "AND f.first_human_at >= :start AND f.first_human_at < :end AND f.frt_seconds IS NOT NULL"
             + criteria.fact_conditions(filters, scope, "f.first_human_user_id") + " GROUP BY 1")
    found = dict(rollups.run(session, query, criteria.fact_params(actor.tenant_id, tz, filters, scope)).all())
    return [{"bucket": name, "count": int(found.get(name, 0))} for name, _, _ in rules.FRT_BUCKETS]


def handoff_reasons(session: Session, *, actor: Actor, filters: criteria.Filters) -> list[dict]:
    """Handoffs of the period by reason, most frequent first."""
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    query = ("SELECT coalesce(f.handoff_reason, 'handoff'), count(*) FROM conversation_facts f "
             "WHERE f.tenant_id = :tenant_id AND f.handoff_at >= :start AND f.handoff_at < :end"
             + criteria.fact_conditions(filters, scope, "f.assignee_id") + " GROUP BY 1 ORDER BY 2 DESC, 1")
    rows = rollups.run(session, query, criteria.fact_params(actor.tenant_id, tz, filters, scope)).all()
    return [{"reason": reason, "count": int(n)} for reason, n in rows]


def failed_by_reason(session: Session, *, actor: Actor, filters: criteria.Filters) -> list[dict]:
    """Failed sends of the period by Meta's reason (people's and the bot's messages)."""
    scope = criteria.scope_for(session, actor)
    criteria.check_filters(session, actor, filters)
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    conditions = criteria.fact_conditions(filters, scope, "CASE WHEN m.sender_type = 'attendant' THEN m.sender_user_id "
                                                 "ELSE f.assignee_id END")
    conditions = conditions.replace("f.conversation_id", "m.conversation_id")
    query = ("SELECT coalesce(m.error_reason, '?'), count(*) FROM messages m JOIN conversations f "
             "ON f.id = m.conversation_id WHERE m.tenant_id = :tenant_id AND m.status = 'failed' "
             "AND m.direction = 'outbound' AND m.created_at >= :start AND m.created_at < :end"
             + conditions + " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20")
    rows = rollups.run(session, query, criteria.fact_params(actor.tenant_id, tz, filters, scope)).all()
    return [{"reason": reason, "count": int(n)} for reason, n in rows]
