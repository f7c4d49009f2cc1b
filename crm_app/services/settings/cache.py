"""The per-process cache of stored setting values, and how a change reaches every other process.

A change, after its commit, writes a new random token under one Redis key. Each process looks at that key at
most every `CHECK_SECONDS`; when the token differs from the one its cache was filled under, it forgets
everything and reads PostgreSQL again. So a warm read costs no query (and one Redis GET per half second), and
another process sees a change within `CHECK_SECONDS` plus one read. A token, not a counter: a Redis that lost
its data (it may: PostgreSQL is the truth) never hands back a number a process already saw.

Without Redis, the cache still forgets everything every `CHECK_SECONDS`, so a change is late by at most that.
And whatever Redis says, nothing is kept longer than `MAX_AGE_SECONDS`: a change whose publication failed
(Redis answered the readers but not the writer) still reaches every process within that.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from crm_app.queue import get_redis

log = logging.getLogger(__name__)

VERSION_KEY = "crm:settings:version"
CHECK_SECONDS = 0.5
MAX_AGE_SECONDS = 60.0
UNKNOWN = "?"  # the version while Redis cannot be asked

# Stored values of one scope: {key: decoded value}; scope None is the install's global values.
Values = dict[str, Any]


class ProcessCache:
    """Stored values per scope, valid while the shared version token is unchanged."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._scopes: dict[int | None, Values] = {}
        self._version: str | None = None
        self._checked_at = float("-inf")
        self._cleared_at = clock()

    def get(self, tenant_id: int | None) -> Values | None:
        """The stored values of a scope, or None when they must be read again."""
        self._refresh()
        with self._lock:
            return self._scopes.get(tenant_id)

    def put(self, tenant_id: int | None, values: Values, *, version: str | None) -> None:
        """Keep a scope's values read under `version` (as `current_version` said before the read)."""
        with self._lock:
            if version == self._version and version != UNKNOWN:
                self._scopes[tenant_id] = values
            elif version == UNKNOWN and self._version == UNKNOWN:
                self._scopes[tenant_id] = values  # kept until the next check, CHECK_SECONDS at most

    def current_version(self) -> str | None:
        """The version the cache holds now; pass it to `put` with what is read afterwards."""
        self._refresh()
        with self._lock:
            return self._version

    def forget(self) -> None:
        """Drop everything, and look at the shared version again at the next read."""
        with self._lock:
            self._scopes.clear()
            self._version = None
            self._checked_at = float("-inf")

    def _refresh(self) -> None:
        now = self._clock()
        with self._lock:
            if now - self._checked_at < CHECK_SECONDS:
                return
        version = read_version()
        with self._lock:
            self._checked_at = now
            if version != self._version or version == UNKNOWN or now - self._cleared_at >= MAX_AGE_SECONDS:
                self._scopes.clear()
                self._version, self._cleared_at = version, now


def read_version() -> str | None:
    """The shared version token (None before any change), or UNKNOWN when Redis does not answer."""
    try:
        raw = get_redis().get(VERSION_KEY)
    except Exception:  # Redis down: the cache expires by time instead
        log.warning("settings cache: Redis unavailable, values are re-read every %ss", CHECK_SECONDS)
        return UNKNOWN
    return raw.decode() if isinstance(raw, bytes) else raw


def publish_change() -> None:
    """Tell every process (this one included) that stored values changed; call after commit.

    Redis first, then this process: forgetting first would let another thread of this process re-read the old
    token and keep values it read before the commit under it.
    """
    try:
        get_redis().set(VERSION_KEY, uuid.uuid4().hex)
    except Exception:  # the others notice within MAX_AGE_SECONDS (or CHECK_SECONDS if they lost Redis too)
        log.warning("settings cache: change not published, Redis unavailable")
    CACHE.forget()


CACHE = ProcessCache()
