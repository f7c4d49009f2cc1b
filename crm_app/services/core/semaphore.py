"""A counting semaphore in Redis whose holders hold leases, with a line of waiters woken one by one.

Each holder is a member of a sorted set scored by its lease's expiry: a holder that dies frees its place when
its lease ends. Taking a place first drops the expired leases, then adds one if fewer than `limit` are left;
a caller refused may name itself as a waiter, and joins the line (once, oldest first). Giving a place back
hands the caller the longest waiter to wake. Each step is one Lua script, so two processes never both take the
last place, and a waiter cannot join the line just after the place it needed was given back unnoticed.
Nobody waits inside this module: a refused caller is told so and decides what to do (a bot turn steps aside).
Time is Redis's own clock (the one clock every process shares) unless a test passes `now`.
"""

from __future__ import annotations

import uuid

from crm_app.queue import get_redis

KEY_PREFIX = "crm:sem:"

# KEYS: the leases (sorted set: lease id -> expiry), the line (sorted set: waiter -> time it joined).
# ARGV: limit, lease seconds, lease id, now ("" = Redis TIME), waiter ("" = none).
_TAKE = """
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local lease = tonumber(ARGV[2])
local keep = math.ceil(lease * 1000) + 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], keep)
  if ARGV[5] ~= '' then redis.call('ZREM', KEYS[2], ARGV[5]) end
  return 1
end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[2], 'NX', now, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], keep)
end
return 0
"""

# KEYS: the leases, the line. ARGV: lease id. Returns the longest waiter, or false.
_GIVE_BACK = """
redis.call('ZREM', KEYS[1], ARGV[1])
local first = redis.call('ZPOPMIN', KEYS[2])
return first[1] or false
"""


def acquire(name: str, limit: int, *, lease_seconds: float, waiter: str | None = None,
            now: float | None = None) -> str | None:
    """Take one of `limit` places of the semaphore `name` for at most `lease_seconds`.

    Args:
        name: The semaphore, e.g. `bot-turns:<tenant_id>`.
        limit: How many holders it admits at once; at least 1.
        lease_seconds: How long the place is held if it is never released (a dead holder).
        waiter: Who to put in the line when every place is taken (and to take out of it on success).
        now: The time in seconds, for tests; Redis's clock otherwise.

    Returns:
        The lease id to release with, or None when every place is taken.
    """
    if limit < 1 or lease_seconds <= 0:
        raise ValueError("a semaphore needs a positive limit and lease")
    lease_id = uuid.uuid4().hex
    taken = get_redis().eval(_TAKE, 2, KEY_PREFIX + name, _line(name), limit, lease_seconds, lease_id,
                             "" if now is None else repr(now), waiter or "")
    return lease_id if int(taken) else None


def release(name: str, lease_id: str) -> str | None:
    """Give the place back (a lease that already ended is ignored).

    Returns:
        The waiter that has waited longest, now out of the line: the caller wakes it. None if nobody waits.
    """
    woken = get_redis().eval(_GIVE_BACK, 2, KEY_PREFIX + name, _line(name), lease_id)
    return woken.decode() if isinstance(woken, bytes) else woken or None


def holders(name: str, *, now: float | None = None) -> int:
    """How many unexpired leases `name` has (for tests and health pages)."""
    at = _redis_time() if now is None else now
    return int(get_redis().zcount(KEY_PREFIX + name, f"({at!r}", "+inf"))


def waiters(name: str) -> list[str]:
    """The line, longest waiting first."""
    return [w.decode() for w in get_redis().zrange(_line(name), 0, -1)]


def _line(name: str) -> str:
    return f"{KEY_PREFIX}{name}:line"


def _redis_time() -> float:
    seconds, micros = get_redis().time()
    return seconds + micros / 1e6
