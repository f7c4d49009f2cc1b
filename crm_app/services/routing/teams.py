"""Teams of a tenant and their members."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, func, select

from crm_app.domain import business_hours as business_hours_domain
from crm_app.errors import Conflict, ValidationError
from crm_app.models import Conversation, ConversationStatus, Role, Team, TeamMember, Tenant, User
from crm_app.services.access.users import access_user
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, fetch_owned, require_role
from crm_app.services.routing import queue


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    member_count: int


def access_team(session: Session, *, actor: Actor, team_id: int) -> Team:
    """The team `team_id` of the actor's tenant; NotFound otherwise."""
    return fetch_owned(session, Team, team_id, actor=actor, what="team")


def create_team(session: Session, *, actor: Actor, name: str) -> TeamRow:
    """Create a team in the actor's tenant; admins only."""
    require_role(actor, Role.ADMIN)
    name = _validated_name(name)
    exists = session.exec(select(Team).where(Team.tenant_id == actor.tenant_id, Team.name == name)).first()
    if exists is not None:
        raise Conflict("a team with this name already exists")
    team = Team(tenant_id=actor.tenant_id, name=name)
    session.add(team)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="team.create",
                 target_type="team", target_id=team.id, after={"name": name})
    return TeamRow(team.id, team.name, 0)


def add_member(session: Session, *, actor: Actor, team_id: int, user_id: int) -> bool:
    """Put a user in a team; both must be the actor's tenant's. Returns whether it changed."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    team = access_team(session, actor=actor, team_id=team_id)
    user = access_user(session, actor=actor, user_id=user_id)
    query = select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    if session.exec(query).first() is not None:
        return False
    session.add(TeamMember(tenant_id=actor.tenant_id, team_id=team.id, user_id=user.id))
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="team.add_member",
                 target_type="team", target_id=team.id, after={"user_id": user.id})
    return True


def list_teams(session: Session, *, actor: Actor) -> list[TeamRow]:
    """The actor's tenant's teams with their member counts."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR, Role.ATTENDANT)
    counts = (select(Team.id, Team.name, func.count(TeamMember.id))
              .join(TeamMember, TeamMember.team_id == Team.id, isouter=True)
              .where(Team.tenant_id == actor.tenant_id).group_by(Team.id, Team.name).order_by(Team.name))
    return [TeamRow(i, n, c) for i, n, c in session.exec(counts)]


# ---- the Teams settings page ---------------------------------------------------------------------------------

MODES = ("round_robin", "least_load")
MAX_OUT_OF_HOURS = 1000
MAX_ASSIGNED_MESSAGE = 1000


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    name: str
    email: str
    role: str
    capacity: int
    load: int  # open and pending conversations they own now


@dataclass(frozen=True)
class TeamDetail:
    id: int
    name: str
    assignment_mode: str
    business_hours: dict[str, list[list[str]]]
    holidays: list[str]
    timezone: str | None  # None: the tenant's
    tenant_timezone: str
    out_of_hours_message: str
    assigned_message: str  # "" when the team uses the catalogue's text
    members: list[MemberRow]
    waiting: int  # conversations in this team's queue


def _validated_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError("team name must have 1 to 80 characters", field="name")
    return name


def team_detail(session: Session, *, actor: Actor, team_id: int) -> TeamDetail:
    """Everything the Teams page shows of one team; admins only."""
    require_role(actor, Role.ADMIN)
    team = access_team(session, actor=actor, team_id=team_id)
    people = session.exec(select(User).join(TeamMember, TeamMember.user_id == User.id)
                          .where(TeamMember.team_id == team.id).order_by(User.name, User.id)).all()
    counts = queue.loads(session, actor.tenant_id, [u.id for u in people])
    waiting = session.exec(select(func.count()).select_from(Conversation).where(
        Conversation.tenant_id == actor.tenant_id, Conversation.team_id == team.id,
        Conversation.queued_at.is_not(None), Conversation.assignee_id.is_(None),
        Conversation.status != ConversationStatus.CLOSED)).one()
    tenant = session.get(Tenant, actor.tenant_id)
    return TeamDetail(team.id, team.name, team.assignment_mode, dict(team.business_hours or {}),
                      list(team.holidays or []), team.timezone, tenant.timezone, team.out_of_hours_message or "",
                      team.assigned_message or "",
                      [MemberRow(u.id, u.name, u.email, str(u.role), u.capacity, counts.get(u.id, 0))
                       for u in people], int(waiting))


def candidates(session: Session, *, actor: Actor, team_id: int) -> list[tuple[int, str]]:
    """Active users of the tenant who are not in the team yet: (id, name), by name."""
    require_role(actor, Role.ADMIN)
    team = access_team(session, actor=actor, team_id=team_id)
    inside = select(TeamMember.user_id).where(TeamMember.team_id == team.id)
    rows = session.exec(select(User.id, User.name).where(User.tenant_id == actor.tenant_id,
                                                        User.is_active.is_(True), User.id.not_in(inside))
                        .order_by(User.name, User.id)).all()
    return [(i, n) for i, n in rows]


@dataclass(frozen=True)
class TeamView:
    """One team as the Teams page edits it, with the users who could still join it."""

    detail: TeamDetail
    candidates: list[tuple[int, str]]


@dataclass(frozen=True)
class TeamsOverview:
    """The Teams page: every team, and the one shown (None when the tenant has none)."""

    teams: list[TeamRow]
    selected: TeamView | None


def team_view(session: Session, *, actor: Actor, team_id: int) -> TeamView:
    """`team_detail` and `candidates` of one team, from one snapshot; admins only."""
    detail = team_detail(session, actor=actor, team_id=team_id)
    return TeamView(detail, candidates(session, actor=actor, team_id=detail.id))


def teams_overview(session: Session, *, actor: Actor, team_id: int | None = None) -> TeamsOverview:
    """The Teams page's read model: the list, and `team_id` (or the first team, if it is not listed) shown.

    Args:
        session: The caller's session.
        actor: An admin; everything is of their tenant.
        team_id: The team the tab had selected, if any.

    Returns:
        The teams and the selected team's view.
    """
    rows = list_teams(session, actor=actor)
    ids = [r.id for r in rows]
    chosen = team_id if team_id in ids else (ids[0] if ids else None)
    return TeamsOverview(rows, team_view(session, actor=actor, team_id=chosen) if chosen is not None else None)


def rename_team(session: Session, *, actor: Actor, team_id: int, name: str) -> TeamRow:
    """Give a team another name, unique in the tenant; admins only."""
    require_role(actor, Role.ADMIN)
    team = access_team(session, actor=actor, team_id=team_id)
    name = _validated_name(name)
    if name != team.name:
        clash = session.exec(select(Team.id).where(Team.tenant_id == actor.tenant_id, Team.name == name,
                                                   Team.id != team.id)).first()
        if clash is not None:
            raise Conflict("a team with this name already exists")
        before, team.name = team.name, name
        session.add(team)
        audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="team.rename", target_type="team",
                     target_id=team.id, before={"name": before}, after={"name": name})
    count = session.exec(select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team.id)).one()
    return TeamRow(team.id, team.name, int(count))


def remove_member(session: Session, *, actor: Actor, team_id: int, user_id: int) -> bool:
    """Take a user out of a team (their conversations stay theirs). Returns whether it changed."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    team = access_team(session, actor=actor, team_id=team_id)
    link = session.exec(select(TeamMember).where(TeamMember.team_id == team.id,
                                                 TeamMember.user_id == user_id)).first()
    if link is None:
        return False
    session.delete(link)
    if team.last_assigned_user_id == user_id:
        team.last_assigned_user_id = None
        session.add(team)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="team.remove_member",
                 target_type="team", target_id=team.id, before={"user_id": user_id})
    return True


def set_assignment_mode(session: Session, *, actor: Actor, team_id: int, mode: str) -> str:
    """Round robin or least load for the team's automatic assignment; admins only."""
    require_role(actor, Role.ADMIN)
    team = access_team(session, actor=actor, team_id=team_id)
    if mode not in MODES:
        raise ValidationError("mode must be round_robin or least_load", field="assignment_mode")
    _change(session, actor, team, "assignment_mode", mode)
    return mode


def _change(session: Session, actor: Actor, team: Team, field: str, value: object) -> None:
    """Set one of the team's fields and audit it as `team.<field>`, when it changes."""
    before = getattr(team, field)
    if value == before:
        return
    setattr(team, field, value)
    session.add(team)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action=f"team.{field}", target_type="team",
                 target_id=team.id, before={field: before}, after={field: value})


def update_schedule(session: Session, *, actor: Actor, team_id: int, business_hours: dict, holidays: list[str],
                    timezone: str | None, out_of_hours_message: str | None) -> TeamDetail:
    """Business hours, holidays, timezone (None/empty: the tenant's) and the out-of-hours text; admins only.

    Raises ValidationError naming the field ("business_hours", "holidays", "timezone", "out_of_hours_message").
    """
    require_role(actor, Role.ADMIN)
    team = access_team(session, actor=actor, team_id=team_id)
    try:
        hours = business_hours_domain.parse_hours(business_hours)
    except ValueError as exc:
        raise ValidationError(str(exc), field="business_hours") from exc
    try:
        dates = business_hours_domain.parse_holidays(holidays)
    except ValueError as exc:
        raise ValidationError(str(exc), field="holidays") from exc
    zone = (timezone or "").strip() or None
    if zone is not None and not business_hours_domain.valid_timezone(zone):
        raise ValidationError("unknown timezone", field="timezone")
    message = (out_of_hours_message or "").strip() or None
    if message is not None and len(message) > MAX_OUT_OF_HOURS:
        raise ValidationError("the out-of-hours message is too long", field="out_of_hours_message")
    before = {"business_hours": team.business_hours, "holidays": team.holidays, "timezone": team.timezone,
              "out_of_hours_message": team.out_of_hours_message}
    after = {"business_hours": hours, "holidays": dates, "timezone": zone, "out_of_hours_message": message}
    if before != after:
        team.business_hours, team.holidays, team.timezone, team.out_of_hours_message = hours, dates, zone, message
        session.add(team)
        audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="team.schedule", target_type="team",
                     target_id=team.id, before=before, after=after)
    return team_detail(session, actor=actor, team_id=team.id)


def set_assigned_message(session: Session, *, actor: Actor, team_id: int, message: str | None) -> TeamDetail:
    """The text a customer hears when a handoff gives them to one of the team at once; admins only.

    Args:
        session: The caller's session.
        actor: An admin of the team's tenant.
        team_id: The team.
        message: The text, where `{nome}` or `{name}` becomes the attendant's first name; blank goes back to
            the catalogue's text in the tenant's language.

    Returns:
        The team as the page shows it.

    Raises:
        ValidationError: The text is longer than 1000 characters (field "assigned_message").
    """
    require_role(actor, Role.ADMIN)
    team = access_team(session, actor=actor, team_id=team_id)
    text = (message or "").strip() or None
    if text is not None and len(text) > MAX_ASSIGNED_MESSAGE:
        raise ValidationError("the assignment message is too long", field="assigned_message")
    _change(session, actor, team, "assigned_message", text)
    return team_detail(session, actor=actor, team_id=team.id)


def delete_team(session: Session, *, actor: Actor, team_id: int) -> None:
    """Delete a team; its conversations keep going, without a team (the tenant-wide queue); admins only."""
    require_role(actor, Role.ADMIN)
    team = access_team(session, actor=actor, team_id=team_id)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="team.delete", target_type="team",
                 target_id=team.id, before={"name": team.name})
    session.delete(team)
    session.flush()
