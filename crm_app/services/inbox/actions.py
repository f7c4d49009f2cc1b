"""The inbox: conversation lists by tab, the chat's messages, and what attendants do to a conversation.

Reads return frozen DTOs of plain types. Every action (take over, assign,
transfer, close, reopen, snooze, labels) writes, in the caller's transaction,
a conversation event, a system line in the chat, an audit row, and publishes
`conversation.updated` after commit.

Who may act: supervisors and admins on any conversation of their tenant; an
attendant on conversations assigned to them, and may take over or annotate
unassigned ones. A conversation assigned to another attendant is forbidden.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from crm_app.db import UTCDateTime, insert_ignoring_conflicts, session_scope, utcnow
from crm_app.domain import outbound
from crm_app.domain.inbox import decode_cursor, display_phone, encode_cursor, search_pattern
from crm_app.domain.meta_errors import classify
from crm_app.domain.search import fold
from crm_app.domain.timefmt import format_local
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.i18n import translate
from crm_app.models import (
    Contact,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationLabel,
    ConversationStatus,
    Direction,
    Label,
    Message,
    MessageKind,
    MessageStatus,
    SenderType,
    Team,
    User,
)
from crm_app.services.conversations import contacts
from crm_app.services.conversations.contacts import ContactView
from crm_app.services.core import audit, realtime
from crm_app.services.core.actors import Actor, fetch_owned, require_role
from crm_app.services.routing import assignment

TABS = ("mine", "unassigned", "bot", "all", "closed")
SORTS = ("recent", "window")
ROLES = ("admin", "supervisor", "attendant")
STAFF = ("admin", "supervisor")
WINDOW = dt.timedelta(hours=24)
MAX_NOTE = 4096
WAKE_BATCH = 500


@dataclass(frozen=True)
class ConversationRow:
    id: int
    inbox_id: int
    contact_id: int
    contact_name: str
    contact_phone: str
    preview: str
    last_message_at: dt.datetime | None
    unread_count: int
    status: str
    assignee_id: int | None
    assignee_name: str | None
    team_id: int | None
    team_name: str | None
    bot_active: bool
    window_expires_at: dt.datetime | None
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConversationPage:
    rows: list[ConversationRow]
    next_cursor: str | None
    total: int | None


@dataclass(frozen=True)
class ConversationDetail:
    row: ConversationRow
    contact: ContactView
    can_reply: bool
    blocked_reason: str | None
    window_open: bool


@dataclass(frozen=True)
class MessageView:
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


def is_staff(actor: Actor) -> bool:
    """Supervisors and admins see and act on every conversation of their tenant."""
    return actor.role in STAFF


def can_send(conversation: Conversation, actor: Actor) -> bool:
    """Whether `actor` may write to the customer. Nobody while the bot owns the conversation (take it over
    first: the bot and a person never answer at once); then staff anywhere, an attendant in their own."""
    if conversation.bot_active:
        return False
    if is_staff(actor):
        return True
    return actor.role == "attendant" and conversation.assignee_id == actor.user_id


def _can_view(conversation: Conversation, actor: Actor) -> bool:
    return is_staff(actor) or conversation.assignee_id in (None, actor.user_id)


def access_conversation(session: Session, *, actor: Actor, conversation_id: int,
                        lock: bool = False) -> Conversation:
    """A conversation of the actor's tenant the actor may see (NotFound / PermissionDenied otherwise)."""
    require_role(actor, *ROLES)
    if lock:
        found = session.exec(select(Conversation).where(Conversation.id == conversation_id)
                             .with_for_update()).first()
        if found is None or found.tenant_id != actor.tenant_id:
            raise NotFound("conversation not found")
        conversation = found
    else:
        conversation = fetch_owned(session, Conversation, conversation_id, actor=actor, what="conversation")
    if not _can_view(conversation, actor):
        raise PermissionDenied("this conversation is assigned to another attendant")
    return conversation


def _require_owner(conversation: Conversation, actor: Actor) -> None:
    if not is_staff(actor) and conversation.assignee_id != actor.user_id:
        raise PermissionDenied("take the conversation over first")


# ---- lists -----------------------------------------------------------------------------------------------

_C, _K = Conversation, Contact
_RECENT_KEY = func.coalesce(_C.last_message_at, _C.created_at)


def _tab_filter(tab: str, actor: Actor) -> list:
    if tab not in TABS:
        raise ValidationError(f"tab must be one of {', '.join(TABS)}", field="tab")
    if tab == "all" and not is_staff(actor):
        raise PermissionDenied("only supervisors and admins see every conversation")
    not_closed = _C.status != ConversationStatus.CLOSED
    return {
        "mine": [_C.assignee_id == actor.user_id, not_closed],
        "unassigned": [_C.assignee_id.is_(None), _C.bot_active.is_(False), not_closed],
        "bot": [_C.bot_active.is_(True), not_closed],
        "all": [not_closed],
        "closed": [_C.status == ConversationStatus.CLOSED]
        + ([] if is_staff(actor) else [_C.assignee_id == actor.user_id]),
    }[tab]


def _search_filter(query: str | None, tenant_id: int) -> list:
    pattern = search_pattern(query)
    if not pattern:
        return []
    # IN, not a correlated EXISTS: under OR, PostgreSQL runs it once as a hashed subplan over the trigram index.
    in_messages = _C.id.in_(select(Message.conversation_id).where(Message.tenant_id == tenant_id,
                                                                  Message.search_text.like(pattern, escape="\\")))
    return [sa.or_(_K.search_text.like(pattern, escape="\\"), in_messages)]


def _row_statement():
    assignee = aliased(User)
    return (select(_C.id, _C.inbox_id, _C.contact_id, _K.name.label("contact_name"), _K.phone_e164,
                   _C.last_message_preview, _C.last_message_at, _C.unread_count, _C.status, _C.assignee_id,
                   assignee.name.label("assignee_name"), _C.team_id, Team.name.label("team_name"), _C.bot_active,
                   _C.last_customer_message_at, _RECENT_KEY.label("recent_key"))
            .join(_K, _K.id == _C.contact_id)
            .outerjoin(assignee, assignee.id == _C.assignee_id)
            .outerjoin(Team, Team.id == _C.team_id))


def _rows(session: Session, records: list) -> list[ConversationRow]:
    """DTOs for fetched rows, with their labels in one more query."""
    ids = [r.id for r in records]
    labels: dict[int, list[str]] = {}
    if ids:
        for conversation_id, name in session.exec(
                select(ConversationLabel.conversation_id, Label.name)
                .join(Label, Label.id == ConversationLabel.label_id)
                .where(ConversationLabel.conversation_id.in_(ids)).order_by(Label.name)):
            labels.setdefault(conversation_id, []).append(name)
    return [ConversationRow(
        r.id, r.inbox_id, r.contact_id, r.contact_name or display_phone(r.phone_e164), r.phone_e164,
        r.last_message_preview or "", r.last_message_at, r.unread_count, str(r.status), r.assignee_id,
        r.assignee_name, r.team_id, r.team_name, r.bot_active,
        r.last_customer_message_at + WINDOW if r.last_customer_message_at else None, labels.get(r.id, []),
    ) for r in records]


def conversation_row(session: Session, conversation_id: int, *, tenant_id: int | None = None) -> ConversationRow:
    """The list row of one conversation (already authorized; `tenant_id` narrows it to that tenant)."""
    session.flush()
    statement = _row_statement().where(_C.id == conversation_id)
    if tenant_id is not None:
        statement = statement.where(_C.tenant_id == tenant_id)
    return _rows(session, [session.exec(statement).one()])[0]


def list_conversations(session: Session, *, actor: Actor, tab: str = "mine", query: str | None = None,
                       team_id: int | None = None, label_id: int | None = None, status: str | None = None,
                       inbox_id: int | None = None, sort: str = "recent", cursor: str | None = None,
                       limit: int = 50) -> ConversationPage:
    """One page of a tab, newest activity first (or, with sort="window", open windows closing soonest first).

    `query` matches the contact's name, phone or e-mail, or any message text of the conversation, ignoring
    accents and case. `total` is counted on the first page only.
    """
    require_role(actor, *ROLES)
    if sort not in SORTS:
        raise ValidationError("sort must be recent or window", field="sort")
    limit = max(1, min(limit, 200))
    conditions = [_C.tenant_id == actor.tenant_id, *_tab_filter(tab, actor), *_search_filter(query, actor.tenant_id)]
    if team_id is not None:
        conditions.append(_C.team_id == team_id)
    if inbox_id is not None:
        conditions.append(_C.inbox_id == inbox_id)
    if status is not None:
        conditions.append(_C.status == status)
    if label_id is not None:
        conditions.append(_C.id.in_(select(ConversationLabel.conversation_id)
                                    .where(ConversationLabel.label_id == label_id)))
    if sort == "window":
        conditions.append(_C.last_customer_message_at > utcnow() - WINDOW)
    key = _C.last_customer_message_at if sort == "window" else _RECENT_KEY
    total = None
    if cursor is None:
        total = session.exec(select(func.count()).select_from(_C).join(_K, _K.id == _C.contact_id)
                             .where(*conditions)).one()
    statement = _row_statement().where(*conditions)
    if cursor is not None:
        statement = statement.where(_after(key, cursor, ascending=sort == "window"))
    order = (key.asc(), _C.id.asc()) if sort == "window" else (key.desc(), _C.id.desc())
    records = session.exec(statement.order_by(*order).limit(limit + 1)).all()
    page = records[:limit]
    next_cursor = None
    if len(records) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last.last_customer_message_at if sort == "window" else last.recent_key, last.id)
    return ConversationPage(_rows(session, page), next_cursor, total)


def _after(key, cursor: str, *, ascending: bool):
    try:
        moment, last_id = decode_cursor(cursor)
    except ValueError as exc:
        raise ValidationError("invalid cursor", field="cursor") from exc
    if moment is None:
        raise ValidationError("invalid cursor", field="cursor")
    at = sa.literal(moment, UTCDateTime)
    if ascending:
        return sa.or_(key > at, sa.and_(key == at, _C.id > last_id))
    return sa.or_(key < at, sa.and_(key == at, _C.id < last_id))


def tab_counts(session: Session, *, actor: Actor) -> dict[str, int]:
    """How many conversations each tab the actor may open holds (attendants get no "all")."""
    require_role(actor, *ROLES)
    tabs = [t for t in TABS if t != "all" or is_staff(actor)]
    columns = [func.count().filter(sa.and_(*_tab_filter(t, actor))).label(t) for t in tabs]
    row = session.exec(select(*columns).select_from(_C).where(_C.tenant_id == actor.tenant_id)).one()
    return {t: int(row[i] or 0) for i, t in enumerate(tabs)}


def unread_total(session: Session, *, actor: Actor) -> int:
    """Unread customer messages in the actor's own open conversations (the browser tab's title)."""
    require_role(actor, *ROLES)
    total = session.exec(select(func.coalesce(func.sum(_C.unread_count), 0)).where(
        _C.tenant_id == actor.tenant_id, _C.assignee_id == actor.user_id,
        _C.status != ConversationStatus.CLOSED)).one()
    return int(total or 0)


def list_labels(session: Session, *, actor: Actor) -> list[dict]:
    """The tenant's labels: id, name, color; by name."""
    require_role(actor, *ROLES)
    labels = session.exec(select(Label).where(Label.tenant_id == actor.tenant_id).order_by(Label.name)).all()
    return [{"id": label.id, "name": label.name, "color": label.color} for label in labels]


def _blocked_reason(conversation: Conversation, actor: Actor) -> str | None:
    if conversation.status == ConversationStatus.CLOSED:
        return "inbox.blocked.closed"
    if can_send(conversation, actor):
        return None
    if conversation.bot_active:
        return "inbox.blocked.bot"
    if conversation.assignee_id is None:
        return "inbox.blocked.unassigned"
    return "inbox.blocked.other_assignee"


def get_conversation(session: Session, *, actor: Actor, conversation_id: int) -> ConversationDetail:
    """The chat header and customer panel of one conversation, and whether the actor may reply."""
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id)
    contact = contacts.view_of(session, session.get(Contact, conversation.contact_id), actor)
    reason = _blocked_reason(conversation, actor)
    window_open = outbound.is_window_open(conversation.last_customer_message_at, utcnow())
    return ConversationDetail(conversation_row(session, conversation.id), contact, reason is None, reason,
                              window_open)


# ---- messages ----------------------------------------------------------------------------------------------

def list_messages(session: Session, *, actor: Actor, conversation_id: int, before_id: int | None = None,
                  limit: int = 50) -> list[MessageView]:
    """The conversation's messages, oldest first: the latest `limit`, or those before `before_id`.

    Reactions are not bubbles of their own: they are gathered on the message they react to.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id)
    limit = max(1, min(limit, 200))
    statement = select(Message).where(Message.conversation_id == conversation.id,
                                      Message.kind != MessageKind.REACTION)
    if before_id is not None:
        statement = statement.where(Message.id < before_id)
    page = list(reversed(session.exec(statement.order_by(Message.id.desc()).limit(limit)).all()))
    return _views(session, actor, conversation, page)


def _views(session: Session, actor: Actor, conversation: Conversation, page: list[Message]) -> list[MessageView]:
    contact = session.get(Contact, conversation.contact_id)
    customer = contact.name or display_phone(contact.phone_e164)
    user_ids = {m.sender_user_id for m in page if m.sender_user_id}
    users = dict(session.exec(select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    reply_ids = {m.reply_to_message_id for m in page if m.reply_to_message_id}
    replies = {r.id: r for r in session.exec(select(Message.id, Message.body, Message.sender_type, Message.kind)
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


def _system_text(locale: str, timezone: str, payload: dict[str, Any]) -> str | None:
    line = payload.get("system")
    if not isinstance(line, dict) or "key" not in line:
        return None
    params = dict(line.get("params") or {})
    if params.get("until"):
        params["until"] = format_local(dt.datetime.fromisoformat(params["until"]), timezone)
    try:
        return translate(locale, line["key"]).format(**params)
    except (KeyError, IndexError, ValueError):
        return None


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
        body = _system_text(actor.locale, actor.timezone, payload) or m.body
    reply = replies.get(m.reply_to_message_id)
    reply_to = None if reply is None else {"id": reply.id, "body": reply.body, "sender_type": str(reply.sender_type),
                                          "kind": str(reply.kind)}
    return MessageView(
        id=m.id, direction=str(m.direction), sender_type=sender_type, sender_name=sender_name, kind=str(m.kind),
        body=body, media_url=f"/api/media/{m.id}" if m.media_storage_key else content.get("link"),
        media_mime=m.media_mime or content.get("mime"), file_name=_file_name(m, payload, content),
        location=_location(payload), contacts=_shared_contacts(payload), status=str(m.status),
        error_code=m.error_code, error_reason=_error_reason(m, actor.locale), reply_to=reply_to,
        reactions=reactions.get(m.wa_message_id, []) if m.wa_message_id else [], created_at=m.created_at,
        client_key=m.client_key, forwarded=_forwarded(payload), referral=_referral(payload),
        buttons=_buttons(content), media_error=payload.get("media_error"),
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


# ---- actions -----------------------------------------------------------------------------------------------

def _system_line(session: Session, conversation: Conversation, actor: Actor | None, key: str,
                 params: dict[str, Any]) -> Message:
    """A centred gray line in the chat; stored in pt-BR, shown in each reader's language."""
    shown = dict(params)
    if shown.get("until"):
        shown["until"] = format_local(dt.datetime.fromisoformat(shown["until"]),
                                      actor.timezone if actor else "America/Sao_Paulo")
    line = Message(tenant_id=conversation.tenant_id, conversation_id=conversation.id,
                   direction=Direction.OUTBOUND, sender_type=SenderType.SYSTEM,
                   sender_user_id=actor.user_id if actor else None, kind=MessageKind.SYSTEM,
                   body=translate("pt-BR", key).format(**shown), payload={"system": {"key": key, "params": params}},
                   status=MessageStatus.RECEIVED)
    session.add(line)
    session.flush()
    realtime.publish_after_commit(session, conversation.tenant_id, "message.new", conversation_id=conversation.id,
                                  data={"message_id": line.id})
    return line


def _state(conversation: Conversation) -> dict[str, Any]:
    return {"status": str(conversation.status), "assignee_id": conversation.assignee_id,
            "team_id": conversation.team_id, "bot_active": conversation.bot_active}


def _record(session: Session, actor: Actor | None, conversation: Conversation, before: dict[str, Any], *,
            action: str, kind: ConversationEventKind, from_value: Any, to_value: Any, line: str,
            params: dict[str, Any], data: dict[str, Any] | None = None) -> None:
    """Event, system line, audit row and real-time note for one action on `conversation`."""
    session.add(conversation)
    session.add(ConversationEvent(
        tenant_id=conversation.tenant_id, conversation_id=conversation.id, kind=kind,
        actor_user_id=actor.user_id if actor else None,
        from_value=None if from_value is None else str(from_value)[:64],
        to_value=None if to_value is None else str(to_value)[:64], data=data or {}))
    _system_line(session, conversation, actor, line, params)
    assignment.after_change(session, conversation, before)  # the waiting queue and freed capacity
    audit.record(session, actor=actor, tenant_id=conversation.tenant_id, action=f"conversation.{action}",
                 target_type="conversation", target_id=conversation.id, before=before,
                 after={**_state(conversation), **(data or {})})
    realtime.publish_after_commit(session, conversation.tenant_id, "conversation.updated",
                                  conversation_id=conversation.id, data={"action": action, **_state(conversation)})


def take_over(session: Session, *, actor: Actor, conversation_id: int) -> ConversationRow:
    """The actor becomes the assignee and the bot goes quiet. An attendant cannot take another's conversation."""
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    if conversation.status == ConversationStatus.CLOSED:
        raise ValidationError("reopen the conversation first")
    before = _state(conversation)
    if conversation.assignee_id == actor.user_id and not conversation.bot_active:
        return conversation_row(session, conversation.id)
    previous = conversation.assignee_id
    conversation.assignee_id, conversation.bot_active = actor.user_id, False
    if conversation.status == ConversationStatus.PENDING:
        conversation.status = ConversationStatus.OPEN
    _record(session, actor, conversation, before, action="take_over", kind=ConversationEventKind.TAKEOVER,
            from_value=previous, to_value=actor.user_id, line="inbox.system.take_over",
            params={"actor": actor.name})
    return conversation_row(session, conversation.id)


def _tenant_user(session: Session, actor: Actor, user_id: int) -> User:
    user = fetch_owned(session, User, user_id, actor=actor, what="user")
    if not user.is_active:
        raise ValidationError("this user is deactivated", field="user_id")
    return user


def assign(session: Session, *, actor: Actor, conversation_id: int, user_id: int | None) -> ConversationRow:
    """Give the conversation to a user of the tenant (None: nobody); supervisors and admins only."""
    require_role(actor, *STAFF)
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    user = _tenant_user(session, actor, user_id) if user_id is not None else None
    if conversation.assignee_id == user_id and (user is None or not conversation.bot_active):
        return conversation_row(session, conversation.id)
    before, previous = _state(conversation), conversation.assignee_id
    conversation.assignee_id = user_id
    if user is not None:
        conversation.bot_active = False
    line, params = ("inbox.system.assign", {"actor": actor.name, "user": user.name}) if user else (
        "inbox.system.unassign", {"actor": actor.name})
    _record(session, actor, conversation, before, action="assign", kind=ConversationEventKind.ASSIGNMENT,
            from_value=previous, to_value=user_id, line=line, params=params)
    return conversation_row(session, conversation.id)


def transfer(session: Session, *, actor: Actor, conversation_id: int, team_id: int | None = None,
             user_id: int | None = None, reason: str = "") -> ConversationRow:
    """Hand the conversation to a team (it waits unassigned in that team's queue) and/or a user.

    An attendant transfers only their own conversations.
    """
    if team_id is None and user_id is None:
        raise ValidationError("choose a team or a person", field="team_id")
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    _require_owner(conversation, actor)
    team = fetch_owned(session, Team, team_id, actor=actor, what="team") if team_id is not None else None
    user = _tenant_user(session, actor, user_id) if user_id is not None else None
    before = _state(conversation)
    if team is not None:
        conversation.team_id = team.id
    conversation.assignee_id = user.id if user else None
    conversation.bot_active = False
    target = " / ".join(x for x in (team.name if team else None, user.name if user else None) if x)
    reason = (reason or "").strip()[:500]
    _record(session, actor, conversation, before, action="transfer", kind=ConversationEventKind.TRANSFER,
            from_value=before["assignee_id"], to_value=user.id if user else None, line="inbox.system.transfer",
            params={"actor": actor.name, "target": target},
            data={"team_id": conversation.team_id, "reason": reason} if reason else {"team_id": conversation.team_id})
    return conversation_row(session, conversation.id)


def close(session: Session, *, actor: Actor, conversation_id: int, note: str | None = None) -> ConversationRow:
    """Close the conversation, with an optional private note; closing a closed one changes nothing."""
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    _require_owner(conversation, actor)
    if conversation.status == ConversationStatus.CLOSED:
        return conversation_row(session, conversation.id)
    if note and note.strip():
        _note(session, actor, conversation, note)
    before = _state(conversation)
    conversation.status, conversation.closed_at, conversation.snoozed_until = ConversationStatus.CLOSED, utcnow(), None
    conversation.resolved_by = assignment.resolved_by(session, conversation)
    _record(session, actor, conversation, before, action="close", kind=ConversationEventKind.STATUS,
            from_value=before["status"], to_value="closed", line="inbox.system.close",
            params={"actor": actor.name})
    return conversation_row(session, conversation.id)


def reopen(session: Session, *, actor: Actor, conversation_id: int) -> ConversationRow:
    """Open a closed or snoozed conversation again, keeping its assignee."""
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    _require_owner(conversation, actor)
    if conversation.status not in (ConversationStatus.CLOSED, ConversationStatus.SNOOZED):
        return conversation_row(session, conversation.id)
    before = _state(conversation)
    conversation.status, conversation.closed_at, conversation.snoozed_until = ConversationStatus.OPEN, None, None
    _record(session, actor, conversation, before, action="reopen", kind=ConversationEventKind.STATUS,
            from_value=before["status"], to_value="open", line="inbox.system.reopen",
            params={"actor": actor.name})
    return conversation_row(session, conversation.id)


def snooze(session: Session, *, actor: Actor, conversation_id: int, until: dt.datetime) -> ConversationRow:
    """Hide the conversation until `until` (aware, in the future); a customer message wakes it earlier."""
    if until.tzinfo is None:
        raise ValidationError("the time needs a timezone", field="until")
    if until <= utcnow():
        raise ValidationError("choose a moment in the future", field="until")
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    _require_owner(conversation, actor)
    if conversation.status == ConversationStatus.CLOSED:
        raise ValidationError("reopen the conversation first")
    before = _state(conversation)
    until = until.astimezone(dt.UTC)
    conversation.status, conversation.snoozed_until = ConversationStatus.SNOOZED, until
    _record(session, actor, conversation, before, action="snooze", kind=ConversationEventKind.SNOOZE,
            from_value=before["status"], to_value="snoozed", line="inbox.system.snooze",
            params={"actor": actor.name, "until": until.isoformat()}, data={"until": until.isoformat()})
    return conversation_row(session, conversation.id)


def wake_snoozed(now: dt.datetime | None = None) -> int:
    """Reopen snoozed conversations whose time has come (a periodic job). Returns how many."""
    now = now or utcnow()
    with session_scope() as session:
        due = session.exec(select(Conversation).where(Conversation.status == ConversationStatus.SNOOZED,
                                                      Conversation.snoozed_until <= now)
                           .order_by(Conversation.id).limit(WAKE_BATCH).with_for_update(skip_locked=True)).all()
        for conversation in due:
            before = _state(conversation)
            conversation.status, conversation.snoozed_until = ConversationStatus.OPEN, None
            _record(session, None, conversation, before, action="wake", kind=ConversationEventKind.STATUS,
                    from_value="snoozed", to_value="open", line="inbox.system.wake", params={},
                    data={"reason": "snooze_expired"})
    return len(due)


def _label_names(session: Session, conversation_id: int) -> list[str]:
    return list(session.exec(select(Label.name).join(ConversationLabel, ConversationLabel.label_id == Label.id)
                             .where(ConversationLabel.conversation_id == conversation_id).order_by(Label.name)))


def _find_label(session: Session, tenant_id: int, name: str) -> Label | None:
    wanted = fold(name)
    labels = session.exec(select(Label).where(Label.tenant_id == tenant_id)).all()
    return next((label for label in labels if fold(label.name) == wanted), None)


def add_label(session: Session, *, actor: Actor, conversation_id: int, name: str) -> list[str]:
    """Put a label on the conversation, creating it in the tenant when new. Returns the labels."""
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    name = " ".join((name or "").split())
    if not name or len(name) > 60:
        raise ValidationError("a label has 1 to 60 characters", field="name")
    label = _find_label(session, conversation.tenant_id, name)
    if label is None:
        insert_ignoring_conflicts(session, Label, {"tenant_id": conversation.tenant_id, "name": name,
                                                   "color": "gray", "created_at": utcnow()}, ["tenant_id", "name"])
        label = _find_label(session, conversation.tenant_id, name)
    added = insert_ignoring_conflicts(session, ConversationLabel, {
        "tenant_id": conversation.tenant_id, "conversation_id": conversation.id, "label_id": label.id},
        ["conversation_id", "label_id"])
    if added is not None:
        _record(session, actor, conversation, _state(conversation), action="label_add",
                kind=ConversationEventKind.LABEL, from_value=None, to_value=label.name,
                line="inbox.system.label_add", params={"actor": actor.name, "label": label.name},
                data={"label": label.name})
    return _label_names(session, conversation.id)


def remove_label(session: Session, *, actor: Actor, conversation_id: int, name: str) -> list[str]:
    """Take a label off the conversation (the label stays in the tenant). Returns the labels."""
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    label = _find_label(session, conversation.tenant_id, name or "")
    link = None if label is None else session.exec(select(ConversationLabel).where(
        ConversationLabel.conversation_id == conversation.id, ConversationLabel.label_id == label.id)).first()
    if link is not None:
        session.delete(link)
        _record(session, actor, conversation, _state(conversation), action="label_remove",
                kind=ConversationEventKind.LABEL, from_value=label.name, to_value=None,
                line="inbox.system.label_remove", params={"actor": actor.name, "label": label.name},
                data={"label": label.name})
        session.flush()
    return _label_names(session, conversation.id)


def _note(session: Session, actor: Actor, conversation: Conversation, body: str) -> Message:
    text = (body or "").strip()
    if not text or len(text) > MAX_NOTE:
        raise ValidationError(f"a note has 1 to {MAX_NOTE} characters", field="body")
    note = Message(tenant_id=conversation.tenant_id, conversation_id=conversation.id, direction=Direction.OUTBOUND,
                   sender_type=SenderType.NOTE, sender_user_id=actor.user_id, kind=MessageKind.TEXT, body=text,
                   search_text=fold(text) or None, status=MessageStatus.RECEIVED)
    session.add(note)
    session.flush()
    audit.record(session, actor=actor, tenant_id=conversation.tenant_id, action="conversation.note",
                 target_type="conversation", target_id=conversation.id, after={"message_id": note.id})
    realtime.publish_after_commit(session, conversation.tenant_id, "message.new", conversation_id=conversation.id,
                                  data={"message_id": note.id})
    return note


def add_note(session: Session, *, actor: Actor, conversation_id: int, body: str) -> MessageView:
    """A private note in the chat, for the team only: never sent to WhatsApp."""
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id)
    note = _note(session, actor, conversation, body)
    return _views(session, actor, conversation, [note])[0]
