"""Who may see and act on a conversation.

Supervisors and admins act on any conversation of their tenant; an attendant on conversations
assigned to them, and may take over or annotate unassigned ones. A conversation assigned to another
attendant is forbidden. Executives read every conversation of their tenant (the inbox an analytics chart opens)
and act on none: only the reads (`access_conversation(..., read_only=True)`, the lists) admit them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import Session, select

from crm_app.errors import NotFound, PermissionDenied
from crm_app.models import Conversation
from crm_app.services.core.actors import Actor, fetch_owned, require_role

ROLES = ("admin", "supervisor", "attendant")
STAFF = ("admin", "supervisor")
READERS = (*ROLES, "executive")  # who may read conversations; only ROLES may change them


def is_staff(actor: Actor) -> bool:
    """Whether the actor sees and acts on every conversation of their tenant.

    Args:
        actor: The acting user.

    Returns:
        True for supervisors and admins.
    """
    return actor.role in STAFF


def reads_all(actor: Actor) -> bool:
    """Whether the actor may read every conversation of their tenant: staff, and executives (read-only).

    Args:
        actor: The acting user.

    Returns:
        True for admins, supervisors and executives.
    """
    return actor.role in (*STAFF, "executive")


def can_send(conversation: Conversation, actor: Actor) -> bool:
    """Whether `actor` may write to the customer.

    Nobody while the bot owns the conversation (take it over first: the bot and a person never answer
    at once); then staff anywhere, an attendant in their own.

    Args:
        conversation: The conversation.
        actor: The acting user.

    Returns:
        Whether a reply from the actor may go out.
    """
    if conversation.bot_active:
        return False
    if is_staff(actor):
        return True
    return actor.role == "attendant" and conversation.assignee_id == actor.user_id


def can_view(conversation: Conversation, actor: Actor) -> bool:
    """Whether the actor may open the conversation: staff, its assignee, or anyone while it is unassigned.

    Args:
        conversation: The conversation (already known to be of the actor's tenant).
        actor: The acting user.

    Returns:
        Whether the actor may see it.
    """
    return reads_all(actor) or conversation.assignee_id in (None, actor.user_id)


def viewable_by(actor: Actor) -> ColumnElement[bool]:
    """`can_view` as a SQL condition on conversations of the actor's tenant (for queries over many rows).

    Args:
        actor: The acting user.

    Returns:
        True for staff; for others, unassigned or assigned to the actor.
    """
    if reads_all(actor):
        return true()
    return or_(Conversation.assignee_id.is_(None), Conversation.assignee_id == actor.user_id)


def access_conversation(session: Session, *, actor: Actor, conversation_id: int,
                        lock: bool = False, read_only: bool = False) -> Conversation:
    """A conversation of the actor's tenant that the actor may see.

    Args:
        session: The caller's session.
        actor: The acting user.
        conversation_id: The conversation's id.
        lock: Take the row `FOR UPDATE` (for actions that change it).
        read_only: The caller only reads it: executives are admitted too (every other caller refuses them).

    Returns:
        The conversation.

    Raises:
        NotFound: It does not exist or belongs to another tenant.
        PermissionDenied: It is assigned to another attendant.
    """
    require_role(actor, *(READERS if read_only and not lock else ROLES))
    if lock:
        # populate_existing: a copy this session read earlier is refreshed as the lock found the row (a close
        # re-checks the status an inbound message may have just changed).
        conversation = session.exec(select(Conversation).where(Conversation.id == conversation_id)
                                    .with_for_update().execution_options(populate_existing=True)).first()
        if conversation is None or conversation.tenant_id != actor.tenant_id:
            raise NotFound("conversation not found")
    else:
        conversation = fetch_owned(session, Conversation, conversation_id, actor=actor, what="conversation")
    if not can_view(conversation, actor):
        raise PermissionDenied("this conversation is assigned to another attendant")
    return conversation


def require_owner(conversation: Conversation, actor: Actor) -> None:
    """Refuse an attendant who does not own the conversation (staff always pass).

    Args:
        conversation: The conversation.
        actor: The acting user.

    Raises:
        PermissionDenied: The actor must take the conversation over first.
    """
    if not is_staff(actor) and conversation.assignee_id != actor.user_id:
        raise PermissionDenied("take the conversation over first")
