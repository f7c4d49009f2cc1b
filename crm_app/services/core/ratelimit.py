"""A per-key rate limiter in Redis, shared by every worker process."""

from __future__ import annotations

import logging
import time

from crm_app.queue import get_redis

log = logging.getLogger(__name__)


def acquire(key: str, per_second: int, *, max_wait: float = 10.0) -> bool:
    """Take one slot in the current second for `key`, waiting for the next second if it is full.

    Returns False if no slot was free within `max_wait` seconds.
    """
    redis = get_redis()
    deadline = time.monotonic() + max_wait
    while True:
        now = time.time()
        bucket = f"crm:rl:{key}:{int(now)}"
        pipe = redis.pipeline()
        pipe.incr(bucket)
        pipe.expire(bucket, 2)
        count, _ = pipe.execute()
        if count <= per_second:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(max(0.001, int(now) + 1 - now))


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
