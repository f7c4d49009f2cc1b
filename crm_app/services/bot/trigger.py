"""How the bot's turns are queued: one debounced turn per burst of customer messages, the sweeps' catch-up, and
turns queued again because their tenant was at its concurrency cap (`bot.fairness`).

Inbound processing starts a customer message's turn through `channel.bot_gate` (which knows each inbox's
published flow and debounce); the sweeps and retries queue theirs here.
"""

from __future__ import annotations

from crm_app.queue import get_queue
from crm_app.services.channel import bot_gate
from crm_app.services.core import jobs


def enqueue_turn(conversation_id: int, message_id: int | None, delay: float = 0, tag: str | None = None) -> None:
    """Queue one turn (the `run_bot_turn` job).

    Args:
        conversation_id: The conversation whose flow takes a turn.
        message_id: With it, the turn runs only if that message is still the newest (debounce);
            None runs whatever is pending (sweeps).
        delay: Seconds to wait before the turn.
        tag: Makes the job id new, for a turn queued again while its first job is still running (the cap,
            `bot.fairness`).
    """
    jobs.enqueue("run_bot_turn", conversation_id, message_id, delay=delay, tag=tag)


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
