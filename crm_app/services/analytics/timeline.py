"""One attendant's day: presence stretches, messages sent, first responses and closes, in local time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import text as sql
from sqlmodel import Session

from crm_app.errors import NotFound
from crm_app.models import User
from crm_app.services.analytics import criteria, rollups
from crm_app.services.core.actors import Actor, fetch_owned

MAX_EVENTS = 500


@dataclass(frozen=True)
class TimelineEvent:
    """One moment of the day: kind is online, away, message, first_response or close."""

    at: dt.datetime
    kind: str
    until: dt.datetime | None = None
    conversation_id: int | None = None


def timeline(session: Session, *, actor: Actor, user_id: int, day: dt.date) -> list[TimelineEvent]:
    """What one attendant did on one local day, oldest first.

    Args:
        session: The caller's session.
        actor: Executives and admins see anyone of the tenant; supervisors the members of their teams;
            attendants only themselves (anyone else is "not found").
        user_id: The attendant.
        day: The tenant's local day.

    Returns:
        Up to 500 events.
    """
    scope = criteria.scope_for(session, actor)
    fetch_owned(session, User, user_id, actor=actor, what="attendant")
    if scope.attendant_id is not None and user_id != scope.attendant_id:
        raise NotFound("attendant not found")
    if scope.team_ids is not None and user_id != actor.user_id and user_id not in _members(session, scope.team_ids):
        raise NotFound("attendant not found")
    tz = rollups.tenant_timezone(session, actor.tenant_id)
    start, end = rollups.day_bounds(tz, day, day)
    params = {"t": actor.tenant_id, "u": user_id, "s": start, "e": end}
    events = [TimelineEvent(max(a, start), k, min(u, end)) for k, a, u in _rows(session, (
        "SELECT status, started_at, coalesce(ended_at, last_seen_at) FROM presence_intervals "
        "WHERE tenant_id = :t AND user_id = :u AND started_at < :e AND coalesce(ended_at, last_seen_at) > :s"),
        params, moments=(1, 2))]
    events += [TimelineEvent(a, "message", None, c) for a, c in _rows(session, (
        "SELECT created_at, conversation_id FROM messages WHERE tenant_id = :t AND sender_user_id = :u "
        "AND sender_type = 'attendant' AND created_at >= :s AND created_at < :e ORDER BY created_at LIMIT 300"),
        params, moments=(0,))]
    events += [TimelineEvent(a, kind, None, c) for kind, a, c in _rows(session, (
        "SELECT 'first_response', first_human_at, conversation_id FROM conversation_facts WHERE tenant_id = :t "
        "AND first_human_user_id = :u AND first_human_at >= :s AND first_human_at < :e UNION ALL "
        "SELECT 'close', closed_at, conversation_id FROM conversation_facts WHERE tenant_id = :t "
        "AND assignee_id = :u AND closed_at >= :s AND closed_at < :e"), params, moments=(1,))]
    zone = ZoneInfo(tz)
    return sorted((TimelineEvent(e.at.astimezone(zone), e.kind, e.until.astimezone(zone) if e.until else None,
                                 e.conversation_id) for e in events), key=lambda e: (e.at, e.kind))[:MAX_EVENTS]


def _rows(session: Session, query: str, params: dict, moments: tuple[int, ...]) -> list[tuple]:
    """The rows, with the columns at `moments` read back as aware UTC (SQLite answers text)."""
    return [tuple(rollups.as_utc(v) if i in moments else v for i, v in enumerate(row))
            for row in rollups.run(session, query, params).all()]


def _members(session: Session, team_ids: frozenset[int]) -> set[int]:
    if not team_ids:
        return set()
    rows = session.execute(sql("SELECT user_id FROM team_members WHERE team_id IN "
                               + criteria.team_list(criteria.Scope(team_ids=team_ids)))).all()
    return {r[0] for r in rows}
