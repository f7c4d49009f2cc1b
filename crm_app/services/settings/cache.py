"""The per-process cache of stored setting values, and how a change reaches every other process.

A change, after its commit, writes a new random token under one Redis key. In each process a daemon thread reads
that key every `CHECK_SECONDS` (`VersionWatch`); a read of the cache only compares the token the thread last heard
with the one its values were filled under, and when they differ, forgets everything and reads PostgreSQL again. So
no request ever waits on Redis for a setting (a Redis that hangs stalls the thread, not the event loop), a warm
read costs no query, and another process sees a change within about two `CHECK_SECONDS`. A token, not a counter: a
Redis that lost its data (it may: PostgreSQL is the truth) never hands back a number a process already saw.

When the thread has not heard from Redis for `STALE_SECONDS`, the token counts as unknown and the cache forgets
everything every `CHECK_SECONDS`, so a change is late by at most that. And whatever Redis says, nothing is kept
longer than `MAX_AGE_SECONDS`: a change whose publication failed (Redis answered the readers but not the writer)
still reaches every process within that.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from crm_app.queue import get_redis

log = logging.getLogger(__name__)

VERSION_KEY = "crm:settings:version"
CHECK_SECONDS = 0.5
STALE_SECONDS = 1.5  # the watcher's last answer older than this (Redis hangs): the token is unknown
MAX_AGE_SECONDS = 60.0
UNKNOWN = "?"  # the version while Redis cannot be asked

# Stored values of one scope: {key: decoded value}; scope None is the install's global values.
Values = dict[str, Any]


class VersionWatch:
    """The shared version token as Redis last said it, read by a daemon thread, off every request path.

    The first question in a process (or a forked child) reads Redis once, in the asking thread, so a fresh process
    fills its cache at once; after that only the thread reads Redis. `thread=False` leaves polling to the caller
    (tests with an injected clock).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, thread: bool = True,
                 connect: Callable[[], Any] = get_redis) -> None:
        self._clock, self._thread_wanted, self._connect = clock, thread, connect
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked child (an RQ job) has no thread: start anew

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = UNKNOWN
        self._heard_at = float("-inf")
        self._started_in: int | None = None
        self._client = None

    def version(self) -> str | None:
        """The token last heard, or UNKNOWN when Redis has not answered for STALE_SECONDS."""
        if self._started_in != os.getpid():
            self._start()
        with self._lock:
            fresh = self._clock() - self._heard_at <= STALE_SECONDS
            return self._version if fresh else UNKNOWN

    def heard(self, token: str) -> None:
        """This process wrote `token` (it knows it before the thread reads it back)."""
        with self._lock:
            self._version, self._heard_at = token, self._clock()

    def poll(self) -> None:
        """Read the token once. An error makes it unknown at once; a read that hangs lets it grow stale."""
        version = read_version(self._redis())
        if version == UNKNOWN:
            self._client = None  # a new connection next time
        with self._lock:
            self._version, self._heard_at = version, self._clock()

    def _redis(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _start(self) -> None:
        with self._lock:
            if self._started_in == os.getpid():
                return
            self._started_in = os.getpid()
            heard_lately = self._clock() - self._heard_at <= STALE_SECONDS
        if not heard_lately:
            self.poll()
        if self._thread_wanted:
            threading.Thread(target=self._run, name="settings-watch", daemon=True).start()

    def _run(self) -> None:
        pid = os.getpid()
        while self._started_in == pid:
            time.sleep(CHECK_SECONDS)
            try:
                self.poll()
            except Exception:  # never let the watcher die; the token grows stale instead
                log.exception("settings cache: the watcher failed to read the version")


class ProcessCache:
    """Stored values per scope, valid while the shared version token is unchanged."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, watch: VersionWatch | None = None) -> None:
        self._clock = clock
        self._watch = watch or VersionWatch(clock)
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

    @property
    def watch(self) -> VersionWatch:
        return self._watch

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
        version = self._watch.version()
        with self._lock:
            self._checked_at = now
            if version != self._version or version == UNKNOWN or now - self._cleared_at >= MAX_AGE_SECONDS:
                self._scopes.clear()
                self._version, self._cleared_at = version, now


def read_version(client=None) -> str | None:
    """The shared version token (None before any change), or UNKNOWN when Redis does not answer."""
    try:
        raw = (client or get_redis()).get(VERSION_KEY)
    except Exception:  # Redis down: the cache expires by time instead
        log.warning("settings cache: Redis unavailable, values are re-read every %ss", CHECK_SECONDS)
        return UNKNOWN
    return raw.decode() if isinstance(raw, bytes) else raw


def publish_change() -> None:
    """Tell every process (this one included) that stored values changed; call after commit.

    Redis first, then this process: forgetting first would let another thread of this process re-read the old
    token and keep values it read before the commit under it.
    """
    token = uuid.uuid4().hex
    try:
        get_redis().set(VERSION_KEY, token)
    except Exception:  # the others notice within MAX_AGE_SECONDS (or CHECK_SECONDS if they lost Redis too)
        log.warning("settings cache: change not published, Redis unavailable")
    else:
        CACHE.watch.heard(token)
    CACHE.forget()


CACHE = ProcessCache()
