"""Jobs run in a real RQ worker process with the JSON serializer; the job registry matches workers/jobs.py."""

import datetime as dt
import importlib
import inspect
import time

import pytest
from sqlmodel import select

import workers.jobs
from crm_app.db import utcnow
from crm_app.models import UserSession
from crm_app.queue import ALL_QUEUES, get_queue
from crm_app.services.access import sessions
from crm_app.services.core import jobs
from tests.factories import make_tenant, make_user
from tests.support.whatsapp import run_burst_worker


def _job_functions() -> dict[str, object]:
    """The public functions defined in workers/jobs.py: what a worker can run."""
    return {name: fn for name, fn in inspect.getmembers(workers.jobs, inspect.isfunction)
            if fn.__module__ == "workers.jobs" and not name.startswith("_")}


def test_purge_expired_sessions_runs_in_a_worker_and_is_idempotent(db):
    user = make_user(db, make_tenant(db).id)
    from crm_app.models import User

    live = sessions.open_session(db, user=db.get(User, user.user_id))
    old = sessions.open_session(db, user=db.get(User, user.user_id))
    db.commit()
    stale = db.exec(select(UserSession).where(UserSession.token_hash == sessions.hash_token(old))).one()
    stale.expires_at = utcnow() - dt.timedelta(days=8)
    db.add(stale)
    db.commit()
    queue = get_queue("bulk")
    for attempt in ("purge-1", "purge-2"):
        job = queue.enqueue(jobs.spec("purge_expired_sessions").func, job_id=attempt)
        result = run_burst_worker("bulk", timeout=60)
        assert result.returncode == 0, result.stderr
        job.refresh()
        assert job.get_status() == "finished"
    assert queue.fetch_job("purge-1").return_value() == 1
    assert queue.fetch_job("purge-2").return_value() == 0
    db.expire_all()
    remaining = db.exec(select(UserSession.token_hash)).all()
    assert remaining == [sessions.hash_token(live)]


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


def test_every_job_function_has_exactly_one_registry_entry_and_every_entry_a_function():
    functions = _job_functions()
    names = [spec.name for spec in jobs._SPECS]
    assert len(names) == len(set(names)), "a job is registered twice"
    assert set(names) == set(functions)
    for spec in jobs.JOBS.values():
        module, _, attr = spec.func.rpartition(".")
        assert getattr(importlib.import_module(module), attr) is functions[spec.name]  # what RQ imports
        assert spec.queue in ALL_QUEUES
        assert spec.timeout > 0 and all(delay > 0 for delay in spec.retry)


def _sample_calls(name: str) -> list[tuple]:
    """Arguments for `name`: its required ones, then every one (optional ones set, not defaulted)."""
    params = list(inspect.signature(_job_functions()[name]).parameters.values())
    required = tuple(7 + i for i, p in enumerate(params) if p.default is inspect.Parameter.empty)
    every = tuple(True if p.annotation == "bool" else 7 + i for i, p in enumerate(params))
    return list(dict.fromkeys([required, every]))


# A sweep's bot turn (no message) is bucketed by the second unless its caller tags it: each sweep may
# queue it again. Every other id depends on the arguments (and tag) alone.
TIME_BUCKETED = {("run_bot_turn", 1), ("assign_waiting", 1), ("evaluate_sla", 1)}


@pytest.mark.parametrize("name", sorted(jobs.JOBS))
def test_every_id_rule_is_deterministic(name, monkeypatch):
    spec = jobs.spec(name)
    if not spec.every:  # the rule takes the job's own arguments, by the same names
        rule = [p for p in inspect.signature(spec.job_id).parameters if p != "tag"]
        assert rule == list(inspect.signature(_job_functions()[name]).parameters)
    ids = set()
    for args in _sample_calls(name):
        for tag in (None, "t1"):
            monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
            first = jobs.job_id(name, *args, tag=tag)
            monkeypatch.setattr(time, "time", lambda: 1_700_000_999.0)
            again = jobs.job_id(name, *args, tag=tag)
            if (name, len(args)) in TIME_BUCKETED and tag is None:
                assert first != again
                continue
            assert first == again, f"{name}{args}: the id changes between two calls"
            ids.add(first)
    if not spec.every and _sample_calls(name)[0]:  # different work, different ids (a job with no argument has one)
        other = tuple(arg + 100 if type(arg) is int else arg for arg in _sample_calls(name)[0])
        assert jobs.job_id(name, *other, tag="t1") != jobs.job_id(name, *_sample_calls(name)[0], tag="t1")


def test_a_periodic_jobs_id_is_fixed_and_its_own():
    periodic = jobs.periodic_jobs()
    assert periodic and all(spec.every > 0 for spec in periodic)
    ids = [jobs.job_id(spec.name) for spec in periodic]
    assert len(set(ids)) == len(ids)
    for spec, job_id in zip(periodic, ids, strict=True):
        assert jobs.job_id(spec.name, tag="anything") == job_id == jobs.job_id(spec.name)
        assert job_id.startswith("periodic-")
        assert not inspect.signature(_job_functions()[spec.name]).parameters  # a periodic job takes no arguments
