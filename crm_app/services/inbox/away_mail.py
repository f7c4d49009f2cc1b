"""The "a conversation was assigned to you while you were away" e-mail (opt-in per user, on their account page).

"Away" is the inbox's presence: the user is not "online" (they chose Ausente, or no tab of theirs has sent a
heartbeat in the last minute). Someone assigning a conversation to themselves is never e-mailed.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from crm_app.config import get_settings
from crm_app.models import Contact, Conversation, User
from crm_app.services import mail
from crm_app.services.core.actors import Actor
from crm_app.services.routing import presence

log = logging.getLogger(__name__)


def is_away(tenant_id: int, user_id: int) -> bool | None:
    """Whether the user is not online in the inbox; None when presence cannot be read (Redis down)."""
    try:
        return presence.statuses(tenant_id).get(user_id) != "online"
    except Exception as exc:  # no e-mail is better than a failed assignment
        log.warning("presence unavailable for tenant %s: %s", tenant_id, type(exc).__name__)
        return None


def contact_label(contact: Contact | None) -> str:
    """How the e-mail names the customer: their name, else the end of their number (never all of it)."""
    if contact is None:
        return "—"
    return contact.name or f"…{contact.phone_e164[-4:]}"


def email_if_away(session: Session, *, actor: Actor | None, conversation: Conversation, user: User | None) -> bool:
    """Queue the e-mail for `user`, just given `conversation`, if they opted in and are away. Returns whether it
    was queued (in the caller's transaction)."""
    if user is None or not user.email_assigned_while_away or (actor is not None and actor.user_id == user.id):
        return False
    if not is_away(conversation.tenant_id, user.id) or not mail.can_send(session, tenant_id=user.tenant_id):
        return False
    params = {"name": user.name, "contact": contact_label(session.get(Contact, conversation.contact_id)),
              "link": f"{get_settings().app_url.rstrip('/')}/inbox"}
    mail.queue_email(session, tenant_id=user.tenant_id, to=user.email, template="assigned", params=params,
                     locale=user.locale, user_id=user.id)
    return True
