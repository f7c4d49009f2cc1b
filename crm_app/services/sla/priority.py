"""A conversation's priority: none, low, medium, high or urgent (`domain.sla.PRIORITIES`).

Supervisors and admins set it from the inbox or the API; an SLA escalation step raises it one level. Either way the
change is recorded like every other conversation change (event, system line, audit row, live note).
"""

from __future__ import annotations

from sqlmodel import Session

from crm_app.domain.sla import PRIORITIES
from crm_app.errors import ValidationError
from crm_app.models import Conversation, ConversationEventKind
from crm_app.services.conversations import log as conversation_log
from crm_app.services.conversations.access import STAFF, access_conversation
from crm_app.services.core.actors import Actor, require_role

SETTERS = STAFF


def set_priority(session: Session, *, actor: Actor, conversation_id: int, priority: int | str) -> Conversation:
    """Give a conversation a priority (supervisors and admins).

    Args:
        session: The caller's session; nothing is committed here.
        actor: A supervisor or admin of the conversation's tenant.
        conversation_id: The conversation.
        priority: 0-4, or its name ("none", "low", "medium", "high", "urgent").

    Returns:
        The conversation.

    Raises:
        ValidationError: An unknown priority.
        Forbidden: The actor is not a supervisor or admin.
        NotFound: No such conversation in the actor's tenant.
    """
    require_role(actor, *SETTERS)
    level = level_of(priority)
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    change(session, actor, conversation, level)
    return conversation


def level_of(priority: int | str) -> int:
    """The priority's level (0-4) from a level or a name."""
    if isinstance(priority, str) and not priority.isdigit():
        if priority not in PRIORITIES:
            raise ValidationError(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
        return PRIORITIES.index(priority)
    try:
        level = int(priority)
    except (TypeError, ValueError):
        level = -1
    if not 0 <= level < len(PRIORITIES):
        raise ValidationError(f"priority must be 0-{len(PRIORITIES) - 1}", field="priority")
    return level


def change(session: Session, actor: Actor | None, conversation: Conversation, level: int,
           reason: str | None = None) -> bool:
    """Set the level and record the change (no record when it is already that level); returns whether it changed.
    `actor` None is the system (an SLA escalation, whose `reason` goes on the event)."""
    if conversation.priority == level:
        return False
    before = conversation_log.snapshot(conversation)
    old, conversation.priority = conversation.priority, level
    params = {"actor": actor.name if actor else "", "priority": PRIORITIES[level]}
    conversation_log.record_change(session, actor, conversation, ConversationEventKind.PRIORITY, action="priority",
                                   before={**before, "priority": PRIORITIES[old]}, from_value=PRIORITIES[old],
                                   to_value=PRIORITIES[level],
                                   line="inbox.system.priority" if actor else "inbox.system.priority_sla",
                                   params=params, data={"priority": PRIORITIES[level],
                                                        **({"reason": reason} if reason else {})})
    return True
