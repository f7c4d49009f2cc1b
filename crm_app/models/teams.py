"""Teams of attendants and their members."""

import datetime as dt
from typing import Any

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_teams_tenant_name"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    name: str = text(80)
    # "round_robin" or "least_load".
    assignment_mode: str = text(16, default="round_robin")
    # The round robin's place: the member who got the last conversation.
    last_assigned_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    # {"mon": [["09:00", "18:00"]], ...}; empty means always open. Holidays are ISO dates.
    business_hours: dict[str, Any] = json_field()
    holidays: list[str] = json_field(default_factory=list)
    # None uses the tenant's timezone.
    timezone: str | None = text(64, nullable=True)
    out_of_hours_message: str | None = Field(default=None, sa_type=Text, nullable=True)
    # What the customer hears when a handoff gives the conversation to someone at once; `{nome}`/`{name}` is
    # their first name. None: the catalogue's text in the tenant's language.
    assigned_message: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_at: dt.datetime = now_field()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_team_members_team_user"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    team_id: int = fk("teams.id", ondelete="CASCADE")
    user_id: int = fk("users.id", ondelete="CASCADE")
    created_at: dt.datetime = now_field()
