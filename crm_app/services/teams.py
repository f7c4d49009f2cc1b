"""Teams of a tenant and their members."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, func, select

from crm_app.errors import Conflict, ValidationError
from crm_app.models import Role, Team, TeamMember
from crm_app.services import audit
from crm_app.services.actors import Actor, fetch_owned, require_role
from crm_app.services.users import access_user


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
    name = name.strip()
    if not name or len(name) > 80:
        raise ValidationError("team name must have 1 to 80 characters")
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
