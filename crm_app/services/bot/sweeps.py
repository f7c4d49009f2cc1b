"""PostgreSQL stays the truth of the bot: periodic sweeps catch up what Redis or a worker lost.

`sweep_bot_turns` re-queues turns whose delayed job never ran (and AI answers whose worker died), and
`expire_bot_sessions` closes the conversations whose customer stopped answering the bot.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import select

from crm_app.db import session_scope, utcnow
from crm_app.models import BotFlow, BotSession, Conversation, ConversationStatus, Direction, Message, SenderType
from crm_app.services.bot import runtime, trigger

# The sweeper takes over a turn whose delayed job has not run this long after the customer's last message
# (longer than the longest debounce the validator allows, 60 s, so it never cuts a burst short).
SWEEP_GRACE = dt.timedelta(seconds=75)
SWEEP_WINDOW = dt.timedelta(hours=6)


def sweep_bot_turns(now: dt.datetime | None = None) -> int:
    """Queue a turn for bot-owned conversations whose customer messages were never consumed (a lost job),
    and for AI answers whose worker died.

    Args:
        now: The sweep's time (tests); defaults to now.

    Returns:
        How many turns it queued.
    """
    now = now or utcnow()
    with session_scope() as session:
        ids = set(session.exec(_unconsumed_query(now)).scalars().all()) \
            | set(session.exec(_stale_ai_query(now)).scalars().all())
    for conversation_id in sorted(ids):
        trigger.enqueue_turn(conversation_id, None)
    return len(ids)


def expire_bot_sessions(now: dt.datetime | None = None) -> int:
    """Close conversations whose customer went quiet while the bot waited (with the inactivity text).

    Args:
        now: The sweep's time (tests); defaults to now.

    Returns:
        How many conversations it closed.
    """
    now = now or utcnow()
    with session_scope() as session:
        due = session.exec(select(BotSession.conversation_id).where(
            BotSession.status == "active", BotSession.expires_at.is_not(None), BotSession.expires_at < now)
            .limit(200)).all()
    return sum(1 for conversation_id in due if runtime.expire_session(conversation_id, now))


def _unconsumed_query(now: dt.datetime) -> sa.Select:
    """Bot-owned conversations of inboxes with a published flow whose recent customer messages wait unread."""
    c, b, m = Conversation.__table__.c, BotSession.__table__.c, Message.__table__.c
    flow = BotFlow.__table__.c
    unconsumed = sa.exists().where(m.conversation_id == c.id, m.direction == Direction.INBOUND,
                                   m.sender_type == SenderType.CUSTOMER, m.kind.not_in(list(runtime.IGNORED_KINDS)),
                                   m.id > sa.func.coalesce(b.last_message_id, 0))
    return (sa.select(c.id).select_from(Conversation.__table__.outerjoin(BotSession.__table__,
                                                                          b.conversation_id == c.id)
                                        .join(BotFlow.__table__, flow.inbox_id == c.inbox_id))
            .where(c.bot_active.is_(True), c.status != ConversationStatus.CLOSED, flow.published_version > 0,
                   c.last_customer_message_at > now - SWEEP_WINDOW,
                   c.last_customer_message_at < now - SWEEP_GRACE, unconsumed)
            .limit(200))


def _stale_ai_query(now: dt.datetime) -> sa.Select:
    """Active sessions still waiting for an AI answer long after the call should have ended."""
    b = BotSession.__table__.c
    return (sa.select(b.conversation_id).where(b.status == "active", b.last_activity_at < now - runtime.AI_STALE,
                                               b.variables["flow"]["ai_question"].as_string().is_not(None))
            .limit(50))
