"""Outbound messages: queued by attendants or the bot, delivered by a hot worker.

`send_message` stores the message (`queued`, unique client key) and enqueues
its delivery after commit. `deliver_message` runs in the worker: it enforces
the 24-hour window, takes a rate-limit slot, calls the Graph API, and retries
retryable errors with exponential backoff and jitter.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.db import after_commit, insert_ignoring_conflicts, session_scope, utcnow
from crm_app.domain import outbound
from crm_app.domain.inbox import compute_preview
from crm_app.domain.meta_errors import classify
from crm_app.domain.outbound_content import build_body, display_text, message_kind, needs_open_window
from crm_app.domain.search import fold
from crm_app.errors import CRMError, NotFound, PermissionDenied, ValidationError
from crm_app.integrations import ExternalServiceError, meta_graph
from crm_app.models import ContactInbox, Conversation, Direction, Inbox, Message, MessageKind, MessageStatus, SenderType
from crm_app.services.channel import media
from crm_app.services.conversations import access as conversation_access
from crm_app.services.core import audit, jobs, ratelimit, realtime
from crm_app.services.core.actors import Actor, fetch_owned, require_role

log = logging.getLogger(__name__)
WINDOW_CLOSED_CODE = 131047
# A message still `sending` after this long had its worker die mid-call: Meta may or may not have it.
SENDING_STALE = dt.timedelta(minutes=10)


class WindowClosed(CRMError):
    """More than 24 hours since the customer last wrote: only a template may be sent."""

    code = "window_closed"
    status = 409


@dataclass(frozen=True)
class MessageRow:
    id: int
    conversation_id: int
    status: str
    kind: str
    body: str | None
    client_key: str | None
    wa_message_id: str | None
    error_code: int | None
    error_reason: str | None


def _row(m: Message) -> MessageRow:
    return MessageRow(m.id, m.conversation_id, str(m.status), str(m.kind), m.body, m.client_key, m.wa_message_id,
                      m.error_code, m.error_reason)


def enqueue_delivery(message_id: int) -> None:
    """Queue the delivery job on the hot queue."""
    jobs.enqueue("send_outbound_message", message_id)


def send_message(
    session: Session,
    *,
    actor: Actor | None,
    conversation_id: int,
    content: dict[str, Any],
    client_key: str | None = None,
    reply_to_message_id: int | None = None,
    tenant_id: int | None = None,
) -> MessageRow:
    """Queue one message to the conversation's customer; the same `client_key` sends once.

    `actor=None` is the bot, which must name the `tenant_id` it acts for. A human must be allowed to
    reply here (`conversations.access.can_send`: nobody while the bot owns it; then staff, or the assigned attendant).
    """
    conversation = _conversation(session, actor, tenant_id, conversation_id)
    key = content.get("storage_key")
    if key is not None and not str(key).startswith(f"{conversation.tenant_id}/"):
        raise NotFound("file not found")  # another tenant's stored file
    if client_key:
        existing = _by_client_key(session, conversation.tenant_id, client_key)
        if existing is not None:
            return _same_send(existing, conversation, actor)
    link = session.get(ContactInbox, conversation.contact_inbox_id)
    reply_to = _reply_target(session, conversation, reply_to_message_id)
    # A stored file gets its media id at send time; validate the rest now.
    probe = {**content, "media_id": "0"} if content.get("storage_key") and not content.get("media_id") else content
    try:
        build_body(probe, link.wa_id, reply_to.wa_message_id if reply_to else None)
    except outbound.OutboundError as exc:
        raise ValidationError(exc.message, field=exc.code) from exc
    if needs_open_window(content) and not outbound.is_window_open(conversation.last_customer_message_at, utcnow()):
        raise WindowClosed("more than 24 hours since the customer's last message: send a template")
    return _insert(session, conversation, actor, content, client_key, reply_to)


def _conversation(session: Session, actor: Actor | None, tenant_id: int | None, conversation_id: int) -> Conversation:
    if actor is not None:
        require_role(actor, "admin", "supervisor", "attendant")
        conversation = fetch_owned(session, Conversation, conversation_id, actor=actor, what="conversation")
        if not conversation_access.can_send(conversation, actor):
            raise PermissionDenied("take the conversation over before replying")
        return conversation
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.tenant_id != tenant_id:
        raise NotFound("conversation not found")
    return conversation


class IdempotencyKeyReused(ValidationError):
    """The key names another sender's or another conversation's message."""

    code = "idempotency_key_reused"


def _same_send(existing: Message, conversation: Conversation, actor: Actor | None) -> MessageRow:
    """A repeated key is the same send only from the same sender in the same conversation; else refused,
    so that nobody can pre-empt (and silently swallow) someone else's message by guessing its key."""
    sender = actor.user_id if actor else None
    if existing.conversation_id != conversation.id or existing.sender_user_id != sender:
        raise IdempotencyKeyReused("this idempotency key was already used for another message", field="client_key")
    return _row(existing)


def _by_client_key(session: Session, tenant_id: int, client_key: str) -> Message | None:
    return session.exec(select(Message).where(Message.tenant_id == tenant_id,
                                              Message.client_key == client_key)).first()


def _reply_target(session: Session, conversation: Conversation, message_id: int | None) -> Message | None:
    if message_id is None:
        return None
    target = session.get(Message, message_id)
    if target is None or target.conversation_id != conversation.id or not target.wa_message_id:
        raise ValidationError("the message you reply to is not in this conversation")
    return target


def _insert(session: Session, conversation: Conversation, actor: Actor | None, content: dict[str, Any],
            client_key: str | None, reply_to: Message | None) -> MessageRow:
    kind, body = message_kind(content), display_text(content)
    message = Message(
        tenant_id=conversation.tenant_id, conversation_id=conversation.id, direction=Direction.OUTBOUND,
        sender_type=SenderType.ATTENDANT if actor else SenderType.BOT,
        sender_user_id=actor.user_id if actor else None, kind=MessageKind(kind),
        body=body, search_text=fold(body) or None,
        # a stored file is served back to the inbox by /api/media like a received one
        media_storage_key=content.get("storage_key"), media_mime=content.get("mime"),
        payload={"content": content}, status=MessageStatus.QUEUED, client_key=client_key,
        reply_to_message_id=reply_to.id if reply_to else None,
        reply_to_wa_message_id=reply_to.wa_message_id if reply_to else None,
    )
    values = message.model_dump(exclude={"id"})
    new_id = insert_ignoring_conflicts(session, Message, values, ["tenant_id", "client_key"]) if client_key else None
    if client_key and new_id is None:  # a concurrent double submit won the race
        return _same_send(_by_client_key(session, conversation.tenant_id, client_key), conversation, actor)
    if new_id is None:
        session.add(message)
        session.flush()
        new_id = message.id
    now = utcnow()
    conversation.last_message_at = now
    if kind != "reaction":
        conversation.last_message_preview = compute_preview(kind, body)
    if actor is not None and conversation.first_reply_at is None:
        conversation.first_reply_at = now
    session.add(conversation)
    after_commit(session, lambda: enqueue_delivery(new_id))
    realtime.publish_after_commit(session, conversation.tenant_id, "message.new", conversation_id=conversation.id,
                                  data={"message_id": new_id})
    return _row(session.get(Message, new_id))


def resend_failed(session: Session, *, actor: Actor, message_id: int) -> MessageRow:
    """Queue a failed outbound message again ("Reenviar"); a message already queued again is left alone.

    Only attendant and bot messages that failed, in a conversation the actor may write in. The error is
    cleared, the attempts start over, and the delivery job is enqueued after commit.
    """
    require_role(actor, "admin", "supervisor", "attendant")
    message = session.exec(select(Message).where(Message.id == message_id).with_for_update()).first()
    if message is None or message.tenant_id != actor.tenant_id:
        raise NotFound("message not found")
    conversation = _conversation(session, actor, None, message.conversation_id)
    if message.direction != Direction.OUTBOUND or message.sender_type not in (SenderType.ATTENDANT, SenderType.BOT):
        raise ValidationError("only messages sent to the customer can be resent")
    if message.status != MessageStatus.FAILED:
        return _row(message)  # already queued again (a double click), or it went through
    content = (message.payload or {}).get("content") or {}
    if needs_open_window(content) and not outbound.is_window_open(conversation.last_customer_message_at, utcnow()):
        raise WindowClosed("more than 24 hours since the customer's last message: send a template")
    before = {"status": str(message.status), "error_code": message.error_code}
    message.status, message.send_attempts, message.failed_at = MessageStatus.QUEUED, 0, None
    message.error_code, message.error_reason, message.wa_message_id = None, None, None
    session.add(message)
    audit.record(session, actor=actor, tenant_id=message.tenant_id, action="message.resend", target_type="message",
                 target_id=message.id, before=before, after={"status": "queued"})
    message_id = message.id
    after_commit(session, lambda: enqueue_delivery(message_id))
    _publish_status(session, message)
    return _row(message)


@dataclass(frozen=True)
class _Prepared:
    content: dict[str, Any]
    to: str
    reply_to: str | None
    account: meta_graph.GraphAccount
    attempt: int


def deliver_message(message_id: int) -> str:
    """Send a queued message through the Graph API, at most once. Returns what happened.

    The message is claimed (`queued` -> `sending`) in the database before any Graph call, so a second
    job for the same message, from the sweeper or a duplicate enqueue, finds nothing to do.
    """
    prepared = _prepare(message_id)
    if isinstance(prepared, str):
        return prepared
    try:
        body = build_body(_uploaded(message_id, prepared), prepared.to, prepared.reply_to)
        return _send_with_retries(message_id, prepared.account, body, prepared.attempt)
    except ExternalServiceError as exc:  # the upload failed for good
        return _mark_failed(message_id, exc)


def _uploaded(message_id: int, prepared: _Prepared) -> dict[str, Any]:
    """Upload a stored file to Meta once, and keep its media id for retries."""
    content = media.upload_for_sending(prepared.account, prepared.content)
    if content is not prepared.content:
        with session_scope() as session:
            message = session.get(Message, message_id)
            message.payload = {**(message.payload or {}), "content": content}
            session.add(message)
    return content


def _prepare(message_id: int) -> _Prepared | str:
    with session_scope() as session:
        message = session.exec(select(Message).where(Message.id == message_id).with_for_update()).first()
        if message is None or message.status != MessageStatus.QUEUED:
            return "skipped"
        conversation = session.get(Conversation, message.conversation_id)
        content = (message.payload or {}).get("content") or {}
        if needs_open_window(content) and not outbound.is_window_open(conversation.last_customer_message_at,
                                                                       utcnow()):
            _fail(message, WINDOW_CLOSED_CODE, "Re-engagement message: the 24-hour window is closed")
            _publish_status(session, message)
            return "window-closed"
        inbox = session.get(Inbox, conversation.inbox_id)
        link = session.get(ContactInbox, conversation.contact_inbox_id)
        account = meta_graph.GraphAccount(inbox.graph_base_url, inbox.phone_number_id, inbox.waba_id,
                                          inbox.access_token)
        message.status = MessageStatus.SENDING  # the claim commits with this transaction
        session.add(message)
        return _Prepared(content, link.wa_id, message.reply_to_wa_message_id, account, message.send_attempts)


def _send_with_retries(message_id: int, account: meta_graph.GraphAccount, body: dict[str, Any], first: int) -> str:
    settings = get_settings()
    for attempt in range(first, settings.wa_send_attempts):
        if not ratelimit.acquire(f"wa:{account.phone_number_id}", settings.wa_rate_limit_per_second):
            _record_attempt(message_id)
            continue
        try:
            wamid = meta_graph.send_message(account, body)
        except ExternalServiceError as exc:
            _record_attempt(message_id)
            if not exc.retryable or attempt + 1 >= settings.wa_send_attempts:
                return _mark_failed(message_id, exc)
            time.sleep(backoff_seconds(attempt))
            continue
        return _mark_sent(message_id, wamid)
    return _mark_failed(message_id, ExternalServiceError("rate limit slot not available", retryable=True))


def backoff_seconds(attempt: int, *, base: float = 0.5, cap: float = 8.0) -> float:
    """Exponential backoff with full jitter: a random wait up to base·2^attempt, capped."""
    return random.uniform(base, min(cap, base * 2 ** attempt))


def _record_attempt(message_id: int) -> None:
    with session_scope() as session:
        message = session.get(Message, message_id)
        message.send_attempts += 1
        session.add(message)


def _mark_sent(message_id: int, wamid: str) -> str:
    with session_scope() as session:
        message = session.exec(select(Message).where(Message.id == message_id).with_for_update()).one()
        message.wa_message_id = wamid
        if message.status in (MessageStatus.QUEUED, MessageStatus.SENDING):  # a webhook may have moved it on
            message.status, message.sent_at = MessageStatus.SENT, message.sent_at or utcnow()
            _publish_status(session, message)
        session.add(message)
    return "sent"


def _mark_failed(message_id: int, exc: ExternalServiceError) -> str:
    with session_scope() as session:
        message = session.get(Message, message_id)
        _fail(message, exc.code, exc.details or exc.message)
        _publish_status(session, message)
        session.add(message)
    log.info("message %s failed with Graph code %s", message_id, exc.code)
    return "failed"


def _publish_status(session: Session, message: Message) -> None:
    realtime.publish_after_commit(session, message.tenant_id, "message.status", conversation_id=message.conversation_id,
                                  data={"message_id": message.id, "status": str(message.status)})


def _fail(message: Message, code: int | None, reason: str | None) -> None:
    message.status, message.failed_at = MessageStatus.FAILED, utcnow()
    message.error_code = code
    message.error_reason = (reason or classify(code).reason_en)[:500]


def sweep_queued_messages(older_than_seconds: int = 60) -> int:
    """Re-enqueue messages still queued long after they were written (a lost job).

    A message left `sending` by a dead worker is not resent, since Meta may have it: it is marked
    failed with a reason, and the attendant decides whether to send it again.
    """
    now = utcnow()
    cutoff = now - dt.timedelta(seconds=older_than_seconds)
    with session_scope() as session:
        ids = session.exec(select(Message.id).where(Message.status == MessageStatus.QUEUED,
                                                    Message.direction == Direction.OUTBOUND,
                                                    Message.created_at < cutoff).limit(500)).all()
        stuck = session.exec(select(Message).where(Message.status == MessageStatus.SENDING,
                                                   Message.created_at < now - SENDING_STALE).limit(500)).all()
        for message in stuck:
            _fail(message, None, "The send was interrupted and its outcome is unknown; check before resending")
            _publish_status(session, message)
            session.add(message)
    for message_id in ids:
        enqueue_delivery(message_id)
    return len(ids)


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
