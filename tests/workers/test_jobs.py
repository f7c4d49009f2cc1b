"""Jobs run in a real RQ worker process with the JSON serializer."""

import datetime as dt
import subprocess
import sys

from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import utcnow
from crm_app.models import UserSession
from crm_app.queue import get_queue
from crm_app.services.access import auth
from crm_app.services.core import jobs
from tests.factories import make_tenant, make_user


def _burst_worker(queue: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "rq.cli", "worker", queue, "--burst", "-w", "rq.worker.SimpleWorker",
            "-S", "json", "-u", get_settings().effective_redis_url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_purge_expired_sessions_runs_in_a_worker_and_is_idempotent(db):
    user = make_user(db, make_tenant(db).id)
    from crm_app.models import User

    live = auth.open_session(db, user=db.get(User, user.user_id))
    old = auth.open_session(db, user=db.get(User, user.user_id))
    db.commit()
    stale = db.exec(select(UserSession).where(UserSession.token_hash == auth.hash_token(old))).one()
    stale.expires_at = utcnow() - dt.timedelta(days=8)
    db.add(stale)
    db.commit()
    queue = get_queue("bulk")
    for attempt in ("purge-1", "purge-2"):
        job = queue.enqueue(jobs.spec("purge_expired_sessions").func, job_id=attempt)
        result = _burst_worker("bulk")
        assert result.returncode == 0, result.stderr
        job.refresh()
        assert job.get_status() == "finished"
    assert queue.fetch_job("purge-1").return_value() == 1
    assert queue.fetch_job("purge-2").return_value() == 0
    db.expire_all()
    remaining = db.exec(select(UserSession.token_hash)).all()
    assert remaining == [auth.hash_token(live)]


def test_periodic_jobs_are_registered_once_with_fixed_ids(redis_client):
    from rq_scheduler import Scheduler

    from crm_app.queue import JSONJob, JSONQueue
    from workers.scheduler import register_periodic_jobs

    scheduler = Scheduler(connection=redis_client, job_class=JSONJob, queue_class=JSONQueue)
    register_periodic_jobs(scheduler)
    register_periodic_jobs(scheduler)
    ids = [job.id for job in scheduler.get_jobs()]
    assert sorted(ids) == sorted(jobs.job_id(spec.name) for spec in jobs.periodic_jobs())
    for job_id in ids:
        scheduler.cancel(job_id)
