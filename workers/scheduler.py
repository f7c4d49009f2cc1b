"""The rq-scheduler daemon with our periodic jobs, read from the job registry, under fixed ids.

Only one daemon is active at a time: rq-scheduler takes a lock in Redis.
"""

from __future__ import annotations

import logging

from rq_scheduler import Scheduler

from crm_app.queue import JSONJob, JSONQueue, get_redis
from crm_app.services.core import jobs


def register_periodic_jobs(scheduler: Scheduler) -> None:
    """Schedule every periodic job once; re-registering replaces the old entry."""
    from crm_app.db import utcnow

    existing = {job.id for job in scheduler.get_jobs()}
    for spec in jobs.periodic_jobs():
        job_id = jobs.job_id(spec.name)
        if job_id in existing:
            scheduler.cancel(job_id)
        scheduler.schedule(scheduled_time=utcnow(), func=spec.func, interval=spec.every, repeat=None,
                           id=job_id, queue_name=spec.queue, result_ttl=spec.every * 2, timeout=spec.timeout)


def main() -> None:
    """Run the daemon until it is told to stop."""
    logging.basicConfig(level=logging.INFO, format="scheduler: %(message)s")
    scheduler = Scheduler(connection=get_redis(), interval=5, job_class=JSONJob, queue_class=JSONQueue)
    register_periodic_jobs(scheduler)
    scheduler.run()


if __name__ == "__main__":
    main()
