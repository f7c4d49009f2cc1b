"""Labels on conversations: the tenant's label list, and putting labels on and off a conversation."""

from __future__ import annotations

from sqlmodel import Session, select

from crm_app.db import insert_ignoring_conflicts, utcnow
from crm_app.domain.search import fold
from crm_app.errors import ValidationError
from crm_app.models import Conversation, ConversationEventKind, ConversationLabel, Label
from crm_app.services.conversations import facts, log
from crm_app.services.conversations.access import ROLES, access_conversation
from crm_app.services.core.actors import Actor, require_role

MAX_LABEL = 60


def list_labels(session: Session, *, actor: Actor) -> list[dict]:
    """The tenant's labels, by name.

    Args:
        session: The caller's session.
        actor: The acting user.

    Returns:
        One dict per label: id, name, color.
    """
    require_role(actor, *ROLES)
    labels = session.exec(select(Label).where(Label.tenant_id == actor.tenant_id).order_by(Label.name)).all()
    return [{"id": label.id, "name": label.name, "color": label.color} for label in labels]


def label_names(session: Session, conversation_id: int) -> list[str]:
    """The names of a conversation's labels, by name (no access check: the caller made it).

    Args:
        session: The caller's session.
        conversation_id: The conversation's id.

    Returns:
        The label names.
    """
    return list(session.exec(select(Label.name).join(ConversationLabel, ConversationLabel.label_id == Label.id)
                             .where(ConversationLabel.conversation_id == conversation_id).order_by(Label.name)))


def add_label(session: Session, *, actor: Actor, conversation_id: int, name: str) -> list[str]:
    """Put a label on the conversation, creating it in the tenant when new.

    Args:
        session: The caller's session.
        actor: The acting user.
        conversation_id: The conversation's id.
        name: The label's name; spaces are collapsed and case and accents ignored when matching.

    Returns:
        The conversation's labels.

    Raises:
        ValidationError: The name is empty or longer than 60 characters.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_LABEL:
        raise ValidationError(f"a label has 1 to {MAX_LABEL} characters", field="name")
    label = _find_label(session, conversation.tenant_id, name) or _create_label(session, conversation, name)
    added = insert_ignoring_conflicts(session, ConversationLabel, {
        "tenant_id": conversation.tenant_id, "conversation_id": conversation.id, "label_id": label.id},
        ["conversation_id", "label_id"])
    if added is not None:
        _record(session, actor, conversation, "label_add", label.name)
    return label_names(session, conversation.id)


def remove_label(session: Session, *, actor: Actor, conversation_id: int, name: str) -> list[str]:
    """Take a label off the conversation (the label stays in the tenant).

    Args:
        session: The caller's session.
        actor: The acting user.
        conversation_id: The conversation's id.
        name: The label's name, matched ignoring case and accents.

    Returns:
        The conversation's labels.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, lock=True)
    label = _find_label(session, conversation.tenant_id, name or "")
    link = None if label is None else session.exec(select(ConversationLabel).where(
        ConversationLabel.conversation_id == conversation.id, ConversationLabel.label_id == label.id)).first()
    if link is not None:
        session.delete(link)
        _record(session, actor, conversation, "label_remove", label.name)
        session.flush()
    return label_names(session, conversation.id)


def _find_label(session: Session, tenant_id: int, name: str) -> Label | None:
    wanted = fold(name)
    labels = session.exec(select(Label).where(Label.tenant_id == tenant_id)).all()
    return next((label for label in labels if fold(label.name) == wanted), None)


def _create_label(session: Session, conversation: Conversation, name: str) -> Label:
    """The new label; a concurrent creation of the same name wins, and is found again."""
    insert_ignoring_conflicts(session, Label, {"tenant_id": conversation.tenant_id, "name": name,
                                               "color": "gray", "created_at": utcnow()}, ["tenant_id", "name"])
    return _find_label(session, conversation.tenant_id, name)


def _record(session: Session, actor: Actor, conversation: Conversation, action: str, label: str) -> None:
    added = action == "label_add"
    facts.restate_later(session, conversation)  # the per-label rollups of its past days
    log.record_change(session, actor, conversation, ConversationEventKind.LABEL, action=action,
                      before=log.snapshot(conversation), from_value=None if added else label,
                      to_value=label if added else None, line=f"inbox.system.{action}",
                      params={"actor": actor.name, "label": label}, data={"label": label})
