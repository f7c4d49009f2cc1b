"""The bot hands a conversation to people: business hours, the handoff itself, and who resolved it."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlmodel import Session, func, select

from crm_app.db import utcnow
from crm_app.domain import business_hours
from crm_app.errors import NotFound
from crm_app.i18n import translate
from crm_app.models import (
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Message,
    SenderType,
    Team,
    Tenant,
)
from crm_app.services.conversations import facts as analytics_facts
from crm_app.services.conversations import log as conversation_log
from crm_app.services.routing import queue, telling
from crm_app.services.settings.calendar import tenant_calendar

log = logging.getLogger(__name__)

MAX_REASON = 40


@dataclass(frozen=True)
class HandoffResult:
    """Who got the conversation (None: it waits), its place in the queue (1-based; None when assigned),
    and whether the team was outside business hours (the customer then got the team's out-of-hours text)."""

    assignee_id: int | None
    queue_position: int | None
    out_of_hours: bool = False


def team_is_open(session: Session, *, tenant_id: int, team_id: int | None, now: dt.datetime | None = None) -> bool:
    """Whether a team is inside its business hours.

    Args:
        session: The caller's session.
        tenant_id: The tenant.
        team_id: The team; None, a missing team or another tenant's counts as open.
        now: The moment to check (default: now).

    Returns:
        Whether the team is open.
    """
    if team_id is None:
        return True
    team = session.get(Team, team_id)
    if team is None or team.tenant_id != tenant_id:
        return True
    tz = team.timezone or _tenant(session, tenant_id, "timezone", business_hours.DEFAULT_TIMEZONE)
    calendar = tenant_calendar(tenant_id, team=team, session=session)  # national, state, municipal, team's days
    return business_hours.is_open(team.business_hours, calendar, tz, now or utcnow())


def _tenant(session: Session, tenant_id: int, attribute: str, default: str) -> str:
    tenant = session.get(Tenant, tenant_id)
    return getattr(tenant, attribute) if tenant else default


def handoff(session: Session, *, tenant_id: int, conversation_id: int, team_id: int | None,
            reason: str) -> HandoffResult:
    """The bot hands the conversation to people, in the caller's transaction.

    The bot goes quiet, the reason and moment are recorded (event, system line, audit, live note), then the
    conversation goes to a free member of the team and the customer is told who (`telling.assigned_text`), or it waits
    in its queue and the customer is told their place (or, outside business hours, the team's out-of-hours
    message). Either text is queued after the turn's own texts, so the customer reads them in that order. A
    team of another tenant, or one that no longer exists, is treated as no team: the customer must never be
    left with nobody.

    Args:
        session: The caller's session.
        tenant_id: The conversation's tenant.
        conversation_id: The conversation.
        team_id: The team to hand to, or None for every attendant.
        reason: Why (a code such as "exit_keyword", or a flow author's text; cut to 40 characters).

    Returns:
        Who got it, or its place in the queue.

    Raises:
        NotFound: The conversation does not exist in this tenant.
    """
    conversation = session.exec(select(Conversation).where(Conversation.id == conversation_id)
                                .with_for_update()).first()
    if conversation is None or conversation.tenant_id != tenant_id:
        raise NotFound("conversation not found")
    team = queue.lock_pool(session, tenant_id, team_id)
    now = utcnow()
    _record_handoff(session, conversation, team, (reason or "handoff").strip()[:MAX_REASON] or "handoff", now)
    if conversation.assignee_id is not None:  # a person already owns it: they keep it
        conversation.queued_at = None
        return HandoffResult(conversation.assignee_id, None)
    user = queue.pick(session, tenant_id, team)
    if user is not None:
        queue.give(session, conversation, user, via="handoff")
        text = telling.assigned_text(session, conversation.tenant_id, team, user.name)
        telling.tell_customer(session, conversation, text)
        return HandoffResult(user.id, None)
    return _wait(session, conversation, team, now)


def _record_handoff(session: Session, conversation: Conversation, team: Team | None, reason: str,
                    now: dt.datetime) -> None:
    """The bot goes quiet (a closed conversation opens again); event, line, audit, live note and queue."""
    before = conversation_log.snapshot(conversation)
    conversation.bot_active, conversation.handoff_reason, conversation.handoff_at = False, reason, now
    conversation.first_reply_at = None  # `send_message` sets it again on the first human reply after this handoff
    conversation.team_id = team.id if team else None
    if conversation.status == ConversationStatus.CLOSED:
        conversation.status, conversation.closed_at, conversation.resolved_by = ConversationStatus.OPEN, None, None
    conversation_log.record_change(
        session, None, conversation, ConversationEventKind.BOT_HANDOFF, action="handoff", before=before,
        from_value="bot", to_value=conversation.team_id, line="assignment.system.handoff",
        params={"team": team.name if team else conversation_log.NO_TEAM, "reason": reason},
        data={"reason": reason, "team_id": conversation.team_id})
    analytics_facts.note(session, conversation, "handoff", at=now, team_id=conversation.team_id, reason=reason)
    queue.after_change(session, conversation, before)


def _wait(session: Session, conversation: Conversation, team: Team | None, now: dt.datetime) -> HandoffResult:
    """Nobody is free: the conversation waits; the customer learns their place or that the team is closed."""
    conversation.queued_at = conversation.queued_at or now
    session.add(conversation)
    position = queue.queue_position(session, conversation)
    open_now = team_is_open(session, tenant_id=conversation.tenant_id, team_id=team.id if team else None, now=now)
    if not open_now and team is not None and (team.out_of_hours_message or "").strip():
        telling.tell_customer(session, conversation, team.out_of_hours_message.strip())
    else:
        lang = _tenant(session, conversation.tenant_id, "locale", "pt-BR")
        text = translate(lang, "assignment.queue_position").format(position=position)
        telling.tell_customer(session, conversation, text)
    return HandoffResult(None, position, out_of_hours=not open_now)


def resolved_by(session: Session, conversation: Conversation) -> str:
    """Who resolved a conversation being closed, for the containment metric.

    Args:
        session: The caller's session.
        conversation: The conversation.

    Returns:
        "human" if a person owned or answered it since it was last reopened, else "bot".
    """
    if conversation.assignee_id is not None:
        return "human"
    # A reopened conversation starts a new episode: only what happened since the last reopening counts.
    since = session.exec(select(func.max(ConversationEvent.created_at)).where(
        ConversationEvent.conversation_id == conversation.id, ConversationEvent.kind == ConversationEventKind.STATUS,
        ConversationEvent.from_value == ConversationStatus.CLOSED.value, ConversationEvent.to_value == "open")).one()
    since = since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    owned = session.exec(select(ConversationEvent.id).where(
        ConversationEvent.conversation_id == conversation.id, ConversationEvent.created_at >= since,
        ConversationEvent.kind.in_([ConversationEventKind.ASSIGNMENT, ConversationEventKind.TAKEOVER,
                                    ConversationEventKind.TRANSFER]),
        ConversationEvent.to_value.is_not(None)).limit(1)).first()
    if owned is not None:
        return "human"
    answered = session.exec(select(Message.id).where(Message.conversation_id == conversation.id,
                                                     Message.created_at >= since,
                                                     Message.sender_type == SenderType.ATTENDANT).limit(1)).first()
    return "human" if answered is not None else "bot"
