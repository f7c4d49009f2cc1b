"""RQ's worker classes with one fix: a stop signal always reaches the thread that dequeues.

RQ 3.0 workers run a pub/sub thread (`BaseWorker.subscribe`) next to the main thread, which blocks in
BLMOVE for up to `worker_ttl - 15` seconds (405 by default). A SIGTERM or SIGINT sent to the process may be
delivered to that pub/sub thread: Python then only runs the handler when the main thread next executes
bytecode, that is when BLMOVE returns. The worker outlives its shutdown (a pool waits on it, the launcher
kills it, a benchmark leaves it behind), and when the next job arrives BLMOVE moves it into the queue's
intermediate list, the late handler raises `StopRequested`, and the job is left there `queued`. RQ's
maintenance fails it ("stuck in intermediate queue") minutes later; it never runs.

Starting the pub/sub thread with SIGTERM and SIGINT blocked (a new thread inherits the mask) leaves the
main thread as the only one that can take them, so BLMOVE is interrupted at once and the worker stops.

An idle RQ worker also beats only when BLMOVE times out, every `worker_ttl - 15` seconds: with the default ttl a
worker on a quiet queue (the bot queue at night) looked dead to readiness (`WORKER_STALE_SECONDS`, 120) for
minutes at a time, and `/api/ready` answered 503 with every worker up. Ours wait at most half the stale window
between beats. `rq worker-pool` cannot pass a ttl to its workers, so the class sets it.
"""

from __future__ import annotations

import signal

from rq.worker import SimpleWorker as RQSimpleWorker
from rq.worker import Worker as RQWorker

from crm_app.config import get_settings

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def idle_worker_ttl() -> int:
    """The ttl that makes an idle worker beat every half `WORKER_STALE_SECONDS` (RQ waits `ttl - 15` per BLMOVE)."""
    return get_settings().worker_stale_seconds // 2 + 15


class _MainThreadSignals:
    """Mixin: the pub/sub thread is started with the stop signals blocked, and an idle worker beats in time."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.worker_ttl = min(self.worker_ttl, idle_worker_ttl())

    def subscribe(self) -> None:
        """RQ's subscribe, with SIGTERM and SIGINT kept away from the thread it starts."""
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            super().subscribe()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class SimpleWorker(_MainThreadSignals, RQSimpleWorker):
    """RQ's SimpleWorker (jobs run in the worker process) whose stop signals reach its main thread."""


class Worker(_MainThreadSignals, RQWorker):
    """RQ's forking Worker whose stop signals reach its main thread."""
