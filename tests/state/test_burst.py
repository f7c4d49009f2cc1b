"""Reads shared within one burst of real-time events, and only within it."""

import asyncio
import threading

import pytest

from crm_app.state.burst import burst, shared


def test_a_read_is_done_once_per_burst_even_from_many_threads_at_once():
    calls = []
    gate = threading.Barrier(4)  # the default executor has at least 5 threads

    def read():
        calls.append(1)
        return len(calls)

    def tab():
        gate.wait()
        return shared(("list", "mine", 7), read)

    async def fan_out():
        with burst() as current:
            results = await asyncio.gather(*(asyncio.to_thread(tab) for _ in range(4)))
        return results, current.computed

    results, computed = asyncio.run(fan_out())
    assert results == [1] * 4 and computed == 1 and len(calls) == 1


def test_different_keys_and_different_bursts_read_again():
    calls = []

    def read():
        calls.append(1)
        return len(calls)

    with burst():
        assert shared("a", read) == 1 and shared("a", read) == 1 and shared("b", read) == 2
    with burst():
        assert shared("a", read) == 3
    assert shared("a", read) == 4 and shared("a", read) == 5  # outside a burst nothing is shared


def test_a_failed_read_is_not_remembered():
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")
        return "ok"

    with burst():
        with pytest.raises(RuntimeError):
            shared("k", flaky)
        assert shared("k", flaky) == "ok"
