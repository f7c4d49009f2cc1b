"""What attendants do to a conversation: take over, assign, transfer, close, reopen, snooze, and private notes.

Each action checks who may act (`conversations.access`), records the change through `conversations.log`
(event, system line, audit row, and `conversation.updated` after commit) and then lets routing's queue
catch up (`routing.queue.after_change`: the waiting queue and freed capacity).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.domain.search import fold
from crm_app.errors import ValidationError
from crm_app.models import (
    Conversation,
    ConversationEventKind,
    ConversationStatus,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    SenderType,
    Team,
    User,
)
from crm_app.services.channel import csat
from crm_app.services.conversations import facts as analytics_facts
from crm_app.services.conversations import log as conversation_log
from crm_app.services.conversations.access import STAFF, access_conversation, require_owner
from crm_app.services.core import audit, realtime
from crm_app.services.core.actors import Actor, fetch_owned, require_role
from crm_app.services.inbox import away_mail, listing, views
from crm_app.services.inbox.listing import ConversationRow
from crm_app.services.inbox.views import MessageView
from crm_app.services.routing import handoff, queue

MAX_NOTE = 4096
WAKE_BATCH = 500


def _record(session: Session, actor: Actor | None, conversation: Conversation, before: dict[str, Any], *,
            kind: ConversationEventKind, **change: Any) -> None:
    """Record the change, then keep the waiting queue and freed capacity right."""
    conversation_log.record_change(session, actor, conversation, kind, before=before, **change)
    queue.after_change(session, conversation, before)


def take_over(session: Session, *, actor: Actor, conversation_id: int) -> ConversationRow:
    """The actor becomes the assignee and the bot goes quiet.

    Args:
        session: The caller's session.
        actor: The acting user; an attendant cannot take another attendant's conversation.
        conversation_id: The conversation.

    Returns:
        Its list row.

    Raises:
        ValidationError: The conversation is closed (reopen it first).
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    if conversation.status == ConversationStatus.CLOSED:
        raise ValidationError("reopen the conversation first")
    before = conversation_log.snapshot(conversation)
    if conversation.assignee_id == actor.user_id and not conversation.bot_active:
        return listing.conversation_row(session, conversation.id)
    previous = conversation.assignee_id
    conversation.assignee_id, conversation.bot_active = actor.user_id, False
    if conversation.status == ConversationStatus.PENDING:
        conversation.status = ConversationStatus.OPEN
    _record(session, actor, conversation, before, action="take_over", kind=ConversationEventKind.TAKEOVER,
            from_value=previous, to_value=actor.user_id, line="inbox.system.take_over",
            params={"actor": actor.name})
    analytics_facts.note(session, conversation, "assign", user_id=actor.user_id)
    return listing.conversation_row(session, conversation.id)


def _tenant_user(session: Session, actor: Actor, user_id: int) -> User:
    user = fetch_owned(session, User, user_id, actor=actor, what="user")
    if not user.is_active:
        raise ValidationError("this user is deactivated", field="user_id")
    return user


def assign(session: Session, *, actor: Actor, conversation_id: int, user_id: int | None) -> ConversationRow:
    """Give the conversation to a user of the tenant, or to nobody; supervisors and admins only.

    Args:
        session: The caller's session.
        actor: A supervisor or admin.
        conversation_id: The conversation.
        user_id: An active user of the tenant, or None to unassign (it then waits in the queue).

    Returns:
        Its list row.
    """
    require_role(actor, *STAFF)
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    user = _tenant_user(session, actor, user_id) if user_id is not None else None
    if conversation.assignee_id == user_id and (user is None or not conversation.bot_active):
        return listing.conversation_row(session, conversation.id)
    before, previous = conversation_log.snapshot(conversation), conversation.assignee_id
    conversation.assignee_id = user_id
    if user is not None:
        conversation.bot_active = False
    line, params = ("inbox.system.assign", {"actor": actor.name, "user": user.name}) if user else (
        "inbox.system.unassign", {"actor": actor.name})
    _record(session, actor, conversation, before, action="assign", kind=ConversationEventKind.ASSIGNMENT,
            from_value=previous, to_value=user_id, line=line, params=params)
    analytics_facts.note(session, conversation, "assign", user_id=user_id)
    away_mail.email_if_away(session, actor=actor, conversation=conversation, user=user)
    return listing.conversation_row(session, conversation.id)


def transfer(session: Session, *, actor: Actor, conversation_id: int, team_id: int | None = None,
             user_id: int | None = None, reason: str = "") -> ConversationRow:
    """Hand the conversation to a team (it waits unassigned in that team's queue) and/or a user.

    Args:
        session: The caller's session.
        actor: The acting user; an attendant transfers only their own conversations.
        conversation_id: The conversation.
        team_id: The team to hand it to.
        user_id: The user to hand it to.
        reason: Context for whoever gets it (kept on the event, up to 500 characters).

    Returns:
        Its list row.

    Raises:
        ValidationError: Neither a team nor a user was chosen.
    """
    if team_id is None and user_id is None:
        raise ValidationError("choose a team or a person", field="team_id")
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    require_owner(conversation, actor)
    team = fetch_owned(session, Team, team_id, actor=actor, what="team") if team_id is not None else None
    user = _tenant_user(session, actor, user_id) if user_id is not None else None
    before = conversation_log.snapshot(conversation)
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
    analytics_facts.note(session, conversation, "transfer", user_id=user and user.id, team_id=team and team.id)
    if user is not None and user.id != before["assignee_id"]:
        away_mail.email_if_away(session, actor=actor, conversation=conversation, user=user)
    return listing.conversation_row(session, conversation.id)


def close(session: Session, *, actor: Actor, conversation_id: int, note: str | None = None) -> ConversationRow:
    """Close the conversation, with an optional private note; closing a closed one changes nothing.

    Args:
        session: The caller's session.
        actor: Staff, or the attendant who owns it.
        conversation_id: The conversation.
        note: A private note written before closing.

    Returns:
        Its list row.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    require_owner(conversation, actor)
    if conversation.status == ConversationStatus.CLOSED:
        return listing.conversation_row(session, conversation.id)
    if note and note.strip():
        _note(session, actor, conversation, note)
    before = conversation_log.snapshot(conversation)
    conversation.status, conversation.closed_at, conversation.snoozed_until = ConversationStatus.CLOSED, utcnow(), None
    conversation.resolved_by = handoff.resolved_by(session, conversation)
    _record(session, actor, conversation, before, action="close", kind=ConversationEventKind.STATUS,
            from_value=before["status"], to_value="closed", line="inbox.system.close",
            params={"actor": actor.name})
    analytics_facts.note(session, conversation, "close", by="human")
    csat.offer_after_close(session, actor=actor, conversation=conversation)
    return listing.conversation_row(session, conversation.id)


def reopen(session: Session, *, actor: Actor, conversation_id: int) -> ConversationRow:
    """Open a closed or snoozed conversation again, keeping its assignee.

    Args:
        session: The caller's session.
        actor: Staff, or the attendant who owns it.
        conversation_id: The conversation.

    Returns:
        Its list row.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    require_owner(conversation, actor)
    if conversation.status not in (ConversationStatus.CLOSED, ConversationStatus.SNOOZED):
        return listing.conversation_row(session, conversation.id)
    before = conversation_log.snapshot(conversation)
    conversation.status, conversation.closed_at, conversation.snoozed_until = ConversationStatus.OPEN, None, None
    _record(session, actor, conversation, before, action="reopen", kind=ConversationEventKind.STATUS,
            from_value=before["status"], to_value="open", line="inbox.system.reopen",
            params={"actor": actor.name})
    analytics_facts.note(session, conversation, "reopen")
    return listing.conversation_row(session, conversation.id)


def snooze(session: Session, *, actor: Actor, conversation_id: int, until: dt.datetime) -> ConversationRow:
    """Hide the conversation until `until`; a customer message wakes it earlier.

    Args:
        session: The caller's session.
        actor: Staff, or the attendant who owns it.
        conversation_id: The conversation.
        until: A timezone-aware moment in the future.

    Returns:
        Its list row.

    Raises:
        ValidationError: `until` is naive or past, or the conversation is closed.
    """
    if until.tzinfo is None:
        raise ValidationError("the time needs a timezone", field="until")
    if until <= utcnow():
        raise ValidationError("choose a moment in the future", field="until")
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    require_owner(conversation, actor)
    if conversation.status == ConversationStatus.CLOSED:
        raise ValidationError("reopen the conversation first")
    before = conversation_log.snapshot(conversation)
    until = until.astimezone(dt.UTC)
    conversation.status, conversation.snoozed_until = ConversationStatus.SNOOZED, until
    _record(session, actor, conversation, before, action="snooze", kind=ConversationEventKind.SNOOZE,
            from_value=before["status"], to_value="snoozed", line="inbox.system.snooze",
            params={"actor": actor.name, "until": until.isoformat()}, data={"until": until.isoformat()})
    return listing.conversation_row(session, conversation.id)


def wake_snoozed(now: dt.datetime | None = None) -> int:
    """Reopen snoozed conversations whose time has come (a periodic job), in its own transaction.

    Args:
        now: The moment to compare with (default: now).

    Returns:
        How many conversations woke up.
    """
    now = now or utcnow()
    with session_scope() as session:
        due = session.exec(select(Conversation).where(Conversation.status == ConversationStatus.SNOOZED,
                                                      Conversation.snoozed_until <= now)
                           .order_by(Conversation.id).limit(WAKE_BATCH).with_for_update(skip_locked=True)).all()
        for conversation in due:
            before = conversation_log.snapshot(conversation)
            conversation.status, conversation.snoozed_until = ConversationStatus.OPEN, None
            _record(session, None, conversation, before, action="wake", kind=ConversationEventKind.STATUS,
                    from_value="snoozed", to_value="open", line="inbox.system.wake", params={},
                    data={"reason": "snooze_expired"})
    return len(due)


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
    """A private note in the chat, for the team only: never sent to WhatsApp.

    Args:
        session: The caller's session.
        actor: Anyone who may see the conversation.
        conversation_id: The conversation.
        body: The note (1 to 4096 characters).

    Returns:
        The note as the chat shows it.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id)
    note = _note(session, actor, conversation, body)
    return views.message_views(session, actor, conversation, [note])[0]
