"""A per-key rate limiter in Redis, shared by every worker process."""

from __future__ import annotations

import time

from crm_app.queue import get_redis


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
