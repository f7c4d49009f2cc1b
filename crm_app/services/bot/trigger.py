"""What starts a bot turn: the debounce after a customer message, and the published flow each inbox runs.

Inbound processing queues the `start_bot_turn` job (on `high`) after its commit; that job calls `schedule_turn`,
which queues `run_bot_turn(conversation_id, message_id)` with RQ's `enqueue_in` (the `bot` queue's worker
moves delayed jobs), `debounce_seconds` later, under a job id per message. The job of a message that is no
longer the newest one does nothing, so a burst becomes the one turn of its last message's job (a
trailing debounce that needs no clock).

Which inboxes have a published flow, and their debounce, is cached per process for a few seconds and
per publish generation: a counter in Redis that every publish bumps, so every process drops its cache.
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
from crm_app.queue import get_queue, get_redis
from crm_app.services.core import jobs

log = logging.getLogger(__name__)

FLOW_GENERATION_KEY = "crm:bot:flow-generation"
_FLOW_CACHE_SECONDS = 10.0
_flow_cache: dict[int, tuple[float, int | None, int]] = {}


def schedule_turn(conversation_id: int, message_id: int, inbox_id: int | None = None) -> str:
    """Queue the debounced turn of a customer message in a bot-owned conversation (the `start_bot_turn` job).

    Args:
        conversation_id: The conversation the customer wrote in.
        message_id: The customer's message; its turn runs only if it is still the newest one then.
        inbox_id: The conversation's inbox, when the caller knows it (saves a query).

    Returns:
        What happened, as the job's result.
    """
    delay = _debounce_for(conversation_id, inbox_id)
    if delay is None:
        return "no published flow"
    enqueue_turn(conversation_id, message_id, delay)
    return f"turn in {delay} s"


def enqueue_turn(conversation_id: int, message_id: int | None, delay: float = 0) -> None:
    """Queue one turn (the `run_bot_turn` job).

    Args:
        conversation_id: The conversation whose flow takes a turn.
        message_id: With it, the turn runs only if that message is still the newest (debounce);
            None runs whatever is pending (sweeps).
        delay: Seconds to wait before the turn.
    """
    jobs.enqueue("run_bot_turn", conversation_id, message_id, delay=delay)


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


def forget_scheduled_turns() -> int:
    """Drop every delayed turn from RQ's scheduled registry (tests; an operator resetting Redis state).

    Returns:
        How many delayed turns it dropped.
    """
    from rq.registry import ScheduledJobRegistry

    queue = get_queue(jobs.spec("run_bot_turn").queue)
    registry = ScheduledJobRegistry(queue=queue)
    ids = registry.get_job_ids()
    for job_id in ids:
        registry.remove(job_id, delete_job=True)
    _flow_cache.clear()
    return len(ids)


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
        definition = published_flow(session, inbox_id)[1] if inbox_id is not None else None
    delay = None if definition is None else int(flows.settings_of(definition)["debounce_seconds"])
    if inbox_id is not None:
        _flow_cache[inbox_id] = (now + _FLOW_CACHE_SECONDS, delay, generation)
    return delay
