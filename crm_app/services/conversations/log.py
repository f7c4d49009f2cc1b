"""The one write path for conversation changes: event, system line, audit row and real-time note.

Like Zulip's `do_*` actions, every change to a conversation (take over, assign, transfer, close, handoff,
labels…) is recorded here, in the caller's transaction; the real-time notes leave after commit. The
waiting queue is not handled here: callers that free capacity or leave a conversation waiting call
routing's `queue.after_change` themselves after `record_change`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlmodel import Session

from crm_app.domain.timefmt import format_local
from crm_app.i18n import PT_BR, translate
from crm_app.models import (
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    SenderType,
)
from crm_app.services.core import audit, outbox, realtime
from crm_app.services.core.actors import Actor

STORED_LOCALE = "pt-BR"
DEFAULT_TIMEZONE = "America/Sao_Paulo"
NO_TEAM = "-"
# The outgoing webhook event each change action raises (`conversation.<event>`); other actions raise none.
WEBHOOK_EVENTS = {"take_over": "assigned", "assign": "assigned", "auto_assign": "assigned", "transfer": "transferred",
                  "handoff": "transferred", "close": "closed", "reopen": "reopened", "wake": "reopened"}
_CODE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")  # a snake_case code, never shown as such


def snapshot(conversation: Conversation) -> dict[str, Any]:
    """The state a change is measured against: status, assignee, team and whether the bot is active.

    Args:
        conversation: The conversation, as it is now.

    Returns:
        A plain dict, suitable for audit rows and live notes.
    """
    return {"status": str(conversation.status), "assignee_id": conversation.assignee_id,
            "team_id": conversation.team_id, "bot_active": conversation.bot_active}


def record_change(session: Session, actor: Actor | None, conversation: Conversation, kind: ConversationEventKind, *,
                  action: str, before: dict[str, Any], from_value: Any = None, to_value: Any = None,
                  line: str, params: dict[str, Any], data: dict[str, Any] | None = None) -> None:
    """Event, system line, audit row and real-time note for one change, in the caller's transaction.

    Args:
        session: The caller's session; nothing is committed here.
        actor: Who changed it; None for the system (bot, queue, sweeps).
        conversation: The conversation, already changed.
        kind: The conversation event's kind.
        action: The audit action's suffix (`conversation.<action>`) and the live note's action.
        before: `snapshot(conversation)` taken before the change.
        from_value: The event's old value (cut to 64 characters).
        to_value: The event's new value (cut to 64 characters).
        line: The catalogue key of the system line shown in the chat.
        params: The line's parameters (stored; codes are translated when shown).
        data: Extra facts for the event, the audit row's `after` and nothing else.
    """
    session.add(conversation)
    session.add(ConversationEvent(
        tenant_id=conversation.tenant_id, conversation_id=conversation.id, kind=kind,
        actor_user_id=actor.user_id if actor else None,
        from_value=None if from_value is None else str(from_value)[:64],
        to_value=None if to_value is None else str(to_value)[:64], data=data or {}))
    add_system_line(session, conversation, actor, line, params)
    audit.record(session, actor=actor, tenant_id=conversation.tenant_id, action=f"conversation.{action}",
                 target_type="conversation", target_id=conversation.id, before=before,
                 after={**snapshot(conversation), **(data or {})})
    realtime.publish_after_commit(session, conversation.tenant_id, "conversation.updated",
                                  conversation_id=conversation.id, data={"action": action, **snapshot(conversation)})
    if action in WEBHOOK_EVENTS:
        outbox.emit(session, conversation.tenant_id, f"conversation.{WEBHOOK_EVENTS[action]}",
                    webhook_data(conversation))


def webhook_data(conversation: Conversation) -> dict[str, Any]:
    """A conversation as its webhook events describe it (ids and state, nothing the customer wrote)."""
    return {"conversation_id": conversation.id, "contact_id": conversation.contact_id,
            "inbox_id": conversation.inbox_id, "status": str(conversation.status),
            "assignee_id": conversation.assignee_id, "team_id": conversation.team_id}


def add_system_line(session: Session, conversation: Conversation, actor: Actor | None, key: str,
                    params: dict[str, Any]) -> Message:
    """A centred gray line in the chat, stored as a code plus parameters and rendered for each reader.

    The body keeps a pt-BR rendering for places that show the raw text (exports, previews).

    Args:
        session: The caller's session.
        conversation: The conversation the line belongs to.
        actor: Who caused it; None for the system.
        key: The catalogue key of the line.
        params: The line's parameters.

    Returns:
        The flushed system message.
    """
    timezone = actor.timezone if actor else DEFAULT_TIMEZONE
    line = Message(tenant_id=conversation.tenant_id, conversation_id=conversation.id,
                   direction=Direction.OUTBOUND, sender_type=SenderType.SYSTEM,
                   sender_user_id=actor.user_id if actor else None, kind=MessageKind.SYSTEM,
                   body=_stored_body(timezone, key, params),
                   payload={"system": {"key": key, "params": params}}, status=MessageStatus.RECEIVED)
    session.add(line)
    session.flush()
    realtime.publish_after_commit(session, conversation.tenant_id, "message.new", conversation_id=conversation.id,
                                  data={"message_id": line.id})
    return line


def _stored_body(timezone: str, key: str, params: dict[str, Any]) -> str:
    body = render_line(STORED_LOCALE, timezone, key, params)
    if body is None:  # a wrong key or missing parameters is our bug: fail the change, as before
        raise ValueError(f"system line {key!r} does not fit its parameters {sorted(params)}")
    return body


def render_line(locale: str, timezone: str, key: str, params: dict[str, Any]) -> str | None:
    """A system line as a sentence in `locale`; None when its key or parameters do not fit the catalogue.

    Args:
        locale: The reader's language.
        timezone: The reader's time zone, for `until`.
        key: The catalogue key of the line.
        params: The stored parameters.

    Returns:
        The sentence, or None.
    """
    try:
        shown = dict(params)
        if shown.get("until"):
            shown["until"] = format_local(dt.datetime.fromisoformat(shown["until"]), timezone)
        if "reason" in shown:
            shown["reason"] = describe_reason(locale, shown["reason"])
        for name in ("priority", "deadline"):  # codes of the SLA lines (`sla.priority.high`, `sla.deadline.resolution`)
            if shown.get(name):
                shown[name] = translate(locale, f"sla.{name}.{shown[name]}")
        if shown.get("team") == NO_TEAM:
            shown["team"] = translate(locale, "assignment.no_team")
        return translate(locale, key).format(**shown)
    except (KeyError, IndexError, ValueError, TypeError):  # a stored row that no longer fits: show its body
        return None


def describe_reason(locale: str, reason: Any) -> str:
    """Why the bot handed over (or closed), as words in `locale`.

    Stored reasons are our codes (`exit_keyword`, `ai_low_confidence`, …), each with words in both
    catalogues, or a flow author's own text, which is shown as typed (even when it looks like a code).

    Args:
        locale: The reader's language.
        reason: The stored reason.

    Returns:
        Words to show.
    """
    code = str(reason or "").strip() or "handoff"
    key = f"assignment.reason.{code}"
    return translate(locale, key) if key in PT_BR else code
