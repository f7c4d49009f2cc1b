"""PostgreSQL becomes unreachable under webhook traffic: 503 for as long as the fault lasts (and not much longer),
then 200, no request hangs, and every message Meta sends ends up stored once.

A private PostgreSQL cluster (initdb in a temp dir, on a spare port; the shared server is never touched) sits
behind an in-test TCP proxy that passes, refuses or blackholes. Our API runs under uvicorn in its own process, as
the web role serves it, with the connection timeouts shortened. Two senders play Meta: each retries a message
until it gets a 200. (Not under tests/channel: that package's long-lived workers would take the drain jobs this
test's worker must run against the private cluster.)
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from sqlmodel import Session

from crm_app.config import normalize_database_url
from crm_app.db import make_engine
from tests.channel.conftest import free_port, start_api, stop, wait_for, wait_http
from tests.factories import make_inbox, make_tenant
from tests.support.faults import FaultProxy
from tests.support.private_pg import private_cluster
from tests.support.whatsapp import APP_SECRET, PHONE_NUMBER_ID, WABA_ID, encode, fixture, signed_headers, worker_argv

CONNECT_TIMEOUT = 2  # seconds; libpq's minimum
DEADLINE = 1.0  # seconds the webhook's statements may take
# The longest answer during a fault: the webhook tries twice (its pooled connection hits the deadline, or a new
# one times out), plus slack for 2 shared cores.
WORST_REQUEST = 2 * max(DEADLINE, CONNECT_TIMEOUT) + 1.5
SENDERS = 2


@pytest.fixture(scope="module")
def private_pg():
    """A throwaway PostgreSQL cluster on a spare port, with our schema: (its direct URL, its port)."""
    with private_cluster() as cluster:
        yield cluster.url, cluster.port


@pytest.fixture
def webhook_behind_proxy(private_pg, clean_db):
    """The inbox in the private cluster, the proxy in front of it, and our API reaching it only through the proxy."""
    direct_url, pg_port = private_pg
    engine = make_engine(normalize_database_url(direct_url))
    with Session(engine) as session:
        tenant = make_tenant(session)
        make_inbox(session, tenant.id, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID, app_secret=APP_SECRET)
    proxy = FaultProxy("127.0.0.1", pg_port)
    proxy_port, api_port = proxy.start(), free_port()
    api = start_api(api_port, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{proxy_port}/crm",
                    DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT), DB_REQUEST_DEADLINE=str(DEADLINE),
                    TCP_KEEPALIVE_SECONDS="2")
    try:
        wait_http(f"http://127.0.0.1:{api_port}/api/health", api)
        yield f"http://127.0.0.1:{api_port}", proxy, engine, direct_url
    finally:
        stop(api)
        proxy.close()
        engine.dispose()


def _payload(wamid: str, body: str) -> bytes:
    payload = fixture("message", "text")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, text={"body": body}, timestamp=str(int(time.time())))
    return encode(payload)


@dataclass
class Attempt:
    wamid: str
    status: int | str  # an HTTP status, or the transport error's name
    started: float
    took: float


@dataclass
class Meta:
    """Senders that post one message after another and retry each until it gets a 200, as Meta does."""

    url: str
    attempts: list[Attempt] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._send_until_stopped, daemon=True) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        return threads

    def _send_until_stopped(self) -> None:
        with httpx.Client(base_url=self.url, timeout=WORST_REQUEST * 3) as http:
            while not self.stopping.is_set():
                wamid = f"wamid.{uuid.uuid4().hex}"
                raw = _payload(wamid, f"mensagem {wamid[-6:]}")
                while self._attempt(http, wamid, raw) != 200:
                    pass
                self.accepted.append(wamid)

    def _attempt(self, http: httpx.Client, wamid: str, raw: bytes) -> int | str:
        started = time.monotonic()
        try:
            status: int | str = http.post("/api/whatsapp/webhook", content=raw,
                                          headers=signed_headers(raw, APP_SECRET)).status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        self.attempts.append(Attempt(wamid, status, started, time.monotonic() - started))
        return status

    def answered_after(self, moment: float, status: int | str) -> list[Attempt]:
        """Attempts answered with `status` after `moment` (including those sent before it)."""
        return [a for a in list(self.attempts) if a.started + a.took >= moment and a.status == status]


def _fault(meta: Meta, proxy: FaultProxy, mode: str) -> dict[str, float]:
    """Put the proxy in `mode` until every sender got a 503, then pass again until 200s flow; measure (seconds)."""
    accepted_before = len(meta.accepted)
    began = time.monotonic()
    proxy.set_mode(mode)
    # Until every sender had a request both sent and answered during the fault (not only one already in flight).
    wait_for(lambda: len({a.wamid for a in meta.answered_after(began, 503) if a.started >= began}) >= SENDERS,
             timeout=WORST_REQUEST * 3)
    first_503 = min(a.started + a.took for a in meta.answered_after(began, 503)) - began
    healed = time.monotonic()
    proxy.set_mode("pass")
    wait_for(lambda: len(meta.accepted) >= accepted_before + 2 * SENDERS, timeout=WORST_REQUEST * 3)
    first_200 = min(a.started + a.took for a in meta.answered_after(healed, 200)) - healed
    last_503 = max([a.started + a.took for a in meta.answered_after(healed, 503)], default=healed) - healed
    return {"fault": round(healed - began, 2), "first_503_after_fault": round(first_503, 2),
            "first_200_after_heal": round(first_200, 2), "last_503_after_heal": round(last_503, 2)}


def test_the_webhook_answers_503_while_postgres_is_unreachable_then_200_and_loses_nothing(webhook_behind_proxy):
    api_url, proxy, engine, direct_url = webhook_behind_proxy
    meta = Meta(api_url)
    threads = meta.run()
    try:
        wait_for(lambda: len(meta.accepted) >= 2 * SENDERS, timeout=20)
        blackhole = _fault(meta, proxy, "blackhole")  # the important case: without timeouts a request hangs
        refuse = _fault(meta, proxy, "refuse")
    finally:
        meta.stopping.set()
        for thread in threads:
            thread.join(timeout=WORST_REQUEST * 3)
    print(f"\nblackhole: {blackhole}\nrefuse: {refuse}\n"
          f"{len(meta.accepted)} messages accepted in {len(meta.attempts)} attempts; slowest answer "
          f"{max(a.took for a in meta.attempts):.2f} s")

    assert {a.status for a in meta.attempts} <= {200, 503}  # never a hang (client timeout) or a 500
    assert max(a.took for a in meta.attempts) < WORST_REQUEST
    for measured in (blackhole, refuse):
        assert measured["first_503_after_fault"] < WORST_REQUEST  # a fault is answered, not hung on
        assert measured["first_200_after_heal"] < WORST_REQUEST  # at most the requests already in flight
        assert measured["last_503_after_heal"] < WORST_REQUEST

    worker = subprocess.run(worker_argv("high", burst=True), capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, DATABASE_URL=direct_url))  # applies the stored webhooks
    assert worker.returncode == 0, worker.stderr[-2000:]
    with engine.connect() as conn:
        events = conn.exec_driver_sql("SELECT count(*), count(*) FILTER (WHERE status = 'processed') "
                                      "FROM inbound_events").one()
        stored = [r[0] for r in conn.exec_driver_sql("SELECT wa_message_id FROM messages")]
    assert events == (len(meta.accepted), len(meta.accepted))  # each accepted webhook stored once, all applied
    assert sorted(stored) == sorted(meta.accepted)  # every message once
