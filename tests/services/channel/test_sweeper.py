"""The inbound sweeper queues an event's own job once while it waits, again only when it was lost or ran."""

import datetime as dt

import pytest
from sqlalchemy import text

from crm_app.db import get_engine, utcnow
from crm_app.queue import QUEUE_HIGH, get_queue, get_redis
from crm_app.services.channel import ingest
from crm_app.services.core import jobs
from tests.factories import make_inbox, make_tenant
from tests.support.whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    WABA_ID,
    encode,
    fixture,
    run_burst_worker,
    signed_headers,
)


@pytest.fixture
def stale_event(db):
    """A stored webhook whose drain job Redis lost, a minute old: it needs its own job."""
    tenant = make_tenant(db)
    make_inbox(db, tenant.id, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID, app_secret=APP_SECRET)
    raw = encode(fixture("message", "text"))
    event_id = ingest.store_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"]).event_id
    db.execute(text("UPDATE inbound_events SET received_at = received_at - interval '1 minute'"))
    db.commit()
    return event_id


def queued_ids() -> list[str]:
    """The high queue's list as Redis holds it: a job id pushed twice shows twice."""
    return [i.decode() for i in get_redis().lrange(get_queue(QUEUE_HIGH).key, 0, -1)]


def test_a_waiting_job_is_not_queued_again_each_pass(stale_event, db):
    now, job = utcnow(), jobs.job_id("process_inbound_event", stale_event)
    assert ingest.sweep_inbound_events(now) == 1
    for later in (10, 20, 60, 290):  # the scheduler sweeps every 10 s
        assert ingest.sweep_inbound_events(now + dt.timedelta(seconds=later)) == 0
    assert queued_ids() == [job]
    get_queue(QUEUE_HIGH).empty()  # Redis lost the job: after LOST_JOB_AFTER it is queued again
    assert ingest.sweep_inbound_events(now + ingest.LOST_JOB_AFTER + dt.timedelta(seconds=1)) == 1
    assert queued_ids() == [job]


def test_a_job_that_ran_and_failed_is_retried_at_the_next_pass(stale_event, db):
    now = utcnow()
    db.execute(text("UPDATE inbound_events SET body = 'not json'"))
    db.commit()
    assert ingest.sweep_inbound_events(now) == 1
    assert run_burst_worker(QUEUE_HIGH).returncode == 0
    row = db.execute(text("SELECT status, attempts, last_enqueued_at FROM inbound_events")).one()
    assert (row.status, row.attempts, row.last_enqueued_at) == ("failed", 1, None)
    assert ingest.sweep_inbound_events(now + dt.timedelta(seconds=10)) == 1


def test_an_event_a_worker_holds_gets_no_job(stale_event):
    with get_engine().connect() as worker:  # a drainer in the middle of applying it
        worker.begin()
        worker.execute(text("SELECT id FROM inbound_events WHERE id = :id FOR UPDATE"), {"id": stale_event})
        assert ingest.sweep_inbound_events() == 0
        worker.rollback()
    assert queued_ids() == []
    assert ingest.sweep_inbound_events() == 1
