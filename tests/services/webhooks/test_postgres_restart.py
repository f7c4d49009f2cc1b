"""PostgreSQL restarts while events are being committed and delivered: every committed event still reaches every
endpoint (at least once, with its one `webhook-id`, each request verified with `standardwebhooks`).

The events and the worker live in a private cluster (tests/support/private_pg.py), restarted for real with
`pg_ctl restart -m fast`; the receiver is the sandbox's, over HTTP.
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from crm_app.config import normalize_database_url
from crm_app.db import make_engine
from crm_app.queue import get_redis
from crm_app.services import webhooks
from crm_app.services.core import jobs, outbox
from tests.factories import make_tenant, make_user
from tests.support.private_pg import private_cluster
from tests.support.sandbox import sandbox_in_thread
from tests.support.waiting import wait_for
from tests.support.webhooks import Receiver, stop_worker_group, verify, worker_env
from tests.support.whatsapp import worker_argv

EVENTS = 300


@pytest.fixture
def cluster(redis_client):
    for key in redis_client.scan_iter("crm:webhooks:*"):
        redis_client.delete(key)
    with private_cluster() as private:
        yield private


def _emit_all(engine, tenant_id: int, committed: list[int], refused: list[str], stop: threading.Event) -> None:
    """The application: one event per transaction, retried while the database is away (a failed commit may
    still have landed, so the database holds at least the events committed here)."""
    n = 0
    while n < EVENTS and not stop.is_set():
        try:
            with Session(engine) as session:
                outbox.emit(session, tenant_id, "contact.updated", {"contact_id": n, "changed": ["name"]})
                session.commit()
            committed.append(n)
            n += 1
        except OperationalError as exc:
            refused.append(type(exc.orig).__name__)
            time.sleep(0.05)  # the server is restarting
        time.sleep(0.01)


def test_a_postgres_restart_mid_delivery_loses_no_event(cluster):
    engine = make_engine(normalize_database_url(cluster.url))
    with sandbox_in_thread() as base:
        receiver = Receiver(base)
        receiver.control("b", mode="500", times=20)
        with Session(engine) as session:
            tenant = make_tenant(session)
            admin = make_user(session, tenant.id, role="admin")
            secrets = {}
            for name in ("a", "b"):
                _, secrets[name] = webhooks.create_endpoint(session, actor=admin, url=receiver.url(name),
                                                            event_types=["contact.updated"], timeout_seconds=5)
            session.commit()
        env = dict(worker_env(), DATABASE_URL=cluster.url)
        worker = subprocess.Popen([*worker_argv("default"), "--with-scheduler"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        committed: list[int] = []
        refused: list[str] = []
        stop = threading.Event()
        emitter = threading.Thread(target=_emit_all, args=(engine, tenant.id, committed, refused, stop), daemon=True)
        try:
            emitter.start()
            wait_for(lambda: len(receiver.requests("a")) >= 10, timeout=60)  # deliveries are flowing
            cluster.restart()
            emitter.join(timeout=120)
            assert not emitter.is_alive()
            engine.dispose()  # the test's own pooled connections died with the server

            # What the sweeper (every 10 s in production) does, run here by the worker against this cluster:
            # attempts cut by the restart are taken back (their leases moved past rather than waited for),
            # events whose relay failed are relayed.
            def all_delivered() -> bool:
                with engine.begin() as conn:
                    conn.execute(sa.text("UPDATE webhook_deliveries SET lease_until = now() - interval '1 second' "
                                         "WHERE status = 'sending' AND lease_until > now() + interval '2 seconds'"))
                    ids = set(conn.execute(sa.text("SELECT msg_id FROM webhook_events")).scalars())
                get_redis().delete(outbox.RELAY_FLAG)
                jobs.enqueue("sweep_webhooks", tag=str(time.time_ns()))
                ok = {name: {r["headers"]["webhook-id"] for r in receiver.requests(name) if r["answered"] == 200}
                      for name in ("a", "b")}
                return len(ids) >= EVENTS and all(ids <= got for got in ok.values())

            wait_for(all_delivered, timeout=120, interval=1.0)
        finally:
            stop.set()
            stop_worker_group(worker, timeout=30)
        with engine.connect() as conn:
            stored = set(conn.execute(sa.text("SELECT msg_id FROM webhook_events")).scalars())
        engine.dispose()
        assert len(committed) == EVENTS and len(stored) >= EVENTS
        assert refused, "the restart did not happen while events were being committed"
        for name in ("a", "b"):
            got = receiver.requests(name)
            for request in got:
                verify(secrets[name], request)
            assert {r["headers"]["webhook-id"] for r in got if r["answered"] == 200} >= stored
