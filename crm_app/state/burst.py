"""Reads shared by the tabs that one burst of real-time events refreshes, inside one web process.

A burst reaches every inbox tab of a tenant in this process at once. Most of them show the same
thing (the same tab of the same list, the same user's counts), so each distinct read is done once
and handed to every tab that asks for it. The key must name everything the result depends on,
including who may see it. Nothing outlives the burst: the next one reads afresh, so a revoked
session or a lost permission shows at the next event.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

T = TypeVar("T")

_current: contextvars.ContextVar[Burst | None] = contextvars.ContextVar("crm_burst", default=None)


class Burst:
    """Memoised reads for one burst; safe to share between the threads that refresh the tabs."""

    def __init__(self) -> None:
        self._values: dict[Hashable, object] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self.computed = 0  # how many reads really ran (tests, logs)

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value for `key`, computing it once even when several threads ask at the same time.

        An exception is not remembered: the next caller tries again.
        """
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = compute()
                self.computed += 1
            return self._values[key]  # type: ignore[return-value]


@contextlib.contextmanager
def burst() -> Iterator[Burst]:
    """Share reads among everything started inside (tasks and threads copy the context)."""
    current = Burst()
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def shared(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, shared with the rest of the current burst when there is one."""
    current = _current.get()
    return compute() if current is None else current.get(key, compute)
