"""What a bot turn does: the flow's actions (send, set an attribute, label, hand off, close) carried out
in the turn's locked transaction.

Texts of one turn go out as one message where they can (`merge_sends`); a message the channel refuses
is logged and never fails the turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, select

from crm_app.db import after_commit, insert_ignoring_conflicts, utcnow
from crm_app.domain import flows
from crm_app.domain.search import fold
from crm_app.errors import CRMError
from crm_app.models import (
    ConsentEvent,
    ConsentSource,
    Contact,
    Conversation,
    ConversationEventKind,
    ConversationLabel,
    ConversationStatus,
    Direction,
    Label,
    Message,
    MessageStatus,
    Team,
)
from crm_app.services import settings
from crm_app.services.channel import outbound
from crm_app.services.conversations import facts as analytics_facts
from crm_app.services.conversations import log as conversation_log
from crm_app.services.core import realtime
from crm_app.services.routing import handoff, queue

log = logging.getLogger(__name__)

_BODY_MAX = {"text": 4096, "buttons": 1024, "list": 4096}


def perform_actions(session: Session, conversation: Conversation, definition: dict[str, Any],
                    actions: list[flows.Action], key: str, proof: str = "") -> flows.AskAI | None:
    """Carry out a step's actions in order, in the caller's (locked) transaction.

    Args:
        session: The turn's transaction.
        conversation: The bot-owned conversation, locked.
        definition: The flow the session runs (its settings hold the out-of-hours text).
        actions: The interpreter's actions for this step.
        key: The turn's client-key prefix; each message sent gets `key-1`, `key-2`…
        proof: The customer's message this turn answers (its WhatsApp id), kept with a consent answer.

    Returns:
        The AskAI the caller must answer (the actions after it are not carried out), if any.
    """
    sends = 0

    def send_next(content: dict[str, Any]) -> None:
        nonlocal sends
        sends += 1
        send_bot_message(session, conversation, content, f"{key}-{sends}")

    actions = [_with_closed_text(session, conversation, definition, a) if isinstance(a, flows.Handoff) else a
               for a in actions]
    for action in merge_sends(actions):
        if isinstance(action, flows.AskAI):
            return action
        if isinstance(action, flows.RecordConsent):
            _record_consent(session, conversation, action, proof)
        else:
            _carry_out(session, conversation, action, send_next)
    return None


def merge_sends(actions: list[flows.Action]) -> list[flows.Action]:
    """Consecutive texts of one turn, and texts before a menu, go out as one message.

    Separate messages of a turn are delivered by parallel workers, so WhatsApp could show them out of
    order (the menu before the greeting); one message cannot be reordered, and the chat stays short.
    """
    merged: list[flows.Action] = []
    for action in _texts_first(actions):
        previous = merged[-1] if merged else None
        if isinstance(action, flows.Send) and isinstance(previous, flows.Send) \
                and previous.content.get("type") == "text" and action.content.get("type") in _BODY_MAX:
            body = f"{previous.content['body']}\n\n{action.content.get('body') or ''}"
            if len(body) <= _BODY_MAX[action.content["type"]]:
                merged[-1] = flows.Send({**action.content, "body": body})
                continue
        merged.append(action)
    return merged


def send_bot_message(session: Session, conversation: Conversation, content: dict[str, Any],
                     client_key: str) -> None:
    """Queue one bot message; a refusal (closed window, bad content) is logged, never fatal to the turn.

    Args:
        session: The turn's transaction.
        conversation: Where to send.
        content: The message content (`domain.flows` shapes).
        client_key: Makes the send idempotent when a turn runs twice.
    """
    try:  # send_message refuses before it writes anything, so no savepoint is needed (see `kick_deliveries`)
        outbound.send_message(session, actor=None, tenant_id=conversation.tenant_id,
                              conversation_id=conversation.id, content=content, client_key=client_key)
    except CRMError as exc:
        log.warning("bot message to conversation %s not queued: %s", conversation.id, exc)


def close_by_bot(session: Session, conversation: Conversation, *, line: str = "bot.system.close") -> None:
    """The bot closes the conversation: resolved by the bot unless a person took part (containment).

    Args:
        session: The turn's transaction.
        conversation: The conversation, locked; nothing happens if it is closed already.
        line: The i18n key of the system line shown in the chat.
    """
    if conversation.status == ConversationStatus.CLOSED:
        return
    before = conversation_log.snapshot(conversation)
    conversation.status, conversation.closed_at, conversation.snoozed_until = (ConversationStatus.CLOSED, utcnow(),
                                                                              None)
    conversation.resolved_by = handoff.resolved_by(session, conversation)
    conversation_log.record_change(session, None, conversation, ConversationEventKind.STATUS, action="close",
                                   before=before, from_value=before["status"], to_value="closed", line=line,
                                   params={})
    analytics_facts.note(session, conversation, "close", by="inactivity" if line.endswith("inactivity") else "bot")
    queue.after_change(session, conversation, before)  # the waiting queue and freed capacity


def kick_deliveries(session: Session, conversation_id: int) -> None:
    """Queue the delivery of every message this turn left queued, once the turn has really committed.

    `send_message` already queues each delivery after commit, but SQLAlchemy also fires "after_commit"
    when a savepoint is released (`routing.handoff.handoff` uses one), which ran those callbacks before our
    commit: the job then found no message and skipped it. Delivery jobs are idempotent, so a second
    enqueue is harmless, and this one surely runs after the commit.
    """
    session.flush()
    ids = list(session.exec(select(Message.id).where(
        Message.conversation_id == conversation_id, Message.direction == Direction.OUTBOUND,
        Message.status == MessageStatus.QUEUED)).all())
    if ids:
        after_commit(session, lambda: [outbound.enqueue_delivery(message_id) for message_id in ids])
        # For the same reason the inbox may have been told too early: tell it again, surely after commit.
        conversation = session.get(Conversation, conversation_id)
        realtime.publish_after_commit(session, conversation.tenant_id, "conversation.updated",
                                      conversation_id=conversation_id,
                                      data={"action": "bot_turn", "bot_active": conversation.bot_active,
                                            "status": str(conversation.status)})


def _carry_out(session: Session, conversation: Conversation, action: flows.Action,
               send_next: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(action, flows.Send):
        send_next(action.content)
    elif isinstance(action, flows.SetAttribute):
        _set_attribute(session, conversation, action.name, action.value)
    elif isinstance(action, flows.AddLabel):
        _add_label(session, conversation, action.label)
    elif isinstance(action, flows.Handoff):
        _handoff(session, conversation, action, send_next)
    elif isinstance(action, flows.Close):
        if action.text:
            send_next(flows.text_content(action.text))
        close_by_bot(session, conversation)


def _texts_first(actions: list[flows.Action]) -> list[flows.Action]:
    """A handoff's or close's own text as a Send before it, so it can join the turn's other texts."""
    out: list[flows.Action] = []
    for action in actions:
        if isinstance(action, flows.Handoff) and action.text:
            out += [flows.Send(flows.text_content(action.text)), flows.Handoff(action.team_id, action.reason)]
        elif isinstance(action, flows.Close) and action.text:
            out += [flows.Send(flows.text_content(action.text)), flows.Close(None)]
        else:
            out.append(action)
    return out


def _with_closed_text(session: Session, conversation: Conversation, definition: dict[str, Any],
                      action: flows.Handoff) -> flows.Handoff:
    """The handoff with the flow's out-of-hours text added when its team is closed and has no text of its
    own (routing sends the team's own text when the conversation has to wait)."""
    team = session.get(Team, action.team_id) if action.team_id is not None else None
    closed_text = (flows.settings_of(definition).get("out_of_hours_text") or "").strip()
    if team is None or team.tenant_id != conversation.tenant_id or (team.out_of_hours_message or "").strip() \
            or not closed_text or handoff.team_is_open(session, tenant_id=conversation.tenant_id, team_id=team.id):
        return action
    return flows.Handoff(action.team_id, action.reason, "\n\n".join(t for t in (action.text, closed_text) if t))


def _handoff(session: Session, conversation: Conversation, action: flows.Handoff,
             send_next: Callable[[dict[str, Any]], None]) -> None:
    """Hand over through routing's `handoff` (the texts went out before it, see `_texts_first`)."""
    if action.text:
        send_next(flows.text_content(action.text))
    team = session.get(Team, action.team_id) if action.team_id is not None else None
    team_id = team.id if team is not None and team.tenant_id == conversation.tenant_id else None
    handoff.handoff(session, tenant_id=conversation.tenant_id, conversation_id=conversation.id,
                    team_id=team_id, reason=action.reason)


def _set_attribute(session: Session, conversation: Conversation, name: str, value: Any) -> None:
    contact = session.get(Contact, conversation.contact_id)
    if contact is None:
        return
    contact.custom_attributes = {**(contact.custom_attributes or {}), name: value}
    if name == "email" and not contact.email and isinstance(value, str) and len(value) <= 254:
        contact.email = value
    session.add(contact)


def _record_consent(session: Session, conversation: Conversation, action: flows.RecordConsent, proof: str) -> None:
    """Append the customer's answer to the consent ledger (source: the bot's step), in the turn's transaction:
    the answer, its proof and the flow's move on are one write. The turn consumes its message in the same
    transaction, so a turn run again records nothing twice."""
    version = settings.value(session, "privacy.policy_version", tenant_id=conversation.tenant_id)
    session.add(ConsentEvent(tenant_id=conversation.tenant_id, contact_id=conversation.contact_id,
                             purpose=action.purpose, granted=action.granted, legal_basis="consent",
                             source=ConsentSource.BOT_STEP, policy_version=version,
                             proof=(proof or f"conversation:{conversation.id}")[:160]))


def _add_label(session: Session, conversation: Conversation, name: str) -> None:
    name = " ".join(name.split())[:60]
    labels = session.exec(select(Label).where(Label.tenant_id == conversation.tenant_id)).all()
    label = next((lb for lb in labels if fold(lb.name) == fold(name)), None)
    if label is None:
        insert_ignoring_conflicts(session, Label, {"tenant_id": conversation.tenant_id, "name": name,
                                                   "color": "gray", "created_at": utcnow()}, ["tenant_id", "name"])
        label = session.exec(select(Label).where(Label.tenant_id == conversation.tenant_id,
                                                 Label.name == name)).one()
    insert_ignoring_conflicts(session, ConversationLabel, {"tenant_id": conversation.tenant_id,
                                                           "conversation_id": conversation.id,
                                                           "label_id": label.id}, ["conversation_id", "label_id"])
