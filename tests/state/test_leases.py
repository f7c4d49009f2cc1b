"""The web process's state leases end at spread-out times (crm_app/state/leases.py), so one push does not find
every tab's lease run out at once."""

from __future__ import annotations

from redis.asyncio import Redis
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.redis import StateManagerRedis

from crm_app.state.leases import SPREAD, spread_lease_expiry
from tests.conftest import REDIS_URL


def _redis_manager(oplock: bool) -> StateManagerRedis:
    manager = StateManagerRedis(redis=Redis.from_url(REDIS_URL), oplock_hold_time_ms=8000)
    manager._oplock_enabled = oplock
    return manager


def test_each_lease_draws_its_own_hold_within_the_spread():
    manager = _redis_manager(oplock=True)
    assert manager.oplock_hold_time_ms == 8000  # Reflex's own: every lease 8 s, all ending together
    assert spread_lease_expiry(manager) and spread_lease_expiry(manager)  # idempotent
    holds = [manager.oplock_hold_time_ms for _ in range(200)]
    assert all(8000 * SPREAD[0] <= h <= 8000 * SPREAD[1] for h in holds)
    assert len(set(holds)) > 100  # drawn again each time, not once
    assert max(holds) < manager.lock_expiration  # never past Redis's lock expiry
    assert isinstance(manager, StateManagerRedis)


def test_no_change_without_the_opportunistic_lock_or_redis():
    manager = _redis_manager(oplock=False)
    assert not spread_lease_expiry(manager) and manager.oplock_hold_time_ms == 8000
    assert not spread_lease_expiry(StateManagerMemory())
