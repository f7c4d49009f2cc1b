"""One bot turn: a conversation's flow reads what the customer said and acts, in one locked transaction.

How a customer message becomes one bot turn (the trigger and its debounce are in `bot.trigger`):
0. A job whose message is no longer the newest ends at once (step 1); any other takes one of its tenant's
   places (`bot.fairness`). At the tenant's cap the turn waits in the tenant's line, woken when a place
   frees up, so one tenant's slow AI never holds every bot worker.
1. The `run_bot_turn(conversation_id, message_id)` job of a message that is no longer the newest one
   does nothing: a burst becomes the one turn of its last message's job.
2. The turn locks the conversation and the `BotSession` row FOR UPDATE, re-checks that the bot still
   owns the conversation, consumes every customer message with id > `last_message_id`, runs the
   interpreter (`domain.flows`), queues the replies with client keys derived from session and turn
   (`bot.actions`), and commits it all at once. A job that runs twice finds nothing left to consume; two
   workers serialise on the locks. A takeover commits either before the turn (the bot sees it and stays
   silent) or after it.
3. An AI node commits the turn first, asks `bot.ai.answer` with no transaction open (the tenant's timeout
   bounds the whole call), then resumes in a second locked transaction (re-checking the owner again).
4. PostgreSQL stays the truth: `bot.sweeps` re-queues conversations whose customer messages were never
   consumed (a delayed job Redis lost), and closes the ones that went quiet (`expire_session`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import insert_ignoring_conflicts, session_scope, utcnow
from crm_app.domain import consent as consent_rules
from crm_app.domain import flows
from crm_app.models import (
    BotFlowVersion,
    BotSession,
    Contact,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Direction,
    Message,
    MessageKind,
    SenderType,
)
from crm_app.services import settings
from crm_app.services.bot import actions, ai, fairness
from crm_app.services.channel import bot_gate
from crm_app.services.routing import handoff

# An AI answer still due after this long had its worker die mid-call: ask again.
AI_STALE = dt.timedelta(minutes=3)  # longer than the largest AI timeout (120 s)
HISTORY_MESSAGES = 8
IGNORED_KINDS = (MessageKind.SYSTEM, MessageKind.REACTION)  # never a customer's say in the flow


@dataclass(frozen=True)
class _PendingAI:
    """A committed turn that waits for an AI answer (asked with no transaction open)."""

    tenant_id: int
    conversation_id: int
    question: str
    turn: int
    history: list[tuple[str, str]] = field(default_factory=list)


def run_turn(conversation_id: int, message_id: int | None = None) -> str:
    """One debounced turn of the conversation's flow (the `run_bot_turn` job), within its tenant's cap.

    Args:
        conversation_id: The bot-owned conversation.
        message_id: The customer message whose job this is; the turn is left to a newer message's job.
            None (sweeps) consumes whatever is pending.

    Returns:
        What happened, as the job's result ("silent", "debounced", "capped", "turn 3: …"…).
    """
    tenant_id, superseded = _tenant_and_newer(conversation_id, message_id)
    if tenant_id is None:
        return "silent"
    if superseded:
        return "debounced"  # a later message's job runs this turn: no place taken for nothing
    lease = fairness.take_turn_slot(tenant_id, conversation_id, message_id)
    if lease is None:  # the tenant's other turns fill its places: it waits in line, this worker serves others
        return "capped"
    try:
        return _run_turn(conversation_id, message_id)
    finally:
        fairness.give_back(tenant_id, lease)


def _tenant_and_newer(conversation_id: int, message_id: int | None) -> tuple[int | None, bool]:
    """The conversation's tenant (None: it is gone), and whether the bot owns it and a newer customer message
    than `message_id` came in: that message's own job runs the turn (the debounce, checked again under the
    locks in `_turn`). A conversation people own still runs `_turn`, which records that the bot is out."""
    newer = sa.literal(False)
    if message_id is not None:
        newer = sa.and_(Conversation.bot_active.is_(True), Conversation.status != ConversationStatus.CLOSED,
                        sa.exists().where(
                            Message.conversation_id == conversation_id, Message.direction == Direction.INBOUND,
                            Message.sender_type == SenderType.CUSTOMER, Message.kind.not_in(list(IGNORED_KINDS)),
                            Message.id > message_id))
    with session_scope() as session:
        row = session.exec(select(Conversation.tenant_id, newer).where(Conversation.id == conversation_id)).first()
    return (row[0], bool(row[1])) if row else (None, False)


def _run_turn(conversation_id: int, message_id: int | None) -> str:
    with session_scope() as session:
        result = _turn(session, conversation_id, message_id)
    if not isinstance(result, _PendingAI):
        return result
    answer = ai.answer(tenant_id=result.tenant_id, conversation_id=conversation_id, question=result.question,
                       history=result.history)
    with session_scope() as session:
        return _resume(session, result, answer)


def expire_session(conversation_id: int, now: dt.datetime) -> bool:
    """Close a conversation whose customer went quiet while the bot waited, with the flow's inactivity text.

    Args:
        conversation_id: A conversation whose bot session was due to expire.
        now: The sweep's time; a session due later (the customer answered meanwhile) is left alone.

    Returns:
        Whether it closed the conversation.
    """
    with session_scope() as session:
        conversation, bot_session = _lock(session, conversation_id)
        if bot_session is None or bot_session.expires_at is None or bot_session.expires_at >= now:
            return False
        bot_session.expires_at = None
        if conversation is None or not _bot_may_speak(conversation) or bot_session.status != "active":
            return False
        if _unconsumed(session, conversation.id, bot_session.last_message_id):
            return False  # the customer did answer; their turn is on its way
        _, definition = _session_flow(session, conversation, bot_session)
        turn = _next_turn(bot_session)
        text = flows.settings_of(definition or {})["inactivity_text"]
        if text:
            idle_key = f"bot-{bot_session.id}-{turn}-idle"
            actions.send_bot_message(session, conversation, flows.text_content(text), idle_key)
        actions.close_by_bot(session, conversation, line="bot.system.inactivity")
        actions.kick_deliveries(session, conversation.id)
        bot_session.status, bot_session.variables = "expired", {**(bot_session.variables or {}), "turn": turn}
        bot_session.updated_at = now
    return True


def reply_id_of(message: Message) -> str | None:
    """The id of the button or list row a customer tapped (interactive replies and template buttons)."""
    payload = message.payload or {}
    interactive = payload.get("interactive") or {}
    reply = interactive.get(interactive.get("type") or "") or {}
    if reply.get("id"):
        return str(reply["id"])
    button = payload.get("button") or {}
    return str(button["payload"]) if button.get("payload") else None


def _lock(session: Session, conversation_id: int) -> tuple[Conversation | None, BotSession | None]:
    """The conversation and its bot session, both locked FOR UPDATE (the session is created if missing)."""
    conversation = session.exec(select(Conversation).where(Conversation.id == conversation_id)
                                .with_for_update()).first()
    if conversation is None:
        return None, None
    session.refresh(conversation)
    insert_ignoring_conflicts(session, BotSession, {
        "tenant_id": conversation.tenant_id, "conversation_id": conversation.id, "status": "new", "retries": 0,
        "variables": {}, "last_activity_at": utcnow(), "updated_at": utcnow()}, ["conversation_id"])
    bot_session = session.exec(select(BotSession).where(BotSession.conversation_id == conversation.id)
                               .with_for_update()).one()
    session.refresh(bot_session)
    return conversation, bot_session


def _bot_may_speak(conversation: Conversation) -> bool:
    return conversation.bot_active and conversation.status != ConversationStatus.CLOSED


def _turn(session: Session, conversation_id: int, newest: int | None) -> str | _PendingAI:
    conversation, bot_session = _lock(session, conversation_id)
    if conversation is None or not _bot_may_speak(conversation):
        if bot_session is not None and bot_session.status in ("active", "idle"):
            bot_session.status, bot_session.expires_at = "handoff", None  # people own it now
        return "silent"
    if bot_session.status in ("active", "idle") and _reopened_since(session, conversation.id,
                                                                    bot_session.last_activity_at):
        bot_session.status = "closed"  # closed by people and reopened by the customer: a new episode
    version_id, definition = _session_flow(session, conversation, bot_session)
    if definition is None:
        return "no-flow"
    unread = _unconsumed(session, conversation.id, bot_session.last_message_id)
    if newest is not None and unread and unread[-1].id > newest:
        return "debounced"  # a later message's job runs this turn
    if not unread:
        return _retry_ai(conversation, bot_session, _state_of(bot_session))
    answers = _without_opt_outs(session, conversation.tenant_id, unread)
    if not answers:  # only opt-out words: compliance answered them; they are no answer to a menu
        bot_session.last_message_id = unread[-1].id
        return "opt-out"
    state, burst = _episode(bot_session, definition, version_id, answers)
    step = _advance_burst(definition, state, burst, _context(session, conversation))
    bot_session.last_message_id = unread[-1].id
    answer = answers[-1]
    return _finish(session, conversation, bot_session, definition, step, _next_turn(bot_session),
                   proof=answer.wa_message_id or f"message:{answer.id}")


def _episode(bot_session: BotSession, definition: dict[str, Any], version_id: int | None,
             unread: list[Message]) -> tuple[flows.FlowState, list[Message]]:
    """The state this turn starts from and the messages it reads: a session that ended, or whose flow was
    published anew, starts over."""
    if bot_session.status not in ("new", "handoff", "closed", "expired") and bot_session.flow_version_id == version_id:
        return _state_of(bot_session), unread
    state = flows.start_session(definition, trigger="new_conversation", text=_text_of(unread[-1]))
    # A reopened conversation: what was said to people earlier is not for the bot.
    burst = unread if bot_session.status == "new" else unread[-1:]
    bot_session.flow_version_id = version_id
    return state, burst


def _reopened_since(session: Session, conversation_id: int, since: dt.datetime) -> bool:
    """Whether the conversation was closed and opened again after `since`."""
    return session.exec(select(ConversationEvent.id).where(
        ConversationEvent.conversation_id == conversation_id, ConversationEvent.kind == ConversationEventKind.STATUS,
        ConversationEvent.from_value == ConversationStatus.CLOSED.value, ConversationEvent.to_value == "open",
        ConversationEvent.created_at > since).limit(1)).first() is not None


def _session_flow(session: Session, conversation: Conversation,
                  bot_session: BotSession) -> tuple[int | None, dict[str, Any] | None]:
    """The flow this session runs: its pinned version while active, else the inbox's published one."""
    published_id, published = bot_gate.published_flow(session, conversation.inbox_id)
    if bot_session.status == "active" and bot_session.flow_version_id and bot_session.flow_version_id != published_id:
        pinned = session.get(BotFlowVersion, bot_session.flow_version_id)
        if pinned is not None:
            return pinned.id, pinned.definition
    return published_id, published


def _unconsumed(session: Session, conversation_id: int, after: int | None) -> list[Message]:
    return list(session.exec(select(Message).where(
        Message.conversation_id == conversation_id, Message.direction == Direction.INBOUND,
        Message.sender_type == SenderType.CUSTOMER, Message.kind.not_in(list(IGNORED_KINDS)),
        Message.id > (after or 0)).order_by(Message.id)).all())


def _without_opt_outs(session: Session, tenant_id: int, unread: list[Message]) -> list[Message]:
    words = settings.value(session, "privacy.opt_out_keywords", tenant_id=tenant_id)
    return [m for m in unread if not (m.kind == "text" and consent_rules.is_opt_out(m.body, words))]


def _text_of(message: Message) -> str:
    return (message.body or "").strip()


def _advance_burst(definition: dict[str, Any], state: flows.FlowState, burst: list[Message],
                   ctx: flows.FlowContext) -> flows.Step:
    """One turn for a burst: the messages read together; if that is not understood, the newest one alone
    that is (customers often greet, then answer: "oi" + "2")."""
    reply_id = next((r for r in (reply_id_of(m) for m in reversed(burst)) if r), None)
    joined = " ".join(_text_of(m) for m in burst if _text_of(m))
    step = flows.advance(definition, state, text=joined, reply_id=reply_id, ctx=ctx)
    if len(burst) > 1 and step.state.retries > state.retries:
        for message in reversed(burst):
            alone = flows.advance(definition, state, text=_text_of(message), reply_id=reply_id, ctx=ctx)
            if alone.state.retries <= state.retries:
                return alone
    return step


def _context(session: Session, conversation: Conversation) -> flows.FlowContext:
    contact = session.get(Contact, conversation.contact_id)
    attributes = dict(contact.custom_attributes or {}) if contact else {}
    if contact is not None and contact.email:
        attributes.setdefault("email", contact.email)
    tenant_id = conversation.tenant_id
    return flows.FlowContext(now=utcnow(), attributes=attributes, is_open=lambda team_id: handoff.team_is_open(
        session, tenant_id=tenant_id, team_id=team_id))


def _state_of(bot_session: BotSession) -> flows.FlowState:
    return flows.FlowState.from_dict({**(bot_session.variables or {}).get("flow", {}),
                                      "node_id": bot_session.node_id, "retries": bot_session.retries})


def _next_turn(bot_session: BotSession) -> int:
    """Turn numbers only grow, even across fresh sessions, so client keys never repeat."""
    return int((bot_session.variables or {}).get("turn") or 0) + 1


def _finish(session: Session, conversation: Conversation, bot_session: BotSession, definition: dict[str, Any],
            step: flows.Step, turn: int, suffix: str = "", proof: str = "") -> str | _PendingAI:
    """Carry out a step's actions and store the new state, in the caller's (locked) transaction."""
    key = f"bot-{bot_session.id}-{turn}{suffix}"
    ask = actions.perform_actions(session, conversation, definition, step.actions, key, proof)
    _save(bot_session, step.state, definition, turn)
    actions.kick_deliveries(session, conversation.id)
    if ask is not None and conversation.bot_active:
        return _PendingAI(conversation.tenant_id, conversation.id, ask.question, turn, _history(session, conversation))
    return f"turn {turn}: {len(step.actions)} actions, {step.state.status} at {step.state.node_id}"


def _save(bot_session: BotSession, state: flows.FlowState, definition: dict[str, Any], turn: int) -> None:
    now = utcnow()
    minutes = int(flows.settings_of(definition)["inactivity_minutes"])
    bot_session.node_id, bot_session.retries = state.node_id, state.retries
    bot_session.status = state.status
    bot_session.variables = {"flow": state.to_dict(), "turn": turn}
    bot_session.expires_at = now + dt.timedelta(minutes=minutes) if state.waiting_for_input else None
    bot_session.last_activity_at = bot_session.updated_at = now


def _retry_ai(conversation: Conversation, bot_session: BotSession, state: flows.FlowState) -> str | _PendingAI:
    """Nothing new from the customer; but an AI answer whose worker died is asked again (by the sweeper)."""
    if state.ai_question and bot_session.last_activity_at < utcnow() - AI_STALE:
        bot_session.last_activity_at = utcnow()  # the retry is under way: the next sweeps leave it alone
        turn = int((bot_session.variables or {}).get("turn") or 0)
        return _PendingAI(conversation.tenant_id, conversation.id, state.ai_question, turn, [])
    return "nothing-new"


def _history(session: Session, conversation: Conversation) -> list[tuple[str, str]]:
    rows = session.exec(select(Message.direction, Message.body).where(
        Message.conversation_id == conversation.id, Message.kind.not_in(list(IGNORED_KINDS)),
        Message.body.is_not(None)).order_by(Message.id.desc()).limit(HISTORY_MESSAGES + 1)).all()
    lines = [("customer" if d == Direction.INBOUND else "assistant", b) for d, b in reversed(rows)]
    return lines[-HISTORY_MESSAGES - 1:-1]  # the newest is (part of) the question itself


def _resume(session: Session, pending: _PendingAI, answer: Any) -> str:
    """Second half of an AI turn: re-lock, re-check the owner and the question, then send or hand off."""
    conversation, bot_session = _lock(session, pending.conversation_id)
    if conversation is None or not _bot_may_speak(conversation):
        return "silent"
    state = _state_of(bot_session)
    if state.ai_question != pending.question or int((bot_session.variables or {}).get("turn") or 0) != pending.turn:
        return "stale"  # another turn moved the session on meanwhile
    _, definition = _session_flow(session, conversation, bot_session)
    if definition is None:
        return "no-flow"
    ok = answer.outcome == "ok" and bool(answer.text)
    step = flows.resume_after_ai(definition, state, ok=ok, text=answer.text if ok else None,
                                 outcome=answer.outcome, ctx=_context(session, conversation))
    result = _finish(session, conversation, bot_session, definition, step, pending.turn, suffix="-ai")
    return result if isinstance(result, str) else "ai-again"
