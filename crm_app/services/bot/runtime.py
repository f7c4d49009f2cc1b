"""The bot at run time (turns, AI answers, handoff, inactivity), the flow CRUD, and the editor's test chat.

How a customer message becomes one bot turn:
1. Inbound processing calls `on_customer_message` inside its transaction; after commit it queues
   `run_bot_turn(conversation_id, message_id)` with RQ's `enqueue_in` (the bulk worker runs RQ's
   scheduler), `debounce_seconds` later, under a job id per message.
2. The job of a message that is no longer the newest one does nothing: a burst becomes the one turn
   of its last message's job (a trailing debounce that needs no clock).
3. The turn locks the conversation and the `BotSession` row FOR UPDATE, re-checks that the bot still
   owns the conversation, consumes every customer message with id > `last_message_id`, runs the
   interpreter (`domain.flows`), queues the replies with client keys derived from session and turn, and
   commits it all at once. A job that runs twice finds nothing left to consume; two workers serialise on
   the locks. A takeover commits either before the turn (the bot sees it and stays silent) or after it.
4. An AI node commits the turn first, asks `services.ai.answer` with no transaction open, then resumes
   in a second locked transaction (re-checking the owner again).
5. PostgreSQL stays the truth: `sweep_bot_turns` re-queues conversations whose customer messages were
   never consumed (a delayed job Redis lost), and `expire_bot_sessions` closes the ones that went quiet.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import after_commit, insert_ignoring_conflicts, session_scope, utcnow
from crm_app.domain import flows
from crm_app.errors import CRMError, NotFound, ValidationError
from crm_app.models import (
    BotFlow,
    BotFlowVersion,
    BotSession,
    Contact,
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationLabel,
    ConversationStatus,
    Direction,
    Inbox,
    Label,
    Message,
    MessageKind,
    MessageStatus,
    SenderType,
    Team,
    User,
)
from crm_app.queue import get_queue, get_redis
from crm_app.services.core import audit, jobs, realtime
from crm_app.services.core.actors import Actor, fetch_owned, require_role

log = logging.getLogger(__name__)

# The sweeper takes over a turn whose delayed job has not run this long after the customer's last message
# (longer than the longest debounce the validator allows, 60 s, so it never cuts a burst short).
SWEEP_GRACE = dt.timedelta(seconds=75)
SWEEP_WINDOW = dt.timedelta(hours=6)
# An AI answer still due after this long had its worker die mid-call: ask again.
AI_STALE = dt.timedelta(minutes=3)  # longer than the largest AI timeout (120 s)
MAX_DEFINITION_CHARS = 200_000
HISTORY_MESSAGES = 8
_IGNORED_KINDS = (MessageKind.SYSTEM, MessageKind.REACTION)
_FLOW_CACHE_SECONDS = 10.0
_flow_cache: dict[int, tuple[float, int | None, int]] = {}


# ---- the trigger -------------------------------------------------------------------------------------------

def schedule_turn(conversation_id: int, message_id: int, inbox_id: int | None = None) -> str:
    """A customer wrote in a bot-owned conversation (the `start_bot_turn` job): queue its debounced turn."""
    delay = _debounce_for(conversation_id, inbox_id)
    if delay is None:
        return "no published flow"
    enqueue_turn(conversation_id, message_id, delay)
    return f"turn in {delay} s"


def enqueue_turn(conversation_id: int, message_id: int | None, delay: float = 0) -> None:
    """Queue one turn; with `message_id`, it runs only if that message is still the newest (debounce)."""
    jobs.enqueue("run_bot_turn", conversation_id, message_id, delay=delay)


FLOW_GENERATION_KEY = "crm:bot:flow-generation"


def _generation() -> int:
    """Bumped in Redis by every publish, so each process's cache of published flows drops at once."""
    return int(get_redis().get(FLOW_GENERATION_KEY) or 0)


def _bump_generation() -> None:
    try:
        get_redis().incr(FLOW_GENERATION_KEY)
    except Exception as exc:  # the cache still expires on its own
        log.warning("could not bump the flow generation: %s", type(exc).__name__)


def _debounce_for(conversation_id: int, inbox_id: int | None) -> int | None:
    """The published flow's debounce in seconds, or None when the inbox has no published flow.

    Cached per inbox for a few seconds and per publish generation: most inbound messages then cost no query.
    """
    now, generation = time.monotonic(), _generation()
    cached = _flow_cache.get(inbox_id) if inbox_id is not None else None
    if cached is not None and cached[0] > now and cached[2] == generation:
        return cached[1]
    with session_scope() as session:
        if inbox_id is None:
            inbox_id = session.exec(select(Conversation.inbox_id).where(Conversation.id == conversation_id)).first()
        definition = _published(session, inbox_id)[1] if inbox_id is not None else None
    delay = None if definition is None else int(flows.settings_of(definition)["debounce_seconds"])
    if inbox_id is not None:
        _flow_cache[inbox_id] = (now + _FLOW_CACHE_SECONDS, delay, generation)
    return delay


def _published(session: Session, inbox_id: int) -> tuple[int | None, dict[str, Any] | None]:
    """(version id, definition) of the inbox's published flow, or (None, None)."""
    row = session.exec(select(BotFlowVersion.id, BotFlowVersion.definition).join(
        BotFlow, sa.and_(BotFlow.id == BotFlowVersion.flow_id, BotFlow.published_version == BotFlowVersion.version))
        .where(BotFlow.inbox_id == inbox_id)).first()
    return (row[0], row[1]) if row else (None, None)


# ---- one turn ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _PendingAI:
    """A committed turn that waits for an AI answer (asked with no transaction open)."""

    tenant_id: int
    conversation_id: int
    question: str
    turn: int
    history: list[tuple[str, str]] = field(default_factory=list)


def run_turn(conversation_id: int, message_id: int | None = None) -> str:
    """The job: one debounced turn of the conversation's flow. Returns what happened (job result)."""
    with session_scope() as session:
        result = _turn(session, conversation_id, message_id)
    if not isinstance(result, _PendingAI):
        return result
    from crm_app.services.bot import ai

    answer = ai.answer(tenant_id=result.tenant_id, conversation_id=conversation_id, question=result.question,
                       history=result.history)
    with session_scope() as session:
        return _resume(session, result, answer)


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
    state = _state_of(bot_session)
    if not unread:
        return _retry_ai(conversation, bot_session, state)
    burst = unread
    if bot_session.status in ("new", "handoff", "closed", "expired") or bot_session.flow_version_id != version_id:
        state = flows.start_session(definition, trigger="new_conversation", text=_text_of(unread[-1]))
        if bot_session.status != "new":
            burst = unread[-1:]  # a reopened conversation: what was said to people earlier is not for the bot
        bot_session.flow_version_id = version_id
    ctx = _context(session, conversation)
    step = _advance_burst(definition, state, burst, ctx)
    bot_session.last_message_id = unread[-1].id
    return _finish(session, conversation, bot_session, definition, step, _next_turn(bot_session))


def _reopened_since(session: Session, conversation_id: int, since: dt.datetime) -> bool:
    """Whether the conversation was closed and opened again after `since`."""
    return session.exec(select(ConversationEvent.id).where(
        ConversationEvent.conversation_id == conversation_id, ConversationEvent.kind == ConversationEventKind.STATUS,
        ConversationEvent.from_value == ConversationStatus.CLOSED.value, ConversationEvent.to_value == "open",
        ConversationEvent.created_at > since).limit(1)).first() is not None


def _session_flow(session: Session, conversation: Conversation,
                  bot_session: BotSession) -> tuple[int | None, dict[str, Any] | None]:
    """The flow this session runs: its pinned version while active, else the inbox's published one."""
    published_id, published = _published(session, conversation.inbox_id)
    if bot_session.status == "active" and bot_session.flow_version_id and bot_session.flow_version_id != published_id:
        pinned = session.get(BotFlowVersion, bot_session.flow_version_id)
        if pinned is not None:
            return pinned.id, pinned.definition
    return published_id, published


def _unconsumed(session: Session, conversation_id: int, after: int | None) -> list[Message]:
    return list(session.exec(select(Message).where(
        Message.conversation_id == conversation_id, Message.direction == Direction.INBOUND,
        Message.sender_type == SenderType.CUSTOMER, Message.kind.not_in(list(_IGNORED_KINDS)),
        Message.id > (after or 0)).order_by(Message.id)).all())


def _text_of(message: Message) -> str:
    return (message.body or "").strip()


def reply_id_of(message: Message) -> str | None:
    """The id of the button or list row a customer tapped (interactive replies and template buttons)."""
    payload = message.payload or {}
    interactive = payload.get("interactive") or {}
    reply = interactive.get(interactive.get("type") or "") or {}
    if reply.get("id"):
        return str(reply["id"])
    button = payload.get("button") or {}
    return str(button["payload"]) if button.get("payload") else None


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
    from crm_app.services.routing import assignment

    contact = session.get(Contact, conversation.contact_id)
    attributes = dict(contact.custom_attributes or {}) if contact else {}
    if contact is not None and contact.email:
        attributes.setdefault("email", contact.email)
    tenant_id = conversation.tenant_id
    return flows.FlowContext(now=utcnow(), attributes=attributes, is_open=lambda team_id: assignment.team_is_open(
        session, tenant_id=tenant_id, team_id=team_id))


def _state_of(bot_session: BotSession) -> flows.FlowState:
    return flows.FlowState.from_dict({**(bot_session.variables or {}).get("flow", {}),
                                      "node_id": bot_session.node_id, "retries": bot_session.retries})


def _next_turn(bot_session: BotSession) -> int:
    """Turn numbers only grow, even across fresh sessions, so client keys never repeat."""
    return int((bot_session.variables or {}).get("turn") or 0) + 1


def _finish(session: Session, conversation: Conversation, bot_session: BotSession, definition: dict[str, Any],
            step: flows.Step, turn: int, suffix: str = "") -> str | _PendingAI:
    """Carry out a step's actions and store the new state, in the caller's (locked) transaction."""
    ask = _perform(session, conversation, bot_session, definition, step.actions, f"bot-{bot_session.id}-{turn}{suffix}")
    _save(bot_session, step.state, definition, turn)
    _kick_deliveries(session, conversation.id)
    if ask is not None and conversation.bot_active:
        return _PendingAI(conversation.tenant_id, conversation.id, ask.question, turn, _history(session, conversation))
    return f"turn {turn}: {len(step.actions)} actions, {step.state.status} at {step.state.node_id}"


def _kick_deliveries(session: Session, conversation_id: int) -> None:
    """Queue the delivery of every message this turn left queued, once the turn has really committed.

    `send_message` already queues each delivery after commit, but SQLAlchemy also fires "after_commit"
    when a savepoint is released (`assignment.handoff` uses one), which ran those callbacks before our
    commit: the job then found no message and skipped it. Delivery jobs are idempotent, so a second
    enqueue is harmless, and this one surely runs after the commit.
    """
    from crm_app.services.channel import outbound

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
        Message.conversation_id == conversation.id, Message.kind.not_in(list(_IGNORED_KINDS)),
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


# ---- actions ---------------------------------------------------------------------------------------------------

def _perform(session: Session, conversation: Conversation, bot_session: BotSession, definition: dict[str, Any],
             actions: list[flows.Action], key: str) -> flows.AskAI | None:
    """Carry out actions in order; returns the AskAI the caller must answer, if any."""
    sends = 0

    def send(content: dict[str, Any]) -> None:
        nonlocal sends
        sends += 1
        _send(session, conversation, content, f"{key}-{sends}")

    actions = [_with_closed_text(session, conversation, definition, a) if isinstance(a, flows.Handoff) else a
               for a in actions]
    for action in merge_sends(actions):
        if isinstance(action, flows.Send):
            send(action.content)
        elif isinstance(action, flows.SetAttribute):
            _set_attribute(session, conversation, action.name, action.value)
        elif isinstance(action, flows.AddLabel):
            _add_label(session, conversation, action.label)
        elif isinstance(action, flows.AskAI):
            return action
        elif isinstance(action, flows.Handoff):
            _handoff(session, conversation, definition, action, send)
        elif isinstance(action, flows.Close):
            if action.text:
                send(flows.text_content(action.text))
            close_by_bot(session, conversation)
    return None


_BODY_MAX = {"text": 4096, "buttons": 1024, "list": 4096}


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


def _send(session: Session, conversation: Conversation, content: dict[str, Any], client_key: str) -> None:
    """Queue one bot message; a refusal (closed window, bad content) is logged, never fatal to the turn."""
    from crm_app.services.channel import outbound

    try:  # send_message refuses before it writes anything, so no savepoint is needed (see `_kick_deliveries`)
        outbound.send_message(session, actor=None, tenant_id=conversation.tenant_id,
                              conversation_id=conversation.id, content=content, client_key=client_key)
    except CRMError as exc:
        log.warning("bot message to conversation %s not queued: %s", conversation.id, exc)


def _with_closed_text(session: Session, conversation: Conversation, definition: dict[str, Any],
                      action: flows.Handoff) -> flows.Handoff:
    """The handoff with the flow's out-of-hours text added when its team is closed and has no text of its
    own (assignment sends the team's own text when the conversation has to wait)."""
    from crm_app.services.routing import assignment

    team = session.get(Team, action.team_id) if action.team_id is not None else None
    closed_text = (flows.settings_of(definition).get("out_of_hours_text") or "").strip()
    if team is None or team.tenant_id != conversation.tenant_id or (team.out_of_hours_message or "").strip() \
            or not closed_text or assignment.team_is_open(session, tenant_id=conversation.tenant_id, team_id=team.id):
        return action
    return flows.Handoff(action.team_id, action.reason, "\n\n".join(t for t in (action.text, closed_text) if t))


def _handoff(session: Session, conversation: Conversation, definition: dict[str, Any], action: flows.Handoff,
             send) -> None:
    """Hand over through `assignment.handoff` (the texts went out before it, see `_texts_first`)."""
    from crm_app.services.routing import assignment

    if action.text:
        send(flows.text_content(action.text))
    team = session.get(Team, action.team_id) if action.team_id is not None else None
    team_id = team.id if team is not None and team.tenant_id == conversation.tenant_id else None
    assignment.handoff(session, tenant_id=conversation.tenant_id, conversation_id=conversation.id,
                       team_id=team_id, reason=action.reason)


def _set_attribute(session: Session, conversation: Conversation, name: str, value: Any) -> None:
    contact = session.get(Contact, conversation.contact_id)
    if contact is None:
        return
    contact.custom_attributes = {**(contact.custom_attributes or {}), name: value}
    if name == "email" and not contact.email and isinstance(value, str) and len(value) <= 254:
        contact.email = value
    session.add(contact)


def _add_label(session: Session, conversation: Conversation, name: str) -> None:
    from crm_app.domain.search import fold

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


def close_by_bot(session: Session, conversation: Conversation, *, line: str = "bot.system.close") -> None:
    """The bot closes the conversation: resolved by the bot unless a person took part (containment)."""
    from crm_app.services.inbox import actions as inbox_actions
    from crm_app.services.routing import assignment

    if conversation.status == ConversationStatus.CLOSED:
        return
    before = inbox_actions._state(conversation)
    conversation.status, conversation.closed_at, conversation.snoozed_until = (ConversationStatus.CLOSED, utcnow(),
                                                                              None)
    conversation.resolved_by = assignment.resolved_by(session, conversation)
    inbox_actions._record(session, None, conversation, before, action="close", kind=ConversationEventKind.STATUS,
                  from_value=before["status"], to_value="closed", line=line, params={})


# ---- sweeps ----------------------------------------------------------------------------------------------------

def sweep_bot_turns(now: dt.datetime | None = None) -> int:
    """Queue a turn for bot-owned conversations whose customer messages were never consumed (a lost job),
    and for AI answers whose worker died. Returns how many turns it queued."""
    now = now or utcnow()
    c, b, m = Conversation.__table__.c, BotSession.__table__.c, Message.__table__.c
    flow = BotFlow.__table__.c
    unconsumed = sa.exists().where(m.conversation_id == c.id, m.direction == Direction.INBOUND,
                                   m.sender_type == SenderType.CUSTOMER, m.kind.not_in(list(_IGNORED_KINDS)),
                                   m.id > sa.func.coalesce(b.last_message_id, 0))
    query = (sa.select(c.id).select_from(Conversation.__table__.outerjoin(BotSession.__table__,
                                                                           b.conversation_id == c.id)
                                         .join(BotFlow.__table__, flow.inbox_id == c.inbox_id))
             .where(c.bot_active.is_(True), c.status != ConversationStatus.CLOSED, flow.published_version > 0,
                    c.last_customer_message_at > now - SWEEP_WINDOW,
                    c.last_customer_message_at < now - SWEEP_GRACE, unconsumed)
             .limit(200))
    stale_ai = (sa.select(b.conversation_id).where(b.status == "active", b.last_activity_at < now - AI_STALE,
                                                   b.variables["flow"]["ai_question"].as_string().is_not(None))
                .limit(50))
    with session_scope() as session:
        ids = set(session.exec(query).scalars().all()) | set(session.exec(stale_ai).scalars().all())
    for conversation_id in sorted(ids):
        enqueue_turn(conversation_id, None)
    return len(ids)


def expire_bot_sessions(now: dt.datetime | None = None) -> int:
    """Close conversations whose customer went quiet while the bot waited (with the inactivity text)."""
    now = now or utcnow()
    with session_scope() as session:
        due = session.exec(select(BotSession.conversation_id).where(
            BotSession.status == "active", BotSession.expires_at.is_not(None), BotSession.expires_at < now)
            .limit(200)).all()
    return sum(1 for conversation_id in due if _expire(conversation_id, now))


def _expire(conversation_id: int, now: dt.datetime) -> bool:
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
            _send(session, conversation, flows.text_content(text), f"bot-{bot_session.id}-{turn}-idle")
        close_by_bot(session, conversation, line="bot.system.inactivity")
        _kick_deliveries(session, conversation.id)
        bot_session.status, bot_session.variables = "expired", {**(bot_session.variables or {}), "turn": turn}
        bot_session.updated_at = now
    return True


# ---- flow CRUD -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlowView:
    """One inbox's flow as the editor shows it."""

    inbox_id: int
    draft: dict[str, Any]
    published_version: int
    draft_updated_at: dt.datetime | None


@dataclass(frozen=True)
class VersionRow:
    """A published version."""

    version: int
    published_at: dt.datetime
    published_by: str


class FlowInvalid(ValidationError):
    """The draft has problems; `problems` lists them (codes the editor translates)."""

    code = "flow_invalid"

    def __init__(self, problems: list[flows.FlowProblem]) -> None:
        super().__init__("the flow has problems: " + "; ".join(
            f"{p.code}{' at ' + p.node_id if p.node_id else ''}" for p in problems[:5]))
        self.problems = problems


def _flow_row(session: Session, actor: Actor, inbox_id: int, *, lock: bool = False) -> tuple[Inbox, BotFlow | None]:
    inbox = fetch_owned(session, Inbox, inbox_id, actor=actor, what="inbox")
    query = select(BotFlow).where(BotFlow.inbox_id == inbox.id)
    return inbox, session.exec(query.with_for_update() if lock else query).first()


def get_flow(session: Session, *, actor: Actor, inbox_id: int) -> FlowView:
    """The inbox's draft (an empty flow when none was saved) and its published version number."""
    require_role(actor, "admin")
    inbox, flow = _flow_row(session, actor, inbox_id)
    if flow is None:
        return FlowView(inbox.id, flows.empty_flow(), 0, None)
    return FlowView(inbox.id, flow.draft or flows.empty_flow(), flow.published_version, flow.draft_updated_at)


def save_draft(session: Session, *, actor: Actor, inbox_id: int, definition: dict[str, Any]) -> FlowView:
    """Store the draft (any state of editing; validation happens at publish)."""
    import json

    require_role(actor, "admin")
    if not isinstance(definition, dict) or len(json.dumps(definition, ensure_ascii=False)) > MAX_DEFINITION_CHARS:
        raise ValidationError("the flow must be a JSON object of at most 200 KB", field="definition")
    inbox, flow = _flow_row(session, actor, inbox_id, lock=True)
    if flow is None:
        flow = BotFlow(tenant_id=inbox.tenant_id, inbox_id=inbox.id, draft={})
    flow.draft, flow.draft_updated_at, flow.draft_updated_by_user_id = definition, utcnow(), actor.user_id
    session.add(flow)
    session.flush()
    audit.record(session, actor=actor, tenant_id=inbox.tenant_id, action="bot_flow.save_draft",
                 target_type="inbox", target_id=inbox.id, after={"nodes": len(definition.get("nodes") or {})})
    return FlowView(inbox.id, flow.draft, flow.published_version, flow.draft_updated_at)


def publish(session: Session, *, actor: Actor, inbox_id: int) -> VersionRow:
    """Publish the saved draft as a new version; refused (FlowInvalid) when `validate_flow` finds problems."""
    require_role(actor, "admin")
    inbox, flow = _flow_row(session, actor, inbox_id, lock=True)
    if flow is None:
        raise ValidationError("save a draft first")
    problems = flows.validate_flow(flow.draft)
    if problems:
        raise FlowInvalid(problems)
    number = flow.published_version + 1
    version = BotFlowVersion(tenant_id=inbox.tenant_id, flow_id=flow.id, version=number, definition=flow.draft,
                             published_by_user_id=actor.user_id)
    flow.published_version = number
    session.add_all([version, flow])
    session.flush()
    audit.record(session, actor=actor, tenant_id=inbox.tenant_id, action="bot_flow.publish", target_type="inbox",
                 target_id=inbox.id, before={"version": number - 1}, after={"version": number})
    _flow_cache.pop(inbox.id, None)
    after_commit(session, _bump_generation)
    return VersionRow(number, version.published_at, actor.name)


def list_versions(session: Session, *, actor: Actor, inbox_id: int) -> list[VersionRow]:
    """Published versions, newest first."""
    require_role(actor, "admin")
    _, flow = _flow_row(session, actor, inbox_id)
    if flow is None:
        return []
    publisher = User.id == BotFlowVersion.published_by_user_id
    rows = session.exec(select(BotFlowVersion, User.name).outerjoin(User, publisher)
                        .where(BotFlowVersion.flow_id == flow.id).order_by(BotFlowVersion.version.desc())).all()
    return [VersionRow(v.version, v.published_at, name or "") for v, name in rows]


def seed_flow(session: Session, *, tenant_id: int, inbox_id: int, definition: dict[str, Any]) -> bool:
    """Store and publish `definition` for an inbox that has no flow yet (demo seeding). Whether it did."""
    if session.exec(select(BotFlow.id).where(BotFlow.inbox_id == inbox_id)).first() is not None:
        return False
    problems = flows.validate_flow(definition)
    if problems:
        raise FlowInvalid(problems)
    flow = BotFlow(tenant_id=tenant_id, inbox_id=inbox_id, draft=definition, published_version=1)
    session.add(flow)
    session.flush()
    session.add(BotFlowVersion(tenant_id=tenant_id, flow_id=flow.id, version=1, definition=definition))
    session.flush()
    _flow_cache.pop(inbox_id, None)
    after_commit(session, _bump_generation)
    return True


def forget_scheduled_turns() -> int:
    """Drop every delayed turn from RQ's scheduled registry (tests; an operator resetting Redis state)."""
    from rq.registry import ScheduledJobRegistry

    queue = get_queue(jobs.spec("run_bot_turn").queue)
    registry = ScheduledJobRegistry(queue=queue)
    ids = registry.get_job_ids()
    for job_id in ids:
        registry.remove(job_id, delete_job=True)
    _flow_cache.clear()
    return len(ids)


# ---- the editor's test chat ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SimLine:
    """One line of a simulated chat: what the customer or the bot said, or what the bot did."""

    kind: str  # customer, bot, handoff, close, set_attribute, label, ai, error
    text: str = ""
    node_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    choices: list[dict[str, str]] = field(default_factory=list)
    button_label: str = ""
    team_id: int | None = None
    reason: str = ""
    attribute: str = ""
    value: str = ""
    label: str = ""


def simulate(session: Session, *, actor: Actor, definition: dict[str, Any],
             transcript: list[dict[str, Any]]) -> list[SimLine]:
    """Replay `transcript` ([{"text"}, {"reply_id", "text"}…]) against `definition`; nothing is sent.

    The bot speaks first (as for a new conversation). AI nodes ask the tenant's AI for real.
    """
    from crm_app.services.routing import assignment

    require_role(actor, "admin")
    hours: dict[int | None, bool] = {}

    def is_open(team_id: int | None) -> bool:
        # Short sessions of its own, cached per team: `session` never opens a transaction that would sit idle
        # through the AI calls below (each up to the tenant's timeout).
        if team_id not in hours:
            with session_scope() as own:
                hours[team_id] = assignment.team_is_open(own, tenant_id=actor.tenant_id, team_id=team_id)
        return hours[team_id]

    ctx = flows.FlowContext(now=utcnow(), is_open=is_open)
    lines: list[SimLine] = []
    state = flows.start_session(definition, trigger="new_conversation")
    state = _sim_step(definition, flows.advance(definition, state, text=None, reply_id=None, ctx=ctx), lines, actor,
                      ctx)
    for entry in transcript or []:
        if state.ended:
            break
        text, reply_id = str(entry.get("text") or ""), entry.get("reply_id") or None
        lines.append(SimLine("customer", text, state.node_id, dict(state.attributes)))
        if state.status == "idle" and not flows.keyword_trigger(definition, text):
            continue
        step = flows.advance(definition, state, text=text, reply_id=reply_id, ctx=ctx)
        state = _sim_step(definition, step, lines, actor, ctx)
    return lines


def _sim_step(definition: dict[str, Any], step: flows.Step, lines: list[SimLine], actor: Actor,
              ctx: flows.FlowContext) -> flows.FlowState:
    state = step.state
    for action in step.actions:
        if isinstance(action, flows.AskAI):
            answer = _sim_ai(actor.tenant_id, action.question)
            ok = answer.outcome == "ok" and bool(answer.text)
            lines.append(SimLine("ai", f"IA: {answer.outcome}", state.node_id, dict(state.attributes)))
            resumed = flows.resume_after_ai(definition, state, ok=ok, text=answer.text if ok else None,
                                            outcome=answer.outcome, ctx=ctx)
            return _sim_step(definition, resumed, lines, actor, ctx)
        lines.append(_sim_line(action, state))
    return state


def _sim_line(action: flows.Action, state: flows.FlowState) -> SimLine:
    base = {"node_id": state.node_id, "variables": dict(state.attributes)}
    if isinstance(action, flows.Send):
        content = action.content
        choices = [{"id": b[0], "label": b[1]} for b in content.get("buttons") or []]
        for section in content.get("sections") or []:
            choices.extend({"id": r["id"], "label": r["title"]} for r in section.get("rows") or [])
        return SimLine("bot", str(content.get("body") or ""), choices=choices,
                       button_label=str(content.get("button_label") or ""), **base)
    if isinstance(action, flows.SetAttribute):
        return SimLine("set_attribute", attribute=action.name, value=str(action.value), **base)
    if isinstance(action, flows.AddLabel):
        return SimLine("label", label=action.label, **base)
    if isinstance(action, flows.Handoff):
        return SimLine("handoff", action.text or "", team_id=action.team_id, reason=action.reason, **base)
    return SimLine("close", getattr(action, "text", None) or "", **base)


_sim_answers: dict[tuple[int, str], tuple[float, Any]] = {}


def _sim_ai(tenant_id: int, question: str):
    """The tenant's AI for the test chat; answers are kept a few minutes, since the chat is replayed per input."""
    from crm_app.services.bot import ai

    key = (tenant_id, question)
    cached = _sim_answers.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    answer = ai.answer(tenant_id=tenant_id, conversation_id=None, question=question)
    if len(_sim_answers) > 500:
        _sim_answers.clear()
    _sim_answers[key] = (time.monotonic() + 300, answer)
    return answer


def flow_of_conversation(session: Session, *, conversation_id: int) -> dict[str, Any] | None:
    """The published definition a conversation's inbox runs (support and tests)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation not found")
    return _published(session, conversation.inbox_id)[1]
