"""Webhook ingestion: acks, end-to-end processing, and exactly-once counts, beside a same-run baseline.

    .venv/bin/python bench/ingest.py [--messages 3000] [--concurrency 32] [--statuses 300] [--hot-workers 2]

It starts, on this machine: a fresh PostgreSQL database (on TEST_DATABASE_URL's server),
the web role's HTTP routes under granian (one worker per core, as Reflex runs them) with a
bare ASGI endpoint mounted in the same app for the baseline, the hot-worker pool, and the
scheduler (whose sweeper re-queues stored events whose job was lost, as in production). Then it
sends signed webhooks: one text message each, plus 30 % exact duplicates, plus
sent/delivered/read statuses for pre-made outbound messages in shuffled order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "190000000000001"
WABA_ID = "290000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_database(admin_url: str) -> tuple[str, str]:
    """Create and migrate a fresh database; returns (name, url)."""
    from sqlalchemy import create_engine, text

    from crm_app.config import normalize_database_url

    name = f"crm_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(normalize_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name, normalize_database_url(admin_url).rpartition("/")[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    from crm_app.config import normalize_database_url

    engine = create_engine(normalize_database_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


SEED = """
import sys
from crm_app import migrations
from crm_app.db import session_scope
from crm_app.models import ContactInbox, Conversation, Contact, Direction, Message, MessageKind, SenderType
from crm_app.services import access, channel
migrations.upgrade()
statuses = int(sys.argv[1])
with session_scope() as s:
    tenant, _ = access.ensure_tenant(s, name="Bench", slug="bench")
    inbox, _ = channel.ensure_inbox(s, actor=None, tenant_id=tenant.id, name="Bench", phone_number_id="%s",
        waba_id="%s", display_number="+55 11 4000-0000", access_token="t", app_secret="%s", verify_token="v")
    contact = Contact(tenant_id=tenant.id, phone_e164="+5511900000000"); s.add(contact); s.flush()
    link = ContactInbox(tenant_id=tenant.id, contact_id=contact.id, inbox_id=inbox.id, wa_id="5511900000000")
    s.add(link); s.flush()
    conv = Conversation(tenant_id=tenant.id, inbox_id=inbox.id, contact_id=contact.id, contact_inbox_id=link.id)
    s.add(conv); s.flush()
    for i in range(statuses):
        s.add(Message(tenant_id=tenant.id, conversation_id=conv.id, direction=Direction.OUTBOUND,
                      sender_type=SenderType.BOT, kind=MessageKind.TEXT, body="x", status="queued",
                      wa_message_id=f"wamid.bench.out.{i}"))
""" % (PHONE_NUMBER_ID, WABA_ID, APP_SECRET)

APP = """
from crm_app.api.routes import create_api
api = create_api()
async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/bare":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"status":"ok"}'})
        return
    await api(scope, receive, send)
"""


def text_webhook(i: int) -> dict:
    wa_id = f"55119{i % 50000:08d}"
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
        "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "551140000000", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": f"Cliente {i}"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": f"wamid.bench.in.{i}", "timestamp": str(1_700_000_000 + i),
                      "type": "text", "text": {"body": f"Mensagem {i}"}}]}}]}]}


def status_webhook(i: int, status: str) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
        "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "551140000000", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [{"id": f"wamid.bench.out.{i}", "status": status, "timestamp": str(1_700_000_000 + i),
                      "recipient_id": "5511900000000"}]}}]}]}


def build_requests(messages: int, statuses: int, host: str) -> list[bytes]:
    from crm_app.domain.whatsapp import sign

    bodies = [text_webhook(i) for i in range(messages)]
    bodies += [status_webhook(i, s) for i in range(statuses) for s in ("read", "delivered", "sent")]
    raw = [json.dumps(b, ensure_ascii=True).encode() for b in bodies]
    raw += random.sample(raw, k=int(len(raw) * 0.3))  # 30 % exact duplicates
    random.shuffle(raw)  # statuses arrive out of order
    return [http_post(host, "/api/whatsapp/webhook", body, sign(body, APP_SECRET)) for body in raw]


def http_post(host: str, path: str, body: bytes, signature: str | None = None) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    if signature:
        head += f"X-Hub-Signature-256: {signature}\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next((int(h.split(":", 1)[1]) for h in lines if h.lower().startswith("content-length:")), 0)
    await reader.readexactly(length)
    return status


async def blast(port: int, requests: list[bytes], concurrency: int) -> tuple[list[float], float, dict[int, int]]:
    """Send every request over `concurrency` keep-alive connections; returns latencies (ms), rate and statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cursor = iter(requests)

    async def connection():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in cursor:
            start = time.perf_counter()
            writer.write(request)
            status = await read_response(reader)
            latencies.append((time.perf_counter() - start) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, len(requests) / (time.perf_counter() - began), statuses


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def row(name: str, lat: list[float], rate: float, statuses: dict[int, int]) -> str:
    return (f"{name:<22}{rate:>9.0f}/s  p50 {pct(lat, 50):6.2f} ms  p95 {pct(lat, 95):6.2f} ms  "
            f"p99 {pct(lat, 99):6.2f} ms  {statuses}")


def count(url: str, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


def rows(url: str, sql: str) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return found


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--statuses", type=int, default=300, help="outbound messages that get 3 shuffled statuses")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--hot-workers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    name, url = setup_database(admin_url)
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, ENV="test", PYTHONPATH=str(ROOT))
    procs: list[subprocess.Popen] = []
    try:
        subprocess.run([sys.executable, "-c", SEED, str(args.statuses)], env=env, cwd=ROOT, check=True)
        from redis import Redis

        Redis.from_url(redis_url).flushdb()
        worker_log = open(f"/tmp/{name}_workers.log", "w")  # noqa: SIM115 - closed with the processes
        port = free_port()
        app_file = Path(f"/tmp/crm_bench_app_{port}.py")
        app_file.write_text(APP)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(args.web_workers), "--log-level", "warning", f"{app_file.stem}:app"],
            env=dict(env, PYTHONPATH=f"{ROOT}:/tmp"), cwd=ROOT, start_new_session=True))
        wait_port(port)
        host = f"127.0.0.1:{port}"
        print(f"granian x{args.web_workers} web workers, {args.hot_workers} hot workers, PostgreSQL {name}, "
              f"concurrency {args.concurrency}", flush=True)
        warm = [http_post(host, "/bare", b"{}")] * 500
        asyncio.run(blast(port, warm, args.concurrency))
        requests = build_requests(args.messages, args.statuses, host)
        bare = asyncio.run(blast(port, [http_post(host, "/bare", b"{}")] * len(requests), args.concurrency))
        print(row("baseline (bare ASGI)", *bare))
        # The hot workers and the scheduler (whose sweeper re-queues stored events whose job was lost) start
        # exactly as in production: `python -m crm_app serve ROLE`, under the same `nice`. The other queues'
        # workers (worker-bot, worker-default, worker-bulk) stay off: text messages and statuses to an inbox
        # with no bot queue nothing on `bot` or `bulk`, and this measures the `high` queue alone.
        role_env = dict(env, HOT_WORKERS=str(args.hot_workers))
        for role in ("worker-hot", "scheduler") if args.hot_workers else ("scheduler",):
            procs.append(subprocess.Popen([sys.executable, "-m", "crm_app", "serve", role], env=role_env, cwd=ROOT,
                                          start_new_session=True, stdout=worker_log, stderr=subprocess.STDOUT))
        time.sleep(3)  # let the pool register before the clock starts
        started = time.perf_counter()
        acks = asyncio.run(blast(port, requests, args.concurrency))
        acked = time.perf_counter()
        print(row("webhook ack", *acks))
        expected_events = args.messages + 3 * args.statuses
        deadline, last, last_change = time.monotonic() + 600, -1, time.monotonic()
        while (processed := count(url, "SELECT count(*) FROM inbound_events WHERE status = 'processed'")) \
                < expected_events:
            if processed != last:
                last, last_change, done = processed, time.monotonic(), time.perf_counter()
            if time.monotonic() > deadline or time.monotonic() - last_change > 30:
                break  # stalled: report what was processed until the last progress, and what was not
            time.sleep(0.2)
        else:
            done = time.perf_counter()
        stored = count(url, "SELECT count(*) FROM messages WHERE direction = 'inbound'")
        distinct = count(url, "SELECT count(DISTINCT wa_message_id) FROM messages WHERE direction = 'inbound'")
        read = count(url, "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'read'")
        events = count(url, "SELECT count(*) FROM inbound_events")
        print(f"{'processing':<22}{stored / (done - started):>9.0f} messages/s fully processed "
              f"({args.hot_workers} hot workers, workers running during the sends; {done - started:.1f} s from the "
              f"first send to the last event processed; sends took {acked - started:.1f} s)")
        print(f"counts: expected {args.messages} messages, stored {stored}, duplicates {stored - distinct}, "
              f"lost {args.messages - distinct}; events stored {events} of {expected_events} distinct bodies; "
              f"outbound read {read} of {args.statuses}")
        unprocessed = rows(url, "SELECT status, count(*), min(last_error) FROM inbound_events "
                                "WHERE status <> 'processed' GROUP BY status")
        if unprocessed:
            print(f"unprocessed events (status, count, an error): {unprocessed}; worker log {worker_log.name}")
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        drop_database(admin_url, name)


if __name__ == "__main__":
    main()
