"""Reflex's opportunistic state leases, with their expiry spread out.

With `REFLEX_OPLOCK_ENABLED` (crm_app/processes.py) a web process keeps each tab's state in memory for
`REFLEX_OPLOCK_HOLD_TIME` after it took the tab's Redis lock, then writes it back and lets go. A real-time push
reaches every open inbox tab at once, so every tab takes its lease in the same few milliseconds and every lease
ran out together too: one push in every hold paid for 50 tabs' write-back and re-read at once (the slow rounds
of bench/realtime.py). Each lease here lasts a random 50–100 % of the configured hold, so the tabs drift apart
after their first push and each push re-reads only a few of them. A killed process still loses at most one
hold of tab state, and the lock expiry is unchanged.
"""

from __future__ import annotations

import random
from typing import Any

SPREAD = (0.5, 1.0)  # fractions of the configured hold


def _drawn_hold(manager: Any) -> int:
    """The hold of the lease starting now (Reflex reads `oplock_hold_time_ms` once per lease, for its timer)."""
    configured = manager.__dict__["oplock_hold_time_ms"]
    return max(1, int(configured * random.uniform(*SPREAD)))


def spread_lease_expiry(manager: Any) -> bool:
    """Give `manager` (the app's Redis state manager, opportunistic lock on) leases of random length; idempotent.

    Returns whether it applies (False for the in-memory manager of a laptop, or with the lock off).
    """
    if getattr(type(manager), "spread_hold", False):
        return True
    if "oplock_hold_time_ms" not in vars(manager) or not getattr(manager, "_oplock_enabled", False):
        return False
    base = type(manager)
    manager.__class__ = type(f"Spread{base.__name__}", (base,), {
        "__slots__": (), "spread_hold": True, "oplock_hold_time_ms": property(_drawn_hold)})
    return True
