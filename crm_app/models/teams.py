"""Teams of attendants and their members."""

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, now_field, tenant_field, text


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_teams_tenant_name"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    name: str = text(80)
    created_at: dt.datetime = now_field()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_team_members_team_user"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    team_id: int = fk("teams.id", ondelete="CASCADE")
    user_id: int = fk("users.id", ondelete="CASCADE")
    created_at: dt.datetime = now_field()
