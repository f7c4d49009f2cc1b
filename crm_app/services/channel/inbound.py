"""Conversations: found or reopened for inbound messages; statuses applied to messages.

A customer message and a close (an attendant's, or the bot's for inactivity) take the conversation's row
lock in turn: the message either lands before the close (which then sees it) or finds the conversation
closed and reopens it, never landing in a closed conversation. Edits and deletions of earlier messages
go to `edits`; one whose original we do not have becomes a system line in the customer's conversation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from crm_app.db import UTCDateTime, after_commit, insert_ignoring_conflicts, insert_statement, utcnow
from crm_app.domain import consent as consent_rules
from crm_app.domain import whatsapp
from crm_app.domain.inbox import compute_preview
from crm_app.domain.meta_errors import MARKETING_OPTED_OUT
from crm_app.domain.phones import digits, normalize_wa_id
from crm_app.domain.search import contact_search_text, fold
from crm_app.models import (
    Contact,
    ContactInbox,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    SenderType,
)
from crm_app.services import settings
from crm_app.services.channel import bot_gate, csat, edits, media
from crm_app.services.conversations import facts as analytics_facts
from crm_app.services.conversations import log as conversation_log
from crm_app.services.core import jobs, outbox, realtime


class InvalidSender(ValueError):
    """A message whose sender is not a phone number; it cannot be tied to a contact."""


# Kinds that do not count as unread customer messages.
_SILENT_KINDS = {"reaction", "system"}
# Kinds that leave the list preview as it was (a reaction is shown on its message, not as the last line).
_NO_PREVIEW_KINDS = {"reaction"}


def _later(column, value):
    """The later of a nullable timestamp column and a value, on every backend (SQLite has no GREATEST)."""
    return sa.case((sa.or_(column.is_(None), column < value), value), else_=column)


def record_inbound_message(session: Session, *, inbox_id: int, tenant_id: int,
                           message: whatsapp.InboundMessage) -> bool:
    """Store one customer message once (unique `wa_message_id`). Returns whether it was new.

    The hot path of every inbound webhook, so it speaks Core on the session's connection: no ORM
    objects, and no statement whose answer it already knows (a contact identity it just created has
    no conversation yet).
    """
    try:
        phone = normalize_wa_id(message.wa_id)
    except ValueError as exc:
        raise InvalidSender(str(exc)) from exc
    conn = session.connection()
    link = _lock_link(conn, inbox_id, digits(phone), tenant_id, phone, message.profile_name)
    if message.change is not None:
        return _record_change(session, link, tenant_id=tenant_id, inbox_id=inbox_id, message=message)
    latest = None if link.is_new else conn.execute(_LATEST_CONVERSATION, {"link_id": link.id}).first()
    if latest is not None and latest.status == ConversationStatus.CLOSED:  # only then can it answer a survey
        answer = csat.match_answer(session, tenant_id=tenant_id, link_id=link.id, conversation_id=latest.id,
                                   message=message)
        if answer is not None:  # a rating or comment: stored in the closed conversation, which stays closed
            return _record_csat_answer(session, answer, tenant_id=tenant_id, message=message)
    conversation_id, opened, bot_active = _open_conversation_for(conn, link, latest, tenant_id=tenant_id,
                                                                 inbox_id=inbox_id)
    values = _message_values(conn, tenant_id, conversation_id, message)
    new_id = conn.execute(_insert_message(conn), values).scalar_one_or_none()
    if new_id is None:
        return False
    opt_out = _is_opt_out(session, tenant_id, message)
    if opt_out:  # withdrawn and confirmed by the compliance job; never a menu answer, so no bot turn either
        jobs.enqueue_after_commit(session, "apply_opt_out", new_id)
    if bot_active and not opt_out and message.kind not in _SILENT_KINDS:  # the bot's debounced turn, after commit
        bot_gate.start_turn_after_commit(session, conversation_id=conversation_id, message_id=new_id,
                                         inbox_id=inbox_id)
    if message.media_id:
        after_commit(session, lambda: media.enqueue_download(new_id))
    if message.kind not in _SILENT_KINDS:
        analytics_facts.note(session, conversation_id, "customer", at=message.sent_at)
    preview = None if message.kind in _NO_PREVIEW_KINDS else compute_preview(message.kind, message.body)
    conn.execute(_TOUCH, {"conversation_id": conversation_id, "at": message.sent_at,
                          "customer": message.kind not in _SILENT_KINDS, "preview": preview})
    if link.contact_created:
        outbox.emit(session, tenant_id, "contact.created", {"contact_id": link.contact_id, "changed": []})
    if opened:
        realtime.publish_after_commit(session, tenant_id, "conversation.new", conversation_id=conversation_id,
                                      data={"reason": opened})
        _emit_conversation(session, conn, f"conversation.{opened}", conversation_id)
    outbox.emit(session, tenant_id, "message.received", {
        "message_id": new_id, "conversation_id": conversation_id, "kind": message.kind, "status": "received",
        "wa_message_id": message.wa_message_id})
    realtime.publish_after_commit(session, tenant_id, "message.new", conversation_id=conversation_id,
                                  data={"message_id": new_id})
    return True


def _record_csat_answer(session: Session, answer: csat.Answer, *, tenant_id: int,
                        message: whatsapp.InboundMessage) -> bool:
    """Store a survey answer in its closed conversation: no reopening, no new cycle, no bot turn."""
    conn = session.connection()
    values = _message_values(conn, tenant_id, answer.conversation_id, message)
    new_id = conn.execute(_insert_message(conn), values).scalar_one_or_none()
    if new_id is None:  # a redelivered webhook: stored the first time
        return False
    csat.record_answer(session, answer, message_id=new_id, message=message)
    outbox.emit(session, tenant_id, "message.received", {
        "message_id": new_id, "conversation_id": answer.conversation_id, "kind": message.kind, "status": "received",
        "wa_message_id": message.wa_message_id})
    realtime.publish_after_commit(session, tenant_id, "message.new", conversation_id=answer.conversation_id,
                                  data={"message_id": new_id})
    return True


def _is_opt_out(session: Session, tenant_id: int, message: whatsapp.InboundMessage) -> bool:
    """A text that is only one of the tenant's opt-out words (SAIR, PARAR, STOP, BAJA…)."""
    if message.kind != "text" or not message.body or len(message.body) > 40:
        return False
    return consent_rules.is_opt_out(message.body, settings.value(session, "privacy.opt_out_keywords",
                                                                 tenant_id=tenant_id))


@dataclass(frozen=True)
class _Link:
    id: int
    contact_id: int
    is_new: bool
    contact_created: bool = False


def _emit_conversation(session: Session, conn: Connection, event_type: str, conversation_id: int) -> None:
    row = conn.execute(sa.select(_conversations).where(_conversations.c.id == conversation_id)).one()
    outbox.emit(session, row.tenant_id, event_type, conversation_log.webhook_data(row))


_contact_inboxes, _contacts, _conversations = ContactInbox.__table__, Contact.__table__, Conversation.__table__
_messages = Message.__table__

# FOR NO KEY UPDATE OF the identity row: it makes two workers handling the same new customer open one
# conversation. Not FOR UPDATE: that would also block the foreign-key checks of other transactions on
# conversations that point at this identity (KEY SHARE), and a close that holds the conversation's row and
# updates it twice (its second UPDATE re-checks the key) deadlocked against a customer message waiting for
# that row.
_LOCK_LINK = (sa.select(_contact_inboxes.c.id, _contact_inboxes.c.contact_id, _contacts.c.name, _contacts.c.email)
              .join(_contacts, _contacts.c.id == _contact_inboxes.c.contact_id)
              .where(_contact_inboxes.c.inbox_id == sa.bindparam("inbox_id"),
                     _contact_inboxes.c.wa_id == sa.bindparam("wa_id"))
              .with_for_update(of=_contact_inboxes, key_share=True))

_at, _customer = sa.bindparam("at", type_=UTCDateTime), sa.bindparam("customer", type_=sa.Boolean)
_preview = sa.bindparam("preview", type_=sa.String)
_is_latest = sa.or_(_conversations.c.last_message_at.is_(None), _conversations.c.last_message_at <= _at)
_TOUCH = (sa.update(_conversations).where(_conversations.c.id == sa.bindparam("conversation_id")).values(
    last_message_at=_later(_conversations.c.last_message_at, _at),
    # The preview follows the latest message only (a late webhook of an older one leaves it); None keeps it.
    last_message_preview=sa.case((_is_latest, sa.func.coalesce(_preview, _conversations.c.last_message_preview)),
                                 else_=_conversations.c.last_message_preview),
    last_customer_message_at=sa.case((_customer, _later(_conversations.c.last_customer_message_at, _at)),
                                     else_=_conversations.c.last_customer_message_at),
    unread_count=_conversations.c.unread_count + sa.case((_customer, 1), else_=0)))


def _lock_link(conn: Connection, inbox_id: int, wa_id: str, tenant_id: int, phone: str,
               profile_name: str | None) -> _Link:
    """The contact's identity on this number, locked; contact and identity are created when new."""
    params = {"inbox_id": inbox_id, "wa_id": wa_id}
    row = conn.execute(_LOCK_LINK, params).first()
    if row is not None:
        if row.name is None and profile_name:
            _name_contact(conn, row.contact_id, profile_name[:160], phone, row.email)
        return _Link(row.id, row.contact_id, is_new=False)
    contact_id, contact_created = _upsert_contact_id(conn, tenant_id, phone, profile_name)
    now = utcnow()
    link_id = insert_ignoring_conflicts(conn, ContactInbox, {
        "tenant_id": tenant_id, "contact_id": contact_id, "inbox_id": inbox_id, "wa_id": wa_id, "created_at": now,
    }, ["inbox_id", "wa_id"])
    if link_id is not None:  # our own uncommitted row: no one else can lock it
        return _Link(link_id, contact_id, is_new=True, contact_created=contact_created)
    row = conn.execute(_LOCK_LINK, params).one()  # another worker created it and has committed
    return _Link(row.id, row.contact_id, is_new=False)


def _name_contact(conn: Connection, contact_id: int, name: str, phone: str, email: str | None) -> None:
    conn.execute(sa.update(_contacts).where(_contacts.c.id == contact_id).values(
        name=name, search_text=contact_search_text(name, phone, email)))


def _upsert_contact_id(conn: Connection, tenant_id: int, phone: str, profile_name: str | None) -> tuple[int, bool]:
    name = profile_name[:160] if profile_name else None
    now = utcnow()
    new_id = insert_ignoring_conflicts(conn, Contact, {
        "tenant_id": tenant_id, "phone_e164": phone, "name": name, "custom_attributes": {},
        "search_text": contact_search_text(name, phone, None), "created_at": now, "updated_at": now},
        ["tenant_id", "phone_e164"])
    if new_id is not None:
        return new_id, True
    row = conn.execute(sa.select(_contacts.c.id, _contacts.c.name, _contacts.c.email)
                       .where(_contacts.c.tenant_id == tenant_id, _contacts.c.phone_e164 == phone)).one()
    if row.name is None and name:
        _name_contact(conn, row.id, name, phone, row.email)
    return row.id, False


# Hot-path statements are built once: building `.values(...)` per call cost a tenth of an event's processing.
# FOR UPDATE: a close holding the row makes this wait, then read the row as the close left it (closed).
_LATEST_CONVERSATION = (sa.select(_conversations.c.id, _conversations.c.status, _conversations.c.bot_active)
                        .where(_conversations.c.contact_inbox_id == sa.bindparam("link_id"))
                        .order_by(_conversations.c.id.desc()).limit(1).with_for_update())
_NEW_CONVERSATION = sa.insert(_conversations).returning(_conversations.c.id)


def _open_conversation_for(conn: Connection, link: _Link, latest, *, tenant_id: int,
                           inbox_id: int) -> tuple[int, str | None, bool]:
    """The latest conversation on this identity (`latest`, locked by `_LATEST_CONVERSATION`, or None), reopened
    if closed or snoozed; or a new one.

    Returns (id, "created" / "reopened" / None for the real-time note, whether the bot owns it).
    """
    if latest is None:
        return _new_conversation(conn, link, tenant_id=tenant_id, inbox_id=inbox_id), "created", True
    if latest.status not in (ConversationStatus.CLOSED, ConversationStatus.SNOOZED):
        return latest.id, None, latest.bot_active
    conn.execute(sa.insert(ConversationEvent.__table__).values(
        tenant_id=tenant_id, conversation_id=latest.id, kind=ConversationEventKind.STATUS,
        from_value=str(latest.status), to_value="open", data={"reason": "customer_message"}, created_at=utcnow()))
    if latest.status == ConversationStatus.CLOSED:
        conn.execute(sa.update(_conversations).where(_conversations.c.id == latest.id).values(
            status=ConversationStatus.OPEN, closed_at=None, bot_active=True, assignee_id=None))
    else:  # snoozed: the customer wrote before the alarm; the assignee keeps it
        conn.execute(sa.update(_conversations).where(_conversations.c.id == latest.id).values(
            status=ConversationStatus.OPEN, snoozed_until=None))
    return latest.id, "reopened", latest.status == ConversationStatus.CLOSED or latest.bot_active


def _new_conversation(conn: Connection, link: _Link, *, tenant_id: int, inbox_id: int) -> int:
    return conn.execute(_NEW_CONVERSATION, {
        "tenant_id": tenant_id, "inbox_id": inbox_id, "contact_id": link.contact_id, "contact_inbox_id": link.id,
        "status": ConversationStatus.OPEN, "bot_active": True, "unread_count": 0,
        "created_at": utcnow()}).scalar_one()


def _record_change(session: Session, link: _Link, *, tenant_id: int, inbox_id: int,
                   message: whatsapp.InboundMessage) -> bool:
    """An edit or deletion: applied to its original, or a system line when we do not have the original.

    The line goes to the customer's latest conversation as it is (an edit does not reopen a closed one);
    a customer we never saw gets a new conversation. Returns whether anything changed.
    """
    outcome = edits.apply_change(session, tenant_id=tenant_id, link_id=link.id, message=message)
    if outcome != edits.MISSING:
        return outcome == edits.APPLIED
    conn = session.connection()
    latest = None if link.is_new else conn.execute(_LATEST_CONVERSATION, {"link_id": link.id}).first()
    conversation_id = latest.id if latest else _new_conversation(conn, link, tenant_id=tenant_id, inbox_id=inbox_id)
    new_id = conn.execute(_insert_message(conn), _line_values(tenant_id, conversation_id, message)).scalar_one_or_none()
    if new_id is None:
        return False
    conn.execute(_TOUCH, {"conversation_id": conversation_id, "at": message.sent_at, "customer": False,
                          "preview": None})
    if latest is None:
        realtime.publish_after_commit(session, tenant_id, "conversation.new", conversation_id=conversation_id,
                                      data={"reason": "created"})
    realtime.publish_after_commit(session, tenant_id, "message.new", conversation_id=conversation_id,
                                  data={"message_id": new_id})
    return True


def _line_values(tenant_id: int, conversation_id: int, message: whatsapp.InboundMessage) -> dict:
    """A system line about a change we could not apply, under the change's wamid, with its raw payload."""
    key, params = edits.line_for(message)
    body = conversation_log.render_line(conversation_log.STORED_LOCALE, conversation_log.DEFAULT_TIMEZONE, key, params)
    return {
        "tenant_id": tenant_id, "conversation_id": conversation_id, "direction": Direction.INBOUND,
        "sender_type": SenderType.SYSTEM, "kind": MessageKind.SYSTEM, "body": body, "search_text": None,
        "media_id": None, "media_mime": None, "payload": {**message.payload, "system": {"key": key, "params": params}},
        "status": MessageStatus.RECEIVED, "wa_message_id": message.wa_message_id, "reply_to_wa_message_id": None,
        "reply_to_message_id": None, "created_at": message.sent_at, "send_attempts": 0,
    }


def _message_values(conn: Connection, tenant_id: int, conversation_id: int,
                    message: whatsapp.InboundMessage) -> dict:
    reply_to = None
    if message.reply_to_wa_message_id:
        reply_to = conn.execute(sa.select(_messages.c.id).where(
            _messages.c.tenant_id == tenant_id, _messages.c.wa_message_id == message.reply_to_wa_message_id)).first()
    return {
        "tenant_id": tenant_id, "conversation_id": conversation_id, "direction": Direction.INBOUND,
        "sender_type": SenderType.SYSTEM if message.kind == "system" else SenderType.CUSTOMER,
        "kind": MessageKind(message.kind), "body": message.body, "search_text": fold(message.body) or None,
        "media_id": message.media_id,
        "media_mime": message.media_mime, "payload": message.payload, "status": MessageStatus.RECEIVED,
        "wa_message_id": message.wa_message_id, "reply_to_wa_message_id": message.reply_to_wa_message_id,
        "reply_to_message_id": reply_to[0] if reply_to else None, "created_at": message.sent_at,
        "send_attempts": 0,
    }


def _insert_message(conn: Connection):
    return _insert_message_for(conn.dialect.name)


@functools.lru_cache(maxsize=4)
def _insert_message_for(dialect_name: str):
    return (insert_statement(dialect_name)(_messages).on_conflict_do_nothing(index_elements=["wa_message_id"])
            .returning(_messages.c.id))


_STATUS_TIMES = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}


def apply_status(session: Session, *, tenant_id: int, update: whatsapp.StatusUpdate) -> bool:
    """Move an outbound message's status forward. False when the wamid is unknown."""
    conn = session.connection()
    message = conn.execute(
        sa.select(_messages.c.id, _messages.c.conversation_id, _messages.c.status,
                  *(_messages.c[c] for c in _STATUS_TIMES.values()))
        .where(_messages.c.tenant_id == tenant_id, _messages.c.wa_message_id == update.wa_message_id)
        .with_for_update()).first()
    if message is None:
        return False
    new = whatsapp.next_status(str(message.status), update.status)
    changes: dict = {}
    stamp = _STATUS_TIMES.get(update.status)
    if stamp and getattr(message, stamp) is None:
        changes[stamp] = update.at  # keep each moment even when it arrives late
    if new == "failed" and message.status != MessageStatus.FAILED:
        changes.update(error_code=update.error_code, error_reason=update.error_reason)
        if update.error_code == MARKETING_OPTED_OUT:
            jobs.enqueue_after_commit(session, "apply_meta_opt_out", message.id)
    if new != message.status:
        changes["status"] = MessageStatus(new)
    if changes:
        conn.execute(sa.update(_messages).where(_messages.c.id == message.id).values(**changes))
    if "status" in changes:
        realtime.publish_after_commit(session, tenant_id, "message.status", conversation_id=message.conversation_id,
                                      data={"message_id": message.id, "status": new})
        if new in ("sent", "delivered", "read", "failed"):
            outbox.emit(session, tenant_id, f"message.{new}", {
                "message_id": message.id, "conversation_id": message.conversation_id, "kind": None, "status": new,
                "wa_message_id": update.wa_message_id,
                **({"error_code": update.error_code} if new == "failed" else {})})
    return True
