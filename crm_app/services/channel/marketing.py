"""The marketing-consent gate of outbound messages: a MARKETING template goes only to a contact with standing
marketing consent (`core.consent.may_send`), checked when it is queued and again when it is sent.

The gate fails closed: a template whose category is unknown (the number has not synced it, or Meta sent none)
counts as MARKETING; only a template known to be UTILITY or AUTHENTICATION goes without consent."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from crm_app.errors import CRMError
from crm_app.models import Conversation, MessageTemplate
from crm_app.services.core import consent


class MarketingConsentRequired(CRMError):
    """A MARKETING template to a contact who has not granted marketing consent (or withdrew it)."""

    code = "marketing_consent_required"
    status = 409


MARKETING = "MARKETING"
NOT_MARKETING = frozenset({"UTILITY", "AUTHENTICATION"})


def template_category(session: Session, conversation: Conversation, content: dict[str, Any]) -> str | None:
    """The category (MARKETING, UTILITY, AUTHENTICATION) of the template `content` names, from the number's
    synced templates; None for another kind of content or a template the number does not know."""
    if content.get("type") != "template":
        return None
    category = session.exec(select(MessageTemplate.category).where(
        MessageTemplate.tenant_id == conversation.tenant_id, MessageTemplate.inbox_id == conversation.inbox_id,
        MessageTemplate.name == str(content.get("name") or ""),
        MessageTemplate.language == str(content.get("language") or ""))).first()
    return category.upper() if category else None


def needs_marketing_consent(session: Session, conversation: Conversation, content: dict[str, Any]) -> bool:
    """Whether `content` is a template that is not known to be UTILITY or AUTHENTICATION: a MARKETING one, or one
    whose category is unknown (fail closed: an unsynced template may well be a promotion)."""
    if content.get("type") != "template":
        return False
    return template_category(session, conversation, content) not in NOT_MARKETING


def check_marketing_consent(session: Session, conversation: Conversation, content: dict[str, Any]) -> None:
    """Refuse a MARKETING template, or one of unknown category, unless the contact granted marketing consent
    (`core.consent.may_send`).

    Raises:
        MarketingConsentRequired: The template is not known to be utility or authentication, and the contact has
            no standing grant.
    """
    if not needs_marketing_consent(session, conversation, content):
        return
    if not consent.may_send(session, conversation.contact_id, "marketing"):
        raise MarketingConsentRequired("this contact has not agreed to receive marketing messages: "
                                       "a marketing template (or one whose category is not synced) cannot be sent")
