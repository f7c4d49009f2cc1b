"""Conversations: found or reopened for inbound messages; statuses applied to messages."""

from __future__ import annotations

from sqlmodel import Session, select

from crm_app.db import after_commit, insert_ignoring_conflicts
from crm_app.domain import whatsapp
from crm_app.domain.phones import digits, normalize_wa_id
from crm_app.models import (
    Contact,
    ContactInbox,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Direction,
    Inbox,
    Message,
    MessageKind,
    MessageStatus,
    SenderType,
)
from crm_app.services import media


class InvalidSender(ValueError):
    """A message whose sender is not a phone number; it cannot be tied to a contact."""


# Kinds that do not count as unread customer messages.
_SILENT_KINDS = {"reaction", "system"}


def upsert_contact(session: Session, *, tenant_id: int, wa_id: str, profile_name: str | None) -> Contact:
    """The tenant's contact for a WhatsApp id; the same person with or without Brazil's ninth digit."""
    try:
        phone = normalize_wa_id(wa_id)
    except ValueError as exc:
        raise InvalidSender(str(exc)) from exc
    values = Contact(tenant_id=tenant_id, phone_e164=phone, name=profile_name).model_dump(exclude={"id"})
    insert_ignoring_conflicts(session, Contact, values, ["tenant_id", "phone_e164"])
    contact = session.exec(select(Contact).where(Contact.tenant_id == tenant_id, Contact.phone_e164 == phone)).one()
    if contact.name is None and profile_name:
        contact.name = profile_name[:160]
        session.add(contact)
    return contact


def upsert_contact_inbox(session: Session, *, inbox: Inbox, contact: Contact) -> ContactInbox:
    """The contact's identity on this number, locked for the rest of the transaction.

    The lock makes two workers handling the same new customer open one conversation.
    """
    wa_id = digits(contact.phone_e164)
    values = ContactInbox(tenant_id=inbox.tenant_id, contact_id=contact.id, inbox_id=inbox.id,
                          wa_id=wa_id).model_dump(exclude={"id"})
    insert_ignoring_conflicts(session, ContactInbox, values, ["inbox_id", "wa_id"])
    query = select(ContactInbox).where(ContactInbox.inbox_id == inbox.id, ContactInbox.wa_id == wa_id)
    return session.exec(query.with_for_update()).one()


def find_or_open_conversation(session: Session, *, contact_inbox: ContactInbox) -> Conversation:
    """The latest conversation with this contact on this number, reopened if closed; or a new one."""
    latest = session.exec(select(Conversation).where(Conversation.contact_inbox_id == contact_inbox.id)
                          .order_by(Conversation.id.desc())).first()
    if latest is None:
        latest = Conversation(tenant_id=contact_inbox.tenant_id, inbox_id=contact_inbox.inbox_id,
                              contact_id=contact_inbox.contact_id, contact_inbox_id=contact_inbox.id)
        session.add(latest)
        session.flush()
        return latest
    if latest.status == ConversationStatus.CLOSED:
        session.add(ConversationEvent(tenant_id=latest.tenant_id, conversation_id=latest.id,
                                      kind=ConversationEventKind.STATUS, from_value="closed", to_value="open",
                                      data={"reason": "customer_message"}))
        latest.status, latest.closed_at, latest.bot_active = ConversationStatus.OPEN, None, True
        latest.assignee_id = None
    elif latest.status == ConversationStatus.SNOOZED:
        latest.status, latest.snoozed_until = ConversationStatus.OPEN, None
    return latest


def record_inbound_message(session: Session, *, inbox: Inbox, message: whatsapp.InboundMessage) -> bool:
    """Store one customer message once (unique `wa_message_id`). Returns whether it was new."""
    contact = upsert_contact(session, tenant_id=inbox.tenant_id, wa_id=message.wa_id,
                             profile_name=message.profile_name)
    contact_inbox = upsert_contact_inbox(session, inbox=inbox, contact=contact)
    conversation = find_or_open_conversation(session, contact_inbox=contact_inbox)
    row = Message(
        tenant_id=inbox.tenant_id, conversation_id=conversation.id, direction=Direction.INBOUND,
        sender_type=SenderType.SYSTEM if message.kind == "system" else SenderType.CUSTOMER,
        kind=MessageKind(message.kind), body=message.body, media_id=message.media_id,
        media_mime=message.media_mime, payload=message.payload, status=MessageStatus.RECEIVED,
        wa_message_id=message.wa_message_id, reply_to_wa_message_id=message.reply_to_wa_message_id,
        reply_to_message_id=_message_id_for(session, inbox.tenant_id, message.reply_to_wa_message_id),
        created_at=message.sent_at,
    )
    new_id = insert_ignoring_conflicts(session, Message, row.model_dump(exclude={"id"}), ["wa_message_id"])
    if new_id is None:
        return False
    if message.media_id:
        after_commit(session, lambda: media.enqueue_download(new_id))
    _touch(conversation, message)
    session.add(conversation)
    return True


def _touch(conversation: Conversation, message: whatsapp.InboundMessage) -> None:
    at = message.sent_at
    conversation.last_message_at = max(filter(None, (conversation.last_message_at, at)))
    if message.kind not in _SILENT_KINDS:
        conversation.last_customer_message_at = max(filter(None, (conversation.last_customer_message_at, at)))
        conversation.unread_count += 1


def _message_id_for(session: Session, tenant_id: int, wa_message_id: str | None) -> int | None:
    if not wa_message_id:
        return None
    return session.exec(select(Message.id).where(Message.tenant_id == tenant_id,
                                                 Message.wa_message_id == wa_message_id)).first()


_STATUS_TIMES = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}


def apply_status(session: Session, *, tenant_id: int, update: whatsapp.StatusUpdate) -> bool:
    """Move an outbound message's status forward. False when the wamid is unknown."""
    message = session.exec(select(Message).where(Message.tenant_id == tenant_id,
                                                 Message.wa_message_id == update.wa_message_id)
                           .with_for_update()).first()
    if message is None:
        return False
    new = whatsapp.next_status(str(message.status), update.status)
    stamp = _STATUS_TIMES.get(update.status)
    if stamp and getattr(message, stamp) is None:
        setattr(message, stamp, update.at)  # keep each moment even when it arrives late
    if new == "failed" and message.status != MessageStatus.FAILED:
        message.error_code, message.error_reason = update.error_code, update.error_reason
    message.status = MessageStatus(new)
    session.add(message)
    return True


