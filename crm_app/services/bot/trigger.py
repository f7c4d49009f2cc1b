"""How the bot's turns are queued: one debounced turn per burst of customer messages, and the sweeps' catch-up.

Inbound processing starts a customer message's turn through `channel.bot_gate` (which knows each inbox's
published flow and debounce); the sweeps and retries queue theirs here.
"""

from __future__ import annotations

from crm_app.queue import get_queue
from crm_app.services.channel import bot_gate
from crm_app.services.core import jobs


def enqueue_turn(conversation_id: int, message_id: int | None, delay: float = 0) -> None:
    """Queue one turn (the `run_bot_turn` job).

    Args:
        conversation_id: The conversation whose flow takes a turn.
        message_id: With it, the turn runs only if that message is still the newest (debounce);
            None runs whatever is pending (sweeps).
        delay: Seconds to wait before the turn.
    """
    jobs.enqueue("run_bot_turn", conversation_id, message_id, delay=delay)


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
    bot_gate.forget_cached_flows()
    return len(ids)
