"""Liveness and readiness: the DB, Redis, worker heartbeats, and each queue's depth and live workers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from crm_app.config import get_settings
from crm_app.db import get_engine, utcnow
from crm_app.queue import ALL_QUEUES, get_queue, get_redis
from crm_app.services.core.jobs import JOBS

SCHEDULER_KEY_PATTERN = "rq:scheduler_instance:*"


def check_database(engine: Engine | None = None) -> dict[str, Any]:
    """Run `SELECT 1` on `engine` (the app's by default)."""
    try:
        with (engine or get_engine()).connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # any driver error means "down"
        return {"ok": False, "error": type(exc).__name__}


def check_redis() -> dict[str, Any]:
    """PING the queue Redis."""
    try:
        get_redis().ping()
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def worker_heartbeats(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every registered RQ worker with its queues and whether its heartbeat is fresh."""
    from rq import Worker

    now = now or utcnow()
    stale = dt.timedelta(seconds=get_settings().worker_stale_seconds)
    rows = []
    for worker in Worker.all(connection=get_redis()):
        beat = worker.last_heartbeat
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=dt.UTC)
        rows.append({
            "name": worker.name, "queues": worker.queue_names(), "state": str(worker.get_state()),
            "last_heartbeat": beat.isoformat() if beat else None,
            "alive": beat is not None and now - beat < stale,
        })
    return rows


def queue_names() -> tuple[str, ...]:
    """Every queue that must be served: the known queues and any the job registry names."""
    return tuple(dict.fromkeys([*ALL_QUEUES, *(spec.queue for spec in JOBS.values())]))


def queue_report(workers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per queue: its depth, how many live workers serve it, and whether at least one does."""
    report = {}
    for name in queue_names():
        live = sum(1 for w in workers if w["alive"] and name in w["queues"])
        report[name] = {"ok": live > 0, "depth": len(get_queue(name)), "workers": live}
    return report


def readiness() -> tuple[bool, dict[str, Any]]:
    """The full report, and whether every part is up: DB, Redis, a live worker on every queue, the scheduler."""
    database, redis = check_database(), check_redis()
    report: dict[str, Any] = {"database": database, "redis": redis}
    ok = database["ok"] and redis["ok"]
    if redis["ok"]:
        workers = worker_heartbeats()
        report["workers"] = workers
        report["queues"] = queue_report(workers)
        report["scheduler"] = {"ok": _scheduler_alive()}
        ok = ok and all(q["ok"] for q in report["queues"].values()) and report["scheduler"]["ok"]
    report["status"] = "ok" if ok else "degraded"
    return ok, report


def _scheduler_alive() -> bool:
    """rq-scheduler keeps a hash per daemon that expires shortly after it stops polling."""
    redis = get_redis()
    return any(not redis.hexists(key, "death") for key in redis.scan_iter(SCHEDULER_KEY_PATTERN, count=100))
