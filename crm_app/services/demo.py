"""The demo tenant that `make run` seeds on an empty database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.models import Inbox, SlaPolicy, Team, TeamMember, Tenant, User
from crm_app.services import access, bot, channel, mail

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
    tenant, tenant_created = access.ensure_tenant(session, name="Hotel Demonstração", slug=DEMO_SLUG)
    created = []
    for email, name, role in DEMO_USERS:
        _, was_created = access.ensure_user(session, actor=None, tenant_id=tenant.id, email=email,
                                           name=name, role=role, password=password)
        if was_created:
            created.append(email)
    _ensure_team(session, tenant.id)
    _, inbox_created = channel.ensure_inbox(
        session, actor=None, tenant_id=tenant.id, name="WhatsApp Recepção",
        phone_number_id=settings.demo_wa_phone_number_id, waba_id=settings.demo_wa_waba_id,
        display_number=settings.demo_wa_display_number,
        access_token=settings.demo_wa_access_token.get_secret_value(),
        app_secret=settings.demo_wa_app_secret.get_secret_value(),
        verify_token=settings.demo_wa_verify_token.get_secret_value(),
        graph_base_url=sandbox_graph_url(),
    )
    _ensure_flow(session, tenant.id)
    _ensure_sla_policy(session, tenant.id)
    bot.seed_demo(session, tenant_id=tenant.id, base_url=f"{settings.sandbox_url}/openai/v1",
                 api_key=settings.sandbox_openai_key.get_secret_value())
    access.seed_demo(session, tenant_id=tenant.id, issuer=f"{settings.sandbox_url}/oidc")  # the sandbox's fake IdP
    mail.seed_demo(session)  # e-mail goes to the sandbox's SMTP server, read at SANDBOX_URL/mail
    logins = [(email, role) for email, _, role in DEMO_USERS]
    return DemoReport(tenant_created, created, inbox_created, logins)


# The demo's teams: the front desk answers around the clock by round robin; sales works business hours, by
# least load, and tells customers when it is closed. (name, mode, hours, holidays, out-of-hours text, members)
DEMO_TEAMS = (
    (DEMO_TEAM, "round_robin", {}, [], None, ("ana@demo.local", "bruno@demo.local")),
    ("Vendas", "least_load",
     {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "13:00"]]},
     ["2026-12-25", "2027-01-01"],
     "Nossa equipe de vendas atende de segunda a sexta, das 9h às 18h, e aos sábados, das 9h às 13h. "
     "Deixe sua mensagem que retornamos assim que abrirmos.", ("bruno@demo.local",)),
)
DEMO_CAPACITY = {"ana@demo.local": 5, "bruno@demo.local": 3}


def _ensure_team(session: Session, tenant_id: int) -> None:
    """Create the demo teams with their members, hours and the attendants' capacities (only once)."""
    people = {u.email: u for u in session.exec(select(User).where(User.tenant_id == tenant_id)).all()}
    for name, mode, hours, holidays, closed_text, emails in DEMO_TEAMS:
        team = session.exec(select(Team).where(Team.tenant_id == tenant_id, Team.name == name)).first()
        if team is not None:
            continue
        team = Team(tenant_id=tenant_id, name=name, assignment_mode=mode, business_hours=hours,
                    holidays=holidays, out_of_hours_message=closed_text)
        session.add(team)
        session.flush()
        for email in emails:
            if email in people:
                session.add(TeamMember(tenant_id=tenant_id, team_id=team.id, user_id=people[email].id))
    for email, capacity in DEMO_CAPACITY.items():
        if email in people and people[email].capacity == User.model_fields["capacity"].default:
            people[email].capacity = capacity
            session.add(people[email])


def _ensure_sla_policy(session: Session, tenant_id: int) -> None:
    """A default SLA policy, so the inbox shows deadlines from the first handoff (only when the tenant has none):
    first response in 1 h, next response in 2 h, resolution in 8 h of business hours; a warning 10 min ahead and
    the supervisors told at a breach."""
    if session.exec(select(SlaPolicy.id).where(SlaPolicy.tenant_id == tenant_id).limit(1)).first() is not None:
        return
    session.add(SlaPolicy(tenant_id=tenant_id, name="Padrão", is_default=True, first_response_minutes=60,
                          next_response_minutes=120, resolution_minutes=480, business_hours_only=True,
                          warn_before_minutes=10, escalation=[{"action": "notify_supervisor", "after_minutes": 0}]))


def demo_flow(front_desk_id: int | None, sales_id: int | None) -> dict:
    """The demo hotel's published flow: a list menu, an e-mail to collect, AI answers, handoffs and hours."""
    to_front = {"type": "handoff", "team_id": front_desk_id, "reason": "menu",
                "text": "Certo! Vou chamar alguém da recepção para falar com você. 🛎️"}
    nodes = {
        "boas_vindas": {"type": "message", "next": "menu",
                        "text": "Olá! 👋 Bem-vindo ao Hotel Demonstração. Sou o assistente virtual."},
        "menu": {"type": "menu", "style": "list", "button_label": "Ver opções",
                 "text": "Como posso ajudar você hoje?",
                 "retry_text": "Não entendi 🤔 Toque em “Ver opções” ou responda com o número da opção.",
                 "max_retries": 2, "options": [
                     {"id": "reservas", "label": "Reservas", "keywords": ["reserva", "quarto", "hospedagem"],
                      "next": "pede_email"},
                     {"id": "duvidas", "label": "Dúvidas frequentes", "keywords": ["duvida", "pergunta"],
                      "next": "ia_intro"},
                     {"id": "atendente", "label": "Falar com a recepção", "keywords": ["recepcao"],
                      "next": "para_recepcao"}]},
        "pede_email": {"type": "collect", "kind": "email", "attribute": "email", "max_retries": 2,
                       "text": "Ótimo! Para começarmos sua reserva, qual é o seu e-mail?",
                       "retry_text": "Esse e-mail não parece válido. Pode conferir e enviar de novo?",
                       "next": "marca_reserva", "on_fail": "para_recepcao"},
        "marca_reserva": {"type": "set", "attribute": "interesse", "value": "reserva", "label": "Reserva",
                          "next": "horario_vendas"},
        "horario_vendas": {"type": "condition", "else": "fora_do_horario",
                           "rules": [{"kind": "business_hours", "team_id": sales_id, "next": "para_vendas"}]},
        "para_vendas": {"type": "handoff", "team_id": sales_id, "reason": "reserva",
                        "text": "Obrigado! Vou passar você para a nossa equipe de reservas ({email})."},
        "fora_do_horario": {"type": "menu", "style": "buttons",
                            "text": "Nossa equipe de reservas está fora do horário agora (seg. a sex., 9h–18h; "
                                    "sáb., 9h–13h). O que você prefere?",
                            "options": [{"id": "recado", "label": "Deixar recado", "next": "recado_vendas"},
                                        {"id": "voltar", "label": "Voltar ao menu", "next": "menu"}]},
        "recado_vendas": {"type": "handoff", "team_id": sales_id, "reason": "fora_do_horario",
                          "text": "Combinado! Escreva seu recado que a equipe responde assim que abrir."},
        "ia_intro": {"type": "message", "next": "ia",
                     "text": "Pode perguntar! Respondo sobre horários, café da manhã, estacionamento, pets e mais. "
                             "Para voltar ao início, digite *menu*."},
        "ia": {"type": "ai", "next": "ia"},
        "para_recepcao": to_front,
    }
    layout = {node_id: {"x": 40 + 260 * (i % 4), "y": 40 + 160 * (i // 4)} for i, node_id in enumerate(nodes)}
    return {"start": "boas_vindas", "nodes": nodes,
            "triggers": {"new_conversation": True, "keywords": [{"keyword": "menu", "node": "menu"}]},
            "settings": {"exit_keywords": ["atendente", "humano", "pessoa"], "inactivity_minutes": 30,
                         "inactivity_text": "Como não tivemos resposta, vamos encerrar por aqui. Se precisar, é só "
                                            "mandar uma nova mensagem! 😊",
                         "debounce_seconds": 3, "max_retries": 2,
                         "fallback_text": "Desculpe, não entendi. Pode escolher uma das opções?",
                         "handoff_team_id": front_desk_id,
                         "out_of_hours_text": "Estamos fora do horário de atendimento, mas sua mensagem fica "
                                              "registrada e respondemos assim que possível."},
            "layout": layout}


def _ensure_flow(session: Session, tenant_id: int) -> None:
    """Publish the demo flow on the demo inbox (only when the inbox has none yet)."""
    teams = {t.name: t.id for t in session.exec(select(Team).where(Team.tenant_id == tenant_id)).all()}
    inbox = session.exec(select(Inbox).where(Inbox.tenant_id == tenant_id).order_by(Inbox.id)).first()
    if inbox is not None:
        bot.seed_flow(session, tenant_id=tenant_id, inbox_id=inbox.id,
                      definition=demo_flow(teams.get(DEMO_TEAM), teams.get("Vendas")))
