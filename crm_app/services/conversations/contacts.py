"""Contacts: the customer panel of the inbox, edits by attendants, and a searchable list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain.inbox import search_pattern
from crm_app.domain.search import contact_search_text
from crm_app.domain.text import is_email, normalize_email
from crm_app.errors import PermissionDenied, ValidationError
from crm_app.models import Contact, Conversation, ConversationLabel, ConversationStatus, Label
from crm_app.services import settings
from crm_app.services.audit import reads
from crm_app.services.conversations import access
from crm_app.services.core import audit, outbox, realtime
from crm_app.services.core.actors import Actor, fetch_owned, require_role

PAST_CONVERSATIONS = 20
MAX_ATTRIBUTES = 50
_ROLES = ("admin", "supervisor", "attendant")


@dataclass(frozen=True)
class ContactView:
    id: int
    name: str | None
    phone_e164: str
    email: str | None
    custom_attributes: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    past_conversations: list[dict[str, Any]] = field(default_factory=list)


def access_contact(session: Session, *, actor: Actor, contact_id: int) -> Contact:
    """The contact `contact_id` of the actor's tenant; NotFound otherwise."""
    require_role(actor, *_ROLES)
    return fetch_owned(session, Contact, contact_id, actor=actor, what="contact")


def view_of(session: Session, contact: Contact, actor: Actor) -> ContactView:
    """The panel view of a contact already authorized: its labels and latest conversations.

    An attendant sees no preview of a conversation that belongs to another attendant (they may not open it).
    """
    conversations = session.exec(
        select(Conversation.id, Conversation.status, Conversation.created_at, Conversation.closed_at,
               Conversation.last_message_preview, Conversation.assignee_id)
        .where(Conversation.contact_id == contact.id).order_by(Conversation.id.desc())
        .limit(PAST_CONVERSATIONS)).all()
    labels = session.exec(
        select(Label.name).join(ConversationLabel, ConversationLabel.label_id == Label.id)
        .join(Conversation, Conversation.id == ConversationLabel.conversation_id)
        .where(Conversation.contact_id == contact.id).distinct()).all()
    staff = actor.role in ("admin", "supervisor", "executive")  # executives read every conversation
    past = [{"id": c.id, "status": str(c.status), "created_at": c.created_at, "closed_at": c.closed_at,
             "preview": (c.last_message_preview or "") if staff or c.assignee_id in (None, actor.user_id) else ""}
            for c in conversations]
    attributes = {str(k): str(v) for k, v in (contact.custom_attributes or {}).items()}
    return ContactView(contact.id, contact.name, contact.phone_e164, contact.email, attributes,
                       sorted(labels, key=str.casefold), past)


def get_contact(session: Session, *, actor: Actor, contact_id: int) -> ContactView:
    """One contact of the actor's tenant, with labels and past conversations; the read is recorded."""
    view = view_of(session, access_contact(session, actor=actor, contact_id=contact_id), actor)
    reads.record_read(session, actor=actor, action="contact.view", target_type="contact", target_id=contact_id)
    return view


def _clean_attributes(values: dict[str, Any]) -> dict[str, str]:
    if len(values) > MAX_ATTRIBUTES:
        raise ValidationError(f"at most {MAX_ATTRIBUTES} attributes", field="custom_attributes")
    cleaned = {}
    for key, value in values.items():
        name = str(key).strip()
        if not name or len(name) > 40 or len(str(value)) > 500:
            raise ValidationError("attribute names have 1 to 40 characters, values up to 500",
                                  field="custom_attributes")
        cleaned[name] = str(value).strip()
    return cleaned


def require_editable(session: Session, actor: Actor, contact: Contact) -> None:
    """Staff edit any contact of their tenant; an attendant only the contact of a conversation they may open
    (`access.viewable_by`), unless the tenant lets attendants edit any contact.

    Raises:
        PermissionDenied: The attendant may not open any conversation of this contact.
    """
    if access.is_staff(actor):
        return
    if settings.value(session, "security.attendants_edit_any_contact", tenant_id=actor.tenant_id):
        return
    mine = session.exec(select(Conversation.id).where(Conversation.contact_id == contact.id,
                                                      access.viewable_by(actor)).limit(1)).first()
    if mine is None:
        raise PermissionDenied("only contacts of conversations you can open")


def update_contact(session: Session, *, actor: Actor, contact_id: int, name: str | None = None,
                   email: str | None = None, custom_attributes: dict[str, Any] | None = None) -> ContactView:
    """Change what is given (an empty name or e-mail clears it); the search text follows. Attendants are
    limited to contacts of their conversations (`require_editable`)."""
    contact = access_contact(session, actor=actor, contact_id=contact_id)
    require_editable(session, actor, contact)
    before = {"name": contact.name, "email": contact.email, "custom_attributes": contact.custom_attributes}
    if name is not None:
        if len(name.strip()) > 160:
            raise ValidationError("the name has up to 160 characters", field="name")
        contact.name = name.strip() or None
    if email is not None:
        address = normalize_email(email)
        if address and not is_email(address):
            raise ValidationError("invalid e-mail address", field="email")
        contact.email = address or None
    if custom_attributes is not None:
        contact.custom_attributes = _clean_attributes(custom_attributes)
    contact.search_text = contact_search_text(contact.name, contact.phone_e164, contact.email)
    contact.updated_at = utcnow()
    session.add(contact)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="contact.update", target_type="contact",
                 target_id=contact.id, before=before,
                 after={"name": contact.name, "email": contact.email, "custom_attributes": contact.custom_attributes})
    after = {"name": contact.name, "email": contact.email, "custom_attributes": contact.custom_attributes}
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        outbox.emit(session, actor.tenant_id, "contact.updated", {"contact_id": contact.id, "changed": changed})
    open_ids = session.exec(select(Conversation.id).where(Conversation.contact_id == contact.id,
                                                          Conversation.status != ConversationStatus.CLOSED)).all()
    for conversation_id in open_ids:  # the list rows show the name
        realtime.publish_after_commit(session, actor.tenant_id, "conversation.updated",
                                      conversation_id=conversation_id, data={"action": "contact"})
    session.flush()
    return view_of(session, contact, actor)


def list_contacts(session: Session, *, actor: Actor, query: str | None = None, cursor: str | None = None,
                  limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """Contacts of the actor's tenant, newest first, found by name, phone or e-mail (accents and case aside).

    Returns (rows of id, name, phone_e164, email; the cursor of the next page or None).
    """
    require_role(actor, *_ROLES)
    limit = max(1, min(limit, 200))
    statement = select(Contact.id, Contact.name, Contact.phone_e164, Contact.email).where(
        Contact.tenant_id == actor.tenant_id)
    pattern = search_pattern(query)
    if pattern:
        statement = statement.where(Contact.search_text.like(pattern, escape="\\"))
        reads.record_phone_search(session, actor=actor, query=query)
    if cursor:
        if not cursor.isdigit():
            raise ValidationError("invalid cursor")
        statement = statement.where(Contact.id < int(cursor))
    rows = session.exec(statement.order_by(Contact.id.desc()).limit(limit + 1)).all()
    page = [{"id": r.id, "name": r.name, "phone_e164": r.phone_e164, "email": r.email} for r in rows[:limit]]
    return page, (str(page[-1]["id"]) if len(rows) > limit else None)
