"""Whether an inbox's bot takes a customer message, and after how long: the gate inbound passes through.

An inbox whose bot has a published flow takes each customer message of a bot-owned conversation as a
debounced turn: once the message is committed, `run_bot_turn(conversation_id, message_id)` is queued
`debounce_seconds` later (RQ's `enqueue_in`; the `bot` queue's worker moves delayed jobs). A turn whose
message is no longer the newest does nothing, so a burst becomes one turn. An inbox with no published flow
costs nothing: the answer is cached per process for a few seconds and per publish generation, a counter in
Redis that every publish bumps, so every process drops its cache at once.

It lives in `channel`, below the bot, so that inbound processing starts turns by job name and never
imports the bot.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import after_commit, session_scope
from crm_app.domain import flows
from crm_app.models import BotFlow, BotFlowVersion, Conversation
from crm_app.queue import get_redis
from crm_app.services.core import jobs

log = logging.getLogger(__name__)

FLOW_GENERATION_KEY = "crm:bot:flow-generation"
_FLOW_CACHE_SECONDS = 10.0
_flow_cache: dict[int, tuple[float, int | None, int]] = {}


def start_turn_after_commit(session: Session, *, conversation_id: int, message_id: int, inbox_id: int) -> None:
    """Once `session` commits, queue the debounced bot turn of a customer message (if the inbox has a flow).

    Args:
        session: The inbound transaction that stored the message.
        conversation_id: The bot-owned conversation.
        message_id: The customer's message; its turn runs only if it is still the newest then.
        inbox_id: The conversation's inbox.
    """
    after_commit(session, lambda: _start_turn(conversation_id, message_id, inbox_id))


def _start_turn(conversation_id: int, message_id: int, inbox_id: int) -> None:
    delay = debounce_for(conversation_id, inbox_id)
    if delay is not None:
        jobs.enqueue("run_bot_turn", conversation_id, message_id, delay=delay)


def debounce_for(conversation_id: int, inbox_id: int | None) -> int | None:
    """The published flow's debounce in seconds, or None when the inbox has no published flow.

    Args:
        conversation_id: The conversation (to find its inbox when `inbox_id` is None).
        inbox_id: The inbox, when known.

    Returns:
        Seconds, or None.
    """
    now, generation = time.monotonic(), _generation()
    cached = _flow_cache.get(inbox_id) if inbox_id is not None else None
    if cached is not None and cached[0] > now and cached[2] == generation:
        return cached[1]
    with session_scope() as session:
        if inbox_id is None:
            inbox_id = session.exec(select(Conversation.inbox_id).where(Conversation.id == conversation_id)).first()
        definition = published_flow(session, inbox_id)[1] if inbox_id is not None else None
    delay = None if definition is None else int(flows.settings_of(definition)["debounce_seconds"])
    if inbox_id is not None:
        _flow_cache[inbox_id] = (now + _FLOW_CACHE_SECONDS, delay, generation)
    return delay


def published_flow(session: Session, inbox_id: int) -> tuple[int | None, dict[str, Any] | None]:
    """The inbox's published flow, read from the database (never cached).

    Args:
        session: An open session.
        inbox_id: The inbox.

    Returns:
        (version id, definition), or (None, None) when the inbox has published nothing.
    """
    row = session.exec(select(BotFlowVersion.id, BotFlowVersion.definition).join(
        BotFlow, sa.and_(BotFlow.id == BotFlowVersion.flow_id, BotFlow.published_version == BotFlowVersion.version))
        .where(BotFlow.inbox_id == inbox_id)).first()
    return (row[0], row[1]) if row else (None, None)


def forget_published_flow(session: Session, inbox_id: int) -> None:
    """Drop the inbox's cached flow here at once, and in every process once `session` commits.

    Args:
        session: The transaction that publishes a flow.
        inbox_id: The inbox whose flow changes.
    """
    _flow_cache.pop(inbox_id, None)
    after_commit(session, _bump_generation)


def forget_cached_flows() -> None:
    """Drop this process's whole cache (tests; an operator resetting Redis state)."""
    _flow_cache.clear()


def _generation() -> int:
    return int(get_redis().get(FLOW_GENERATION_KEY) or 0)


def _bump_generation() -> None:
    try:
        get_redis().incr(FLOW_GENERATION_KEY)
    except Exception as exc:  # the cache still expires on its own
        log.warning("could not bump the flow generation: %s", type(exc).__name__)
