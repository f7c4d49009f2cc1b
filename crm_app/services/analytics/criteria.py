"""What an analytics report covers and whose figures it may show.

`Filters` are the period (local days) and the optional number, team, label and attendant; `Scope` is what the
actor may read (executives and admins the tenant, supervisors their teams, attendants themselves). The SQL
conditions on the conversation facts that both imply are written here once, for every query of the area.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.errors import ValidationError
from crm_app.models import Inbox, Label, Team, TeamMember, User
from crm_app.services.analytics import rollups
from crm_app.services.core.actors import Actor, fetch_owned, require_role

READERS = ("admin", "executive", "supervisor", "attendant")
MAX_DAYS = 400


@dataclass(frozen=True)
class Filters:
    """What a report covers: local days [since, until] and optional number, team, label and attendant."""

    since: dt.date
    until: dt.date
    team_id: int | None = None
    inbox_id: int | None = None
    label_id: int | None = None
    attendant_id: int | None = None

    def previous(self) -> Filters:
        """The same filters over the period of equal length just before."""
        length = (self.until - self.since).days + 1
        return replace(self, since=self.since - dt.timedelta(days=length), until=self.since - dt.timedelta(days=1))


@dataclass(frozen=True)
class Scope:
    """Whose figures the actor may read: None means no limit."""

    team_ids: frozenset[int] | None = None
    attendant_id: int | None = None


def period(name: str, today: dt.date, since: str | None = None, until: str | None = None) -> tuple[dt.date, dt.date]:
    """The local days of a named period: "today", "7d", "30d", "90d", "365d", or "custom" with ISO dates.

    Raises:
        ValidationError: An unknown period, unreadable dates, an inverted or too long range.
    """
    if name == "today":
        return today, today
    if name in ("7d", "30d", "90d", "365d"):
        return today - dt.timedelta(days=int(name[:-1]) - 1), today
    if name != "custom":
        raise ValidationError("period must be today, 7d, 30d, 90d, 365d or custom", field="period")
    try:
        first, last = dt.date.fromisoformat(since or ""), dt.date.fromisoformat(until or "")
    except ValueError as exc:
        raise ValidationError("since and until must be dates (YYYY-MM-DD)", field="since") from exc
    if last < first or (last - first).days >= MAX_DAYS:
        raise ValidationError(f"the range must run forward and cover at most {MAX_DAYS} days", field="until")
    return first, last


def scope_for(session: Session, actor: Actor) -> Scope:
    """Executives and admins: the tenant; supervisors: the teams they belong to; attendants: themselves."""
    require_role(actor, *READERS)
    if actor.role in ("admin", "executive"):
        return Scope()
    if actor.role == "supervisor":
        teams = session.exec(select(TeamMember.team_id).where(TeamMember.user_id == actor.user_id)).all()
        return Scope(team_ids=frozenset(teams))
    return Scope(attendant_id=actor.user_id)


def check_filters(session: Session, actor: Actor, filters: Filters) -> None:
    """Every id in the filters belongs to the actor's tenant (else the same NotFound as a missing one)."""
    for model, value, what in ((Team, filters.team_id, "team"), (Inbox, filters.inbox_id, "number"),
                               (Label, filters.label_id, "label"), (User, filters.attendant_id, "attendant")):
        if value is not None:
            fetch_owned(session, model, value, actor=actor, what=what)


def today_for(session: Session, tenant_id: int, now: dt.datetime | None = None) -> dt.date:
    """The tenant's local date now."""
    return (now or utcnow()).astimezone(ZoneInfo(rollups.tenant_timezone(session, tenant_id))).date()


def fact_conditions(filters: Filters, scope: Scope, attendant_column: str | None) -> str:
    """SQL conditions on the facts alias `f` for the filters and the scope (bound parameters named here); with
    `attendant_column` None the attendant condition is left to the caller."""
    parts = []
    if filters.team_id is not None:
        parts.append("f.team_id = :team_id")
    if filters.inbox_id is not None:
        parts.append("f.inbox_id = :inbox_id")
    if scope.team_ids is not None:
        parts.append(f"f.team_id IN {team_list(scope)}")
    if attendant_column and (scope.attendant_id is not None or filters.attendant_id is not None):
        parts.append(f"{attendant_column} = :attendant_id")
    return "".join(f" AND {p}" for p in parts) + rollups.conversation_filter(filters.label_id)


def team_list(scope: Scope) -> str:
    """The scope's team ids as an SQL list (integers read from the database; "(-1)" matches none): one syntax
    for PostgreSQL and SQLite."""
    return "(" + (", ".join(str(int(t)) for t in sorted(scope.team_ids or ())) or "-1") + ")"


def fact_params(tenant_id: int, tz: str, filters: Filters, scope: Scope) -> dict:
    """The bound parameters of `fact_conditions` and the period."""
    start, end = rollups.day_bounds(tz, filters.since, filters.until)
    return {"tenant_id": tenant_id, "start": start, "end": end, "tz": tz, "team_id": filters.team_id,
            "inbox_id": filters.inbox_id, "label_id": filters.label_id,
            "scope_teams": sorted(scope.team_ids or ()), "attendant_id": scope.attendant_id or filters.attendant_id}
