"""Polling for what other processes (workers, the browser, the sandbox) do a moment later."""

import time


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):
    """Poll until `predicate()` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
