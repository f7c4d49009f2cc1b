"""Erasure's side of the audit trail: the personal values about one contact leave, the chain stays whole.

Entries keep ids, codes and a digest; the values the digest stood for live in `audit_details`, which erasure may
delete (never update: a changed side row is what verification reports as tampering).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import and_, or_
from sqlmodel import Session, select

from crm_app.domain.phones import digits
from crm_app.models import AuditDetail, AuditLog, Contact, ContactInbox, Conversation, Message

TOMBSTONE = "[apagado]"


def _about(session: Session, tenant_id: int, contact_id: int):
    """Entries about the contact itself, its conversations and their messages."""
    conversations = select(Conversation.id).where(Conversation.tenant_id == tenant_id,
                                                  Conversation.contact_id == contact_id)
    conversation_ids = [str(i) for i in session.exec(conversations).all()]
    message_ids = [str(i) for i in session.exec(select(Message.id).where(
        Message.tenant_id == tenant_id, Message.conversation_id.in_(conversations))).all()]
    about = [and_(AuditLog.target_type == "contact", AuditLog.target_id == str(contact_id))]
    if conversation_ids:
        about.append(and_(AuditLog.target_type == "conversation", AuditLog.target_id.in_(conversation_ids)))
    if message_ids:
        about.append(and_(AuditLog.target_type == "message", AuditLog.target_id.in_(message_ids)))
    return or_(*about)


def _needles(session: Session, contact: Contact) -> list[str]:
    """Values specific enough to look for in other entries: phone, WhatsApp ids, e-mail, a full name."""
    wa_ids = session.exec(select(ContactInbox.wa_id).where(ContactInbox.contact_id == contact.id)).all()
    values = [contact.email, contact.phone_e164, digits(contact.phone_e164 or ""), *wa_ids]
    if contact.name and " " in contact.name.strip() and len(contact.name) >= 8:
        values.append(contact.name)
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def forget_contact(session: Session, tenant_id: int, contact_id: int) -> int:
    """Delete the side-table values of every entry about the contact (its row gone or not), and of any entry whose
    values quote the person's phone, WhatsApp id, e-mail or full name (all in the tenant); the caller commits.

    The entries keep their ids, codes and digest, so the chain still verifies. Call it before the contact's own
    fields are erased (it reads them). Idempotent.

    Returns:
        How many side rows were deleted.
    """
    contact = session.get(Contact, contact_id)
    needles = _needles(session, contact) if contact is not None and contact.tenant_id == tenant_id else []
    digests = select(AuditLog.digest).where(AuditLog.tenant_id == tenant_id, _about(session, tenant_id, contact_id))
    mentions = [sa.cast(column, sa.Text).contains(needle) for needle in needles
                for column in (AuditDetail.before, AuditDetail.after)]
    result = session.execute(AuditDetail.__table__.delete().where(
        AuditDetail.tenant_id == tenant_id, or_(AuditDetail.digest.in_(digests), *mentions)))
    return result.rowcount or 0


def entries_about(session: Session, tenant_id: int, contact_id: int) -> list[dict]:
    """The audit entries about the contact, its conversations and their messages (for an access bundle)."""
    rows = session.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id,
                                               _about(session, tenant_id, contact_id)).order_by(AuditLog.id)).all()
    return [{"id": r.id, "at": r.created_at.isoformat(), "actor": r.actor_label, "action": r.action,
             "target_type": r.target_type, "target_id": r.target_id, "before": r.before, "after": r.after}
            for r in rows]
