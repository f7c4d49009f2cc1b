"""Rate limits in Redis, shared by every process: send slots per WhatsApp number, and request windows.

`take_slot` is a sliding-window limiter in one Lua script: a grant is given only while fewer than `limit`
grants were given in the last `window` seconds (by Redis's clock, the one clock every process shares), so no
sliding window ever holds more than `limit`. A token bucket or GCRA that allows a burst lets up to twice its
rate through some second (a full bucket, then its refill); Meta counts in a sliding second, so we do too.

Two lanes share a number's slots. `interactive` (attendants and the bot) may use all of them; `bulk`
(campaigns) may not use the last `reserve` of a window, so replies within the reserve never wait, and it takes
none while a refused reply is waiting (until that reply's time to come back, plus `WAITER_GRACE`). So bulk
gets at most `limit - reserve` a window, and pauses while replies exceed the reserve.
A refused caller is told how long to wait instead of being made to sleep: it re-queues itself with that delay.
Refused callers are spread out: each is given the next free place in its lane's line, one slot apart, so a
crowd of waiters does not come back all at once only to be refused again.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from crm_app.queue import get_redis

log = logging.getLogger(__name__)

INTERACTIVE = "interactive"
BULK = "bulk"
LANES = (INTERACTIVE, BULK)
# A waiter re-queued through RQ's scheduler comes back up to two seconds after its time (the delay is rounded
# up to a whole second, and due jobs are moved once a second): bulk keeps off that much longer.
WAITER_GRACE = 2.0

# KEYS: the grants (sorted set scored by grant time), until when bulk keeps off for a waiting reply, the lane's
# line (when its next waiter should come back). Times are values, not TTLs, so a test's clock drives them all.
# Every time is an integer of microseconds: Lua would hand Redis a float rounded to 14 digits (0.1 ms here),
# and a grant rounded out of the window is a grant too many.
# ARGV: lane limit, window, lane, member, now ("" = Redis TIME), spacing of the line, waiter grace.
# Returns {1, grant time} or {0, microseconds to wait}.
_TAKE_SLOT = """
local limit, window, lane, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local now = tonumber(ARGV[5])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function us(x) return string.format('%.0f', x) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', us(now - window))
local used = redis.call('ZCARD', KEYS[1])
local held_until = tonumber(redis.call('GET', KEYS[2]) or '0')
local held = lane == 'bulk' and held_until > now
if used < limit and not held then
  redis.call('ZADD', KEYS[1], us(now), member)
  redis.call('PEXPIRE', KEYS[1], us(window / 1000 + 1000))
  return {1, us(now)}
end
local free_in = 0
if limit < 1 then
  free_in = window
elseif used >= limit then
  local nth = redis.call('ZRANGE', KEYS[1], used - limit, used - limit, 'WITHSCORES')
  free_in = tonumber(nth[2]) + window - now
end
if held then
  free_in = math.max(free_in, held_until - now)
end
local line = tonumber(redis.call('GET', KEYS[3]) or '0')
local ready = math.max(now + free_in, line)
local until_back = ready + tonumber(ARGV[7])
local keep = us((until_back - now) / 1000 + 1000)
redis.call('SET', KEYS[3], us(ready + tonumber(ARGV[6])), 'PX', keep)
if lane == 'interactive' and held_until < until_back then
  redis.call('SET', KEYS[2], us(until_back), 'PX', keep)
end
return {0, us(ready - now)}
"""


@dataclass(frozen=True)
class Slot:
    """The answer of `take_slot`: a grant (at `at`, Redis time), or how long to wait before asking again."""

    granted: bool
    wait: float = 0.0
    at: float | None = None


def take_slot(key: str, limit: int, *, window: float = 1.0, lane: str = INTERACTIVE, reserve: int | None = None,
              now: float | None = None) -> Slot:
    """Take one of `limit` slots per sliding `window` seconds for `key`, or learn how long to wait.

    Args:
        key: What is limited, e.g. `wa:<phone_number_id>`.
        limit: Grants allowed in any `window`; at least 1.
        window: The sliding window in seconds.
        lane: `interactive` may use every slot; `bulk` leaves `reserve` of them and yields to waiting
            interactive callers.
        reserve: Slots per window that only `interactive` may take; a fifth of `limit` (at least 1) by default,
            and never all of them.
        now: The time in seconds, for tests; Redis's own clock otherwise, so that every process agrees.

    Returns:
        A granted `Slot`, or a refused one whose `wait` says when to come back (never 0).
    """
    if lane not in LANES:
        raise ValueError(f"unknown lane {lane!r}; choose one of {', '.join(LANES)}")
    if limit < 1 or window <= 0:
        raise ValueError("a rate limit needs a positive limit and window")
    # Bulk keeps at least one slot a window: a number limited to one send a second still sends campaigns.
    reserve = min(max(1, limit // 5) if reserve is None else reserve, limit - 1)
    lane_limit = limit if lane == INTERACTIVE else limit - max(reserve, 0)
    spacing = window / max(lane_limit, 1)
    base = f"crm:slots:{key}"
    granted, value = get_redis().eval(
        _TAKE_SLOT, 3, base, f"{base}:interactive-waiting", f"{base}:line:{lane}",
        lane_limit, _us(window), lane, uuid.uuid4().hex, "" if now is None else _us(now), _us(spacing),
        _us(WAITER_GRACE))
    if int(granted):
        return Slot(True, 0.0, int(value) / 1e6)
    return Slot(False, max(int(value), 1000) / 1e6)


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def window_hit(prefix: str, *, limit: int, window_seconds: int, now: float | None = None) -> int:
    """Count one hit under `prefix` in a fixed window shared by every process.

    Returns 0 when the hit may go on, else the seconds until the window resets. Redis trouble lets the hit
    through: a limit protects us, it must not take the app down.
    """
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    key = f"{prefix}:{window}"
    try:
        pipe = get_redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, window_seconds * 2)
        count, _ = pipe.execute()
    except Exception:
        log.warning("rate limit %s not checked: Redis unavailable", prefix.split(":")[1], exc_info=True)
        return 0
    if count <= limit:
        return 0
    return max(1, int((window + 1) * window_seconds - now + 0.999))
