"""What the customer is told when people take over: who was called, and their place in the queue."""

from __future__ import annotations

import logging

from sqlmodel import Session

from crm_app.errors import CRMError
from crm_app.i18n import translate
from crm_app.models import Conversation, Team, Tenant
from crm_app.services.channel import outbound

log = logging.getLogger(__name__)


def tenant_locale(session: Session, tenant_id: int) -> str:
    """The tenant's language for what the bot says (pt-BR when unknown)."""
    tenant = session.get(Tenant, tenant_id)
    return tenant.locale if tenant and tenant.locale else "pt-BR"


def assigned_text(session: Session, tenant_id: int, team: Team | None, attendant_name: str) -> str:
    """What the customer hears when the conversation is given to someone (at once, or later by the queue).

    The team's own text, else the catalogue's in the tenant's language; `{nome}` or `{name}` becomes the
    attendant's first name (a customer is told who, never the full name of a member of staff).

    Args:
        session: The caller's session.
        tenant_id: The conversation's tenant.
        team: The team handed to, if any.
        attendant_name: The full name of who got the conversation.

    Returns:
        The text to send.
    """
    template = ((team.assigned_message if team else None) or "").strip()
    if not template:
        template = translate(tenant_locale(session, tenant_id), "assignment.assigned_customer")
    first_name = next(iter((attendant_name or "").split()), "")
    return template.replace("{nome}", first_name).replace("{name}", first_name)


def tell_customer(session: Session, conversation: Conversation, text: str) -> None:
    """Queue a bot text to the customer (after whatever the turn queued before: creation order is delivery
    order); a refusal (closed 24 h window, …) is logged, never raised."""
    try:
        with session.begin_nested():
            outbound.send_message(session, actor=None, tenant_id=conversation.tenant_id,
                                  conversation_id=conversation.id, content={"type": "text", "body": text})
    except CRMError as exc:
        log.info("could not tell conversation %s who takes it over: %s", conversation.id, exc)
