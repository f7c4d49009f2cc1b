"""Outgoing webhooks in tests: the sandbox's receiver over real HTTP, real workers, Standard Webhooks verification."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import standardwebhooks

from tests.support.whatsapp import worker_argv

TIME_FACTOR = "0.001"  # the retry schedule in milliseconds: 0, 5 ms, 0.3 s, 1.8 s, 7.2 s...


@dataclass
class Receiver:
    """The sandbox's webhook receiver: `url(name)` to subscribe, `control` its switches, `requests` what arrived."""

    base: str

    def url(self, name: str) -> str:
        return f"{self.base}/hooks/{name}"

    def control(self, name: str, **switches) -> None:
        response = httpx.post(f"{self.base}/sandbox/api/hooks/control", json={"name": name, **switches}, timeout=10)
        assert response.status_code == 200, response.text

    def requests(self, name: str | None = None) -> list[dict]:
        params = {"name": name} if name else {}
        return httpx.get(f"{self.base}/sandbox/api/hooks/requests", params=params, timeout=10).json()["requests"]

    def reset(self) -> None:
        assert httpx.delete(f"{self.base}/sandbox/api/hooks/requests", timeout=10).status_code == 200


def verify(secret: str, request: dict) -> dict:
    """Check one received request with the official `standardwebhooks` package; returns its payload."""
    headers = {k: v for k, v in request["headers"].items() if k.startswith("webhook-")}
    return standardwebhooks.Webhook(secret).verify(request["raw"], headers)


def worker_env() -> dict[str, str]:
    return {**os.environ, "WEBHOOK_TIME_FACTOR": TIME_FACTOR}


@contextmanager
def default_worker() -> Iterator[subprocess.Popen]:
    """A real `default` worker (with RQ's scheduler, which moves due retries onto the queue) until the block ends."""
    log = open(os.environ.get("WEBHOOK_WORKER_LOG", os.devnull), "ab")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen([*worker_argv("default"), "--with-scheduler"], env=worker_env(),
                            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        yield proc
    finally:
        stop_worker_group(proc)
        log.close()


def stop_worker_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a worker started with `start_new_session=True`, and whatever it started: RQ runs its scheduler in a
    child process, which outlives a worker that was only sent SIGTERM (and then takes the next tests' jobs)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # nothing of the group is left
        pass
