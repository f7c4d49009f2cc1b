"""The rq-scheduler daemon with our periodic jobs registered under fixed ids.

Only one daemon is active at a time: rq-scheduler takes a lock in Redis.
"""

from __future__ import annotations

import logging

from rq_scheduler import Scheduler

from crm_app.queue import QUEUE_DEFAULT, QUEUE_HIGH, QUEUE_LOW, JSONJob, JSONQueue, get_redis

# (job id, function path, interval in seconds, queue)
PERIODIC_JOBS = (
    ("periodic-sweep-inbound-events", "workers.jobs.sweep_inbound_events", 10, QUEUE_HIGH),
    ("periodic-sweep-queued-messages", "workers.jobs.sweep_queued_messages", 30, QUEUE_HIGH),
    ("periodic-sweep-pending-media", "workers.jobs.sweep_pending_media", 300, QUEUE_DEFAULT),
    ("periodic-wake-snoozed", "workers.jobs.wake_snoozed", 60, QUEUE_DEFAULT),
    ("periodic-assign-waiting", "workers.jobs.assign_waiting_all", 30, QUEUE_HIGH),
    ("periodic-sweep-bot-turns", "workers.jobs.sweep_bot_turns", 15, QUEUE_DEFAULT),
    ("periodic-expire-bot-sessions", "workers.jobs.expire_bot_sessions", 60, QUEUE_DEFAULT),
    ("periodic-sync-templates", "workers.jobs.sync_all_templates", 3600, QUEUE_DEFAULT),
    ("periodic-purge-expired-sessions", "workers.jobs.purge_expired_sessions", 3600, QUEUE_LOW),
)


def register_periodic_jobs(scheduler: Scheduler) -> None:
    """Schedule every periodic job once; re-registering replaces the old entry."""
    from crm_app.db import utcnow

    existing = {job.id for job in scheduler.get_jobs()}
    for job_id, func, interval, queue in PERIODIC_JOBS:
        if job_id in existing:
            scheduler.cancel(job_id)
        scheduler.schedule(scheduled_time=utcnow(), func=func, interval=interval, repeat=None,
                           id=job_id, queue_name=queue, result_ttl=interval * 2)


def main() -> None:
    """Run the daemon until it is told to stop."""
    logging.basicConfig(level=logging.INFO, format="scheduler: %(message)s")
    scheduler = Scheduler(connection=get_redis(), interval=5, job_class=JSONJob, queue_class=JSONQueue)
    register_periodic_jobs(scheduler)
    scheduler.run()


if __name__ == "__main__":
    main()
