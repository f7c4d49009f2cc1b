"""Reading what customers sent: read receipts (and the typing indicator) back to WhatsApp, and the inbound
messages of types we do not handle, listed raw for admins."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.db import session_scope
from crm_app.domain import outbound
from crm_app.integrations import ExternalServiceError, meta_graph
from crm_app.models import Conversation, Direction, Inbox, Message, MessageKind
from crm_app.services.channel import media
from crm_app.services.conversations import access as conversation_access
from crm_app.services.core import jobs
from crm_app.services.core.actors import Actor, require_role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnsupportedRow:
    """An inbound message of a type we do not handle, with Meta's raw JSON for admins."""

    id: int
    conversation_id: int
    received_at: dt.datetime
    raw_json: str


def list_unsupported(session: Session, *, actor: Actor, limit: int = 50) -> list[UnsupportedRow]:
    """The newest unsupported inbound messages of the actor's tenant; admins only."""
    require_role(actor, "admin")
    query = (select(Message).where(Message.tenant_id == actor.tenant_id, Message.kind == MessageKind.UNSUPPORTED)
             .order_by(Message.id.desc()).limit(limit))
    return [UnsupportedRow(m.id, m.conversation_id, m.created_at, json.dumps(m.payload, ensure_ascii=False)[:4000])
            for m in session.exec(query)]


def mark_conversation_read(session: Session, *, actor: Actor, conversation_id: int, typing: bool = False) -> bool:
    """Zero the unread count and, after commit, tell WhatsApp the last customer message was read.

    With `typing`, the customer also sees the typing indicator. Returns whether a read receipt was queued.
    """
    conversation = conversation_access.access_conversation(session, actor=actor,
                                                           conversation_id=conversation_id)  # may see it
    conversation.unread_count = 0
    session.add(conversation)
    last = session.exec(select(Message).where(Message.conversation_id == conversation.id,
                                              Message.direction == Direction.INBOUND,
                                              Message.wa_message_id.is_not(None))
                        .order_by(Message.id.desc())).first()
    if last is None:
        return False
    message_id = last.id
    jobs.enqueue_after_commit(session, "send_read_receipt", message_id, typing)
    return True


def send_read_receipt(message_id: int, typing: bool = False) -> bool:
    """The worker side of `mark_conversation_read`: one Graph call, never retried loudly."""
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is None or not message.wa_message_id:
            return False
        inbox = session.get(Inbox, session.get(Conversation, message.conversation_id).inbox_id)
        account, wamid = media.account_for(inbox), message.wa_message_id
    try:
        return meta_graph.mark_read(account, outbound.build_mark_read(wamid, typing=typing))
    except ExternalServiceError as exc:  # a missed read receipt is harmless; log and move on
        log.info("read receipt for message %s not sent: %s", message_id, exc.code)
        return False
