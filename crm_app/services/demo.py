"""The demo tenant that `make run` seeds on an empty database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.models import Team, TeamMember, Tenant, User
from crm_app.services import inboxes, tenants, users

DEMO_SLUG = "demo"
DEMO_USERS = (
    ("admin@demo.local", "Alice Admin", "admin"),
    ("supervisor@demo.local", "Sérgio Supervisor", "supervisor"),
    ("ana@demo.local", "Ana Atendente", "attendant"),
    ("bruno@demo.local", "Bruno Atendente", "attendant"),
)
DEMO_TEAM = "Recepção"


@dataclass(frozen=True)
class DemoReport:
    tenant_created: bool
    users_created: list[str]
    inbox_created: bool
    logins: list[tuple[str, str]]


def database_is_empty(session: Session) -> bool:
    """True when no tenant exists yet."""
    return session.exec(select(Tenant.id).limit(1)).first() is None


def sandbox_graph_url() -> str:
    """The Graph API base URL of the local sandbox."""
    return f"http://127.0.0.1:{get_settings().sandbox_port}/graph/v23.0"


def seed_demo(session: Session) -> DemoReport:
    """Create the demo tenant, its users, team and sandbox inbox; idempotent."""
    settings = get_settings()
    password = settings.demo_password.get_secret_value()
    tenant, tenant_created = tenants.ensure_tenant(session, name="Hotel Demonstração", slug=DEMO_SLUG)
    created = []
    for email, name, role in DEMO_USERS:
        _, was_created = users.ensure_user(session, actor=None, tenant_id=tenant.id, email=email,
                                           name=name, role=role, password=password)
        if was_created:
            created.append(email)
    _ensure_team(session, tenant.id)
    _, inbox_created = inboxes.ensure_inbox(
        session, actor=None, tenant_id=tenant.id, name="WhatsApp Recepção",
        phone_number_id=settings.demo_wa_phone_number_id, waba_id=settings.demo_wa_waba_id,
        display_number=settings.demo_wa_display_number,
        access_token=settings.demo_wa_access_token.get_secret_value(),
        app_secret=settings.demo_wa_app_secret.get_secret_value(),
        verify_token=settings.demo_wa_verify_token.get_secret_value(),
        graph_base_url=sandbox_graph_url(),
    )
    logins = [(email, role) for email, _, role in DEMO_USERS]
    return DemoReport(tenant_created, created, inbox_created, logins)


def _ensure_team(session: Session, tenant_id: int) -> None:
    team = session.exec(select(Team).where(Team.tenant_id == tenant_id, Team.name == DEMO_TEAM)).first()
    if team is None:
        team = Team(tenant_id=tenant_id, name=DEMO_TEAM)
        session.add(team)
        session.flush()
    attendants = session.exec(select(User).where(User.tenant_id == tenant_id, User.role == "attendant")).all()
    member_ids = set(session.exec(select(TeamMember.user_id).where(TeamMember.team_id == team.id)).all())
    for user in attendants:
        if user.id not in member_ids:
            session.add(TeamMember(tenant_id=tenant_id, team_id=team.id, user_id=user.id))
