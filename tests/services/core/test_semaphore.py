"""The Redis semaphore with leases: at most `limit` holders, released places come back, dead holders time out."""

from __future__ import annotations

import threading
import uuid

import pytest

from crm_app.services.core import semaphore

NOW = 1_700_000_000.0


@pytest.fixture
def name(redis_client) -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def test_at_most_limit_holders_and_a_release_frees_a_place(name):
    first = semaphore.acquire(name, 2, lease_seconds=60, now=NOW)
    second = semaphore.acquire(name, 2, lease_seconds=60, now=NOW)
    assert first and second and first != second
    assert semaphore.acquire(name, 2, lease_seconds=60, now=NOW + 1) is None
    assert semaphore.holders(name, now=NOW + 1) == 2
    semaphore.release(name, first)
    assert semaphore.acquire(name, 2, lease_seconds=60, now=NOW + 2) is not None


def test_a_holder_that_never_releases_frees_its_place_when_its_lease_ends(name):
    assert semaphore.acquire(name, 1, lease_seconds=30, now=NOW)  # its process dies: no release
    assert semaphore.acquire(name, 1, lease_seconds=30, now=NOW + 29.9) is None
    assert semaphore.acquire(name, 1, lease_seconds=30, now=NOW + 30.1) is not None


def test_releasing_an_ended_lease_takes_nobody_elses_place(name):
    old = semaphore.acquire(name, 1, lease_seconds=30, now=NOW)
    new = semaphore.acquire(name, 1, lease_seconds=30, now=NOW + 31)
    semaphore.release(name, old)  # the slow holder finally lets go, after its lease ended
    assert new and semaphore.holders(name, now=NOW + 32) == 1


def test_many_processes_at_once_never_exceed_the_limit(name):
    taken: list[str | None] = []
    threads = [threading.Thread(target=lambda: taken.append(semaphore.acquire(name, 3, lease_seconds=60)))
               for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([t for t in taken if t]) == 3
    assert semaphore.holders(name) == 3


def test_bad_limits_are_refused(name):
    with pytest.raises(ValueError):
        semaphore.acquire(name, 0, lease_seconds=60)
    with pytest.raises(ValueError):
        semaphore.acquire(name, 1, lease_seconds=0)


def test_a_refused_waiter_is_woken_first_by_the_next_release_and_only_once(name):
    held = semaphore.acquire(name, 1, lease_seconds=60, now=NOW)
    assert semaphore.acquire(name, 1, lease_seconds=60, waiter="first", now=NOW + 1) is None
    assert semaphore.acquire(name, 1, lease_seconds=60, waiter="second", now=NOW + 2) is None
    assert semaphore.acquire(name, 1, lease_seconds=60, waiter="first", now=NOW + 3) is None  # asks again
    assert semaphore.waiters(name) == ["first", "second"]  # once each, in the order they came
    assert semaphore.release(name, held) == "first"
    assert semaphore.waiters(name) == ["second"]
    taken = semaphore.acquire(name, 1, lease_seconds=60, waiter="second", now=NOW + 4)  # it got in first
    assert taken and semaphore.waiters(name) == []  # a waiter that takes a place leaves the line
    assert semaphore.release(name, taken) is None  # nobody left to wake
