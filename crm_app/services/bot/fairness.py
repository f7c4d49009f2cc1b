"""Fair bot turns: one tenant runs at most `system.bot_tenant_concurrency` turns at once
(a setting: the tenant's value, else the install's, else BOT_TENANT_CONCURRENCY), over every bot worker.

A turn's AI call may take up to the tenant's timeout. Without a cap, one tenant with a slow AI server and many
customers would fill every bot worker, and every other tenant's customers would wait behind it. So each turn
first takes a place in its tenant's semaphore (`core.semaphore`, leases in Redis: a worker that dies mid-turn
holds its place only until the lease ends). A turn that finds its tenant at the cap steps aside at once, so its
worker moves on to other tenants' turns: it joins the tenant's line, and the turn that gives a place back
queues the longest waiting one straight away. Nothing polls: a line of a hundred waiting turns costs nothing
until places free up. In case a wake-up is lost (a worker killed between giving back and queueing), every
waiting turn is also queued again by itself a little later, and asks again.
"""

from __future__ import annotations

import time

from crm_app.services import settings
from crm_app.services.bot import trigger
from crm_app.services.core import semaphore

# Longer than any turn holds its place: the largest AI deadline (120 s) plus the turn's own work.
TURN_LEASE_SECONDS = 180.0
# When a waiting turn asks again by itself, should its wake-up never come.
WAKE_FALLBACK_SECONDS = 15.0


def take_turn_slot(tenant_id: int, conversation_id: int, message_id: int | None) -> str | None:
    """A place for this turn of `tenant_id`: the lease id to give back, or None when the tenant is at its cap
    (the turn is then in the tenant's line, and also queued again a little later, see the module)."""
    waiter = f"{conversation_id}:{'' if message_id is None else message_id}"
    cap = settings.value(None, "system.bot_tenant_concurrency", tenant_id=tenant_id)  # cached: no query
    lease = semaphore.acquire(_name(tenant_id), cap,
                              lease_seconds=TURN_LEASE_SECONDS, waiter=waiter)
    if lease is None:
        trigger.enqueue_turn(conversation_id, message_id, delay=WAKE_FALLBACK_SECONDS, tag=f"capped-{time.time_ns()}")
    return lease


def give_back(tenant_id: int, lease_id: str) -> None:
    """Free the place a turn held, and queue the tenant's longest waiting turn, if any, to take it."""
    woken = semaphore.release(_name(tenant_id), lease_id)
    if woken is not None:
        conversation_id, _, message_id = woken.partition(":")
        trigger.enqueue_turn(int(conversation_id), int(message_id) if message_id else None,
                             tag=f"woken-{time.time_ns()}")


def running_turns(tenant_id: int) -> int:
    """How many of the tenant's turns hold a place now."""
    return semaphore.holders(_name(tenant_id))


def waiting_turns(tenant_id: int) -> list[str]:
    """The tenant's line ("conversation:message"), longest waiting first."""
    return semaphore.waiters(_name(tenant_id))


def _name(tenant_id: int) -> str:
    return f"bot-turns:{tenant_id}"
