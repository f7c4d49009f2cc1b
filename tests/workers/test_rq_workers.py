"""Our RQ worker classes: a stop signal stops the worker at once and leaves no job in RQ's intermediate queue; an idle
worker beats often enough to look alive."""

import os
import signal
import subprocess

import psutil
import pytest

from crm_app.processes import WORKER_QUEUES, worker_class
from crm_app.queue import get_queue
from tests.support.waiting import wait_for
from tests.support.whatsapp import worker_argv

STOP_DEADLINE = 15.0  # seconds; RQ's BLMOVE would keep an unfixed worker for 405


def _other_thread(pid: int) -> int:
    """The id of a thread of `pid` other than its main thread: RQ's pub/sub thread, once it subscribed."""
    return wait_for(lambda: next((t.id for t in psutil.Process(pid).threads() if t.id != pid), None))


def _waits_for_jobs(pid: int) -> bool:
    """Whether the worker's main thread is blocked in RQ's BLMOVE (after its start-up maintenance)."""
    with open(f"/proc/{pid}/wchan") as wchan:
        return "poll" in wchan.read()


def _stops_within(proc: subprocess.Popen, seconds: float) -> bool:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


@pytest.mark.parametrize("role", ["worker-hot", "worker-bulk"])
def test_a_stop_signal_taken_by_the_pubsub_thread_stops_the_worker_and_strands_no_job(clean_db, redis_client, role):
    queue = get_queue(WORKER_QUEUES[role])
    proc = subprocess.Popen(worker_argv(queue.name), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _waits_for_jobs(proc.pid))
        # kill() on a thread id is process-directed but offered to that thread first: what the kernel may
        # do with any SIGTERM when the main thread already has a signal pending.
        os.kill(_other_thread(proc.pid), signal.SIGTERM)
        stopped = _stops_within(proc, STOP_DEADLINE)
        queue.enqueue("os.getpid", job_id="after-stop")
        wait_for(lambda: proc.poll() is not None)  # a worker that missed the signal takes the job, then stops
        stranded = [i.decode() for i in redis_client.lrange(queue.intermediate_queue_key, 0, -1)]
        assert (stopped, stranded, queue.get_job_ids()) == (True, [], ["after-stop"])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_every_worker_role_runs_our_classes():
    assert {worker_class(role) for role in WORKER_QUEUES} == {"workers.rq_workers.SimpleWorker",
                                                            "workers.rq_workers.Worker"}


def test_our_classes_are_rqs_own_with_only_our_two_fixes():
    from rq.worker import SimpleWorker as RQSimpleWorker
    from rq.worker import Worker as RQWorker

    from workers import rq_workers

    assert issubclass(rq_workers.SimpleWorker, RQSimpleWorker) and issubclass(rq_workers.Worker, RQWorker)
    assert not issubclass(rq_workers.SimpleWorker, RQWorker)  # the hot path never forks


def test_an_idle_worker_beats_within_half_the_stale_window(clean_db, redis_client):
    """RQ beats only between BLMOVEs of `ttl - 15` s (405 by default): an idle worker looked dead to readiness."""
    from rq import Worker

    stale = 4  # seconds: the worker below must beat every 2 s with no job to run
    queue = get_queue(WORKER_QUEUES["worker-bot"])
    env = dict(os.environ, WORKER_STALE_SECONDS=str(stale))
    proc = subprocess.Popen(worker_argv(queue.name), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def beat():
        workers = [w for w in Worker.all(connection=redis_client) if w.pid == proc.pid]
        return workers[0].last_heartbeat if workers and workers[0].last_heartbeat else None

    try:
        wait_for(lambda: _waits_for_jobs(proc.pid))
        first = wait_for(beat)
        later = wait_for(lambda: (b := beat()) and b > first and b, timeout=3 * stale)
        assert queue.is_empty() and (later - first).total_seconds() <= stale
    finally:
        proc.terminate()
        proc.wait(timeout=STOP_DEADLINE)
