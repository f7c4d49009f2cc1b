"""How the chat shows its messages: bubbles, replies, reactions, failures and system lines in the reader's words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from crm_app.domain import edits
from crm_app.domain.inbox import display_phone
from crm_app.domain.meta_errors import classify
from crm_app.i18n import translate
from crm_app.models import Contact, Conversation, Message, MessageKind, MessageStatus, User
from crm_app.services.audit import reads
from crm_app.services.conversations import log as conversation_log
from crm_app.services.conversations.access import access_conversation
from crm_app.services.core.actors import Actor
from crm_app.services.inbox.listing import ConversationDetail, get_conversation


@dataclass(frozen=True)
class MessageView:
    """One bubble of the chat, in plain types; reactions are gathered on the message they react to."""

    id: int
    direction: str
    sender_type: str
    sender_name: str | None
    kind: str
    body: str | None
    media_url: str | None
    media_mime: str | None
    file_name: str | None
    location: dict[str, Any] | None
    contacts: list[dict[str, Any]]
    status: str
    error_code: int | None
    error_reason: str | None
    reply_to: dict[str, Any] | None
    reactions: list[str]
    created_at: dt.datetime
    client_key: str | None
    forwarded: bool = False
    referral: dict[str, Any] | None = None
    buttons: list[str] = field(default_factory=list)
    media_error: str | None = None
    # The customer edited it (`earlier_texts`: what it said before, oldest first) or deleted it (`body` is
    # then the text kept for audit, or None when the tenant does not keep deleted texts).
    edited: bool = False
    earlier_texts: list[str] = field(default_factory=list)
    deleted: bool = False


def list_messages(session: Session, *, actor: Actor, conversation_id: int, before_id: int | None = None,
                  limit: int = 50) -> list[MessageView]:
    """The conversation's messages, oldest first: the latest `limit`, or those before `before_id`.

    Reactions are not bubbles of their own: they are gathered on the message they react to.

    Args:
        session: The caller's session.
        actor: The reader.
        conversation_id: The conversation.
        before_id: Only messages older than this one (paging back).
        limit: How many (1 to 200).

    Returns:
        The views, oldest first.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, read_only=True)
    limit = max(1, min(limit, 200))
    statement = select(Message).where(Message.conversation_id == conversation.id,
                                      Message.kind != MessageKind.REACTION)
    if before_id is not None:
        statement = statement.where(Message.id < before_id)
    page = list(reversed(session.exec(statement.order_by(Message.id.desc()).limit(limit)).all()))
    return message_views(session, actor, conversation, page)


@dataclass(frozen=True)
class OpenConversation:
    """Everything the chat shows when a conversation opens or refreshes: header, customer panel, newest messages."""

    detail: ConversationDetail
    messages: list[MessageView]


def open_conversation(session: Session, *, actor: Actor, conversation_id: int,
                      limit: int = 50) -> OpenConversation:
    """The detail of one conversation and its newest page of messages, read in one transaction.

    Args:
        session: The caller's session.
        actor: The reader.
        conversation_id: The conversation.
        limit: How many of the newest messages (1 to 200).

    Returns:
        The detail and the messages, oldest first.
    """
    detail = get_conversation(session, actor=actor, conversation_id=conversation_id)
    messages = list_messages(session, actor=actor, conversation_id=conversation_id, limit=limit)
    reads.record_read(session, actor=actor, action="conversation.view", target_type="conversation",
                      target_id=conversation_id)
    return OpenConversation(detail, messages)


def message_views(session: Session, actor: Actor, conversation: Conversation,
                  page: list[Message]) -> list[MessageView]:
    """Views of messages of one conversation the reader may see (already authorized).

    Args:
        session: The caller's session.
        actor: The reader (language, time zone).
        conversation: The conversation.
        page: Its messages to show.

    Returns:
        One view per message, in the same order.
    """
    contact = session.get(Contact, conversation.contact_id)
    customer = contact.name or display_phone(contact.phone_e164)
    user_ids = {m.sender_user_id for m in page if m.sender_user_id}
    users = dict(session.exec(select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    reply_ids = {m.reply_to_message_id for m in page if m.reply_to_message_id}
    replies = {r.id: r for r in session.exec(select(Message.id, Message.body, Message.sender_type, Message.kind,
                                                    Message.deleted_at)
                                             .where(Message.id.in_(reply_ids)))} if reply_ids else {}
    reactions = _reactions(session, conversation.id, {m.wa_message_id for m in page if m.wa_message_id})
    names = {"customer": customer, "bot": translate(actor.locale, "inbox.sender.bot")}
    return [_view(m, actor, names, users, replies, reactions) for m in page]


def _reactions(session: Session, conversation_id: int, wamids: set[str]) -> dict[str, list[str]]:
    """wamid -> emojis on it; each sender's latest reaction wins, and an empty one takes it back."""
    if not wamids:
        return {}
    latest: dict[tuple[str, tuple], str] = {}
    rows = session.exec(select(Message.direction, Message.sender_user_id, Message.body, Message.payload)
                        .where(Message.conversation_id == conversation_id, Message.kind == MessageKind.REACTION)
                        .order_by(Message.id)).all()
    for direction, sender, body, payload in rows:
        payload = payload or {}
        target = (payload.get("reaction") or {}).get("message_id") or (payload.get("content") or {}).get(
            "wa_message_id")
        if target in wamids:
            latest[(target, (str(direction), sender))] = body or ""
    gathered: dict[str, list[str]] = {}
    for (target, _), emoji in latest.items():
        if emoji:
            gathered.setdefault(target, []).append(emoji)
    return gathered


def system_text(locale: str, timezone: str, payload: dict[str, Any]) -> str | None:
    """A system line's stored code and parameters as a sentence for one reader.

    Args:
        locale: The reader's language.
        timezone: The reader's time zone.
        payload: The message's payload, holding {"system": {"key", "params"}}.

    Returns:
        The sentence, or None when the payload holds no usable line (the stored body is shown then).
    """
    line = payload.get("system")
    if not isinstance(line, dict) or "key" not in line or not isinstance(line.get("params") or {}, dict):
        return None
    return conversation_log.render_line(locale, timezone, line["key"], dict(line.get("params") or {}))


def _error_reason(message: Message, locale: str) -> str | None:
    if message.status != MessageStatus.FAILED:
        return None
    if message.error_code is None:
        return message.error_reason
    info = classify(message.error_code)
    return info.reason_pt if locale.lower().startswith("pt") else info.reason_en


def _view(m: Message, actor: Actor, names: dict[str, str], users: dict[int, str], replies: dict,
          reactions: dict[str, list[str]]) -> MessageView:
    payload = m.payload or {}
    content = payload.get("content") or {}
    sender_type = str(m.sender_type)
    sender_name = users.get(m.sender_user_id) if sender_type in ("attendant", "note") else names.get(sender_type)
    body = m.body
    if str(m.kind) == "system":
        body = system_text(actor.locale, actor.timezone, payload) or m.body
    reply = replies.get(m.reply_to_message_id)
    reply_to = None if reply is None else {
        "id": reply.id, "sender_type": str(reply.sender_type), "kind": str(reply.kind),
        "body": translate(actor.locale, "inbox.deleted") if reply.deleted_at else reply.body}
    return MessageView(
        id=m.id, direction=str(m.direction), sender_type=sender_type, sender_name=sender_name, kind=str(m.kind),
        body=body, media_url=f"/api/media/{m.media_token}" if m.media_storage_key else content.get("link"),
        media_mime=m.media_mime or content.get("mime"), file_name=_file_name(m, payload, content),
        location=_location(payload), contacts=_shared_contacts(payload), status=str(m.status),
        error_code=m.error_code, error_reason=_error_reason(m, actor.locale), reply_to=reply_to,
        reactions=reactions.get(m.wa_message_id, []) if m.wa_message_id else [], created_at=m.created_at,
        client_key=m.client_key, forwarded=_forwarded(payload), referral=_referral(payload),
        buttons=_buttons(content), media_error=payload.get("media_error"), edited=m.edited_at is not None,
        earlier_texts=edits.earlier_texts(m.edit_history), deleted=m.deleted_at is not None,
    )


def _file_name(m: Message, payload: dict, content: dict) -> str | None:
    if str(m.kind) != "document":
        return None
    return (payload.get("document") or {}).get("filename") or content.get("filename")


def _location(payload: dict) -> dict[str, Any] | None:
    data = payload.get("location")
    if not isinstance(data, dict):
        return None
    return {k: data.get(k) for k in ("latitude", "longitude", "name", "address")}


def _shared_contacts(payload: dict) -> list[dict[str, Any]]:
    cards = payload.get("contacts") if payload.get("type") == "contacts" else None
    return [{"name": (c.get("name") or {}).get("formatted_name") or "",
             "phones": [p.get("phone") or p.get("wa_id") for p in c.get("phones") or []]}
            for c in cards or [] if isinstance(c, dict)]


def _forwarded(payload: dict) -> bool:
    context = payload.get("context") or {}
    return bool(context.get("forwarded") or context.get("frequently_forwarded"))


def _referral(payload: dict) -> dict[str, Any] | None:
    data = payload.get("referral")
    if not isinstance(data, dict):
        return None
    return {k: data.get(k) for k in ("headline", "body", "source_url", "source_type")}


def _buttons(content: dict) -> list[str]:
    if content.get("type") == "buttons":
        return [str(b[1]) for b in content.get("buttons") or [] if len(b) > 1]
    if content.get("type") == "list":
        return [str(content.get("button_label") or "")]
    return []
