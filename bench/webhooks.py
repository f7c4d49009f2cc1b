"""Outgoing webhooks: events fanned out to 3 endpoints, one of which answers 500 to its first third.

    .venv/bin/python bench/webhooks.py [--events 10000] [--rate 200] [--default-workers 2] [--batch 10]
                                       [--receiver bare|sandbox]

It starts, on this machine: a fresh PostgreSQL database (on TEST_DATABASE_URL's server), the sandbox, the
receiver that is the target (`/hooks/a`, `/hooks/b`, `/hooks/c`, the last answering 500 to its first
`events / 3` requests): by default `bench/hook_receiver.py`, bare asyncio streams, because the sandbox's own
receiver (`--receiver sandbox`) topped out near 76 requests/s here and was the ceiling), and the default-queue
workers exactly as production starts them (`python -m crm_app serve
worker-default`, under `nice`, RQ's scheduler included), with WEBHOOK_TIME_FACTOR=0.01 (the 5 s retry after
50 ms). First the same run's baseline: 100 keep-alive connections on bare asyncio streams POST signed bodies to
the same receiver for a few seconds. Then `--events` events are committed through `core.outbox.emit`, `--batch`
per transaction, at `--rate` events a second (0: as fast as possible, a burst), while the workers relay and
deliver. Every figure about deliveries is read at the receiver: its arrival time per request, and which
webhook-ids it answered 200; commit times are taken by the emitter after each commit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BASELINE_SECONDS = 4.0
NAMES = ("a", "b", "c")


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


async def _baseline(url: str) -> tuple[int, float]:
    """Signed POSTs over 100 keep-alive connections written on bare asyncio streams, for `BASELINE_SECONDS`.

    Not httpx: one httpx pool slows down as its connections grow (crm_app/integrations/webhook_http.py), which
    would make a baseline of the client, not of the receiver and the machine.
    """
    from urllib.parse import urlsplit

    from crm_app.domain import webhooks as rules

    parts = urlsplit(url)
    secret, body = rules.new_secret(), b'{"type":"ping","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    deadline, sent = time.monotonic() + BASELINE_SECONDS, 0

    async def one() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        while time.monotonic() < deadline:
            stamp = int(time.time())
            signature = rules.sign(secret, f"msg_b{sent}", stamp, body)
            writer.write((f"POST {parts.path} HTTP/1.1\r\nhost: {parts.netloc}\r\ncontent-type: application/json\r\n"
                          f"webhook-id: msg_b{sent}\r\nwebhook-timestamp: {stamp}\r\nwebhook-signature: {signature}\r\n"
                          f"content-length: {len(body)}\r\n\r\n").encode() + body)
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
            await reader.readexactly(length)
            sent += 1
        writer.close()

    began = time.monotonic()
    await asyncio.gather(*(one() for _ in range(100)))
    return sent, time.monotonic() - began


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (RQ's pool forks its workers)."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving `database` now (their process title names it)."""
    import psutil

    total = 0.0
    for proc in psutil.process_iter(["cmdline"]):
        title = " ".join(proc.info["cmdline"] or [])
        if title.startswith("postgres:") and f" {database} " in title:
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def seed(base: str) -> int:
    """A tenant with three endpoints on the sandbox's receiver, all event types."""
    from crm_app import migrations
    from crm_app.db import session_scope
    from crm_app.services import webhooks
    from crm_app.services.access import tenants, users
    from crm_app.services.core.actors import Actor

    migrations.upgrade()
    with session_scope() as s:
        tenant, _ = tenants.ensure_tenant(s, name="Bench", slug="bench")
        row, _ = users.ensure_user(s, actor=None, tenant_id=tenant.id, email="bench@example.com", name="Bench",
                                   role="admin", password="bench-password-1")
        admin = Actor(row.id, tenant.id, "admin", "Bench", "bench@example.com")
        for name in NAMES:
            webhooks.create_endpoint(s, actor=admin, url=f"{base}/hooks/{name}", timeout_seconds=10)
        return tenant.id


def emit_events(tenant_id: int, events: int, rate: float, batch: int) -> dict[str, float]:
    """Commit `events` events, `batch` per transaction, paced at `rate` a second. Returns msg_id -> commit time."""
    import sqlalchemy as sa

    from crm_app.db import session_scope
    from crm_app.models import WebhookEvent
    from crm_app.services.core import outbox

    table = WebhookEvent.__table__
    commits: dict[str, float] = {}
    began = time.monotonic()
    for start in range(0, events, batch):
        if rate:
            delay = began + start / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        with session_scope() as s:
            first = None
            for n in range(start, min(events, start + batch)):
                outbox.emit(s, tenant_id, "contact.updated", {"contact_id": n, "changed": ["name"]})
            first = s.execute(sa.select(table.c.msg_id).order_by(table.c.id.desc()).limit(min(batch, events - start)))
            ids = [r[0] for r in first]
        at = time.time()
        for msg_id in ids:
            commits[msg_id] = at
    return commits


RECEIVED_PATH = {"bare": "/requests", "sandbox": "/sandbox/api/hooks/requests"}


def received(base: str, kind: str) -> list[list]:
    import httpx

    return httpx.get(f"{base}{RECEIVED_PATH[kind]}", params={"brief": "1"}, timeout=120).json()["requests"]


def wait_all_delivered(base: str, kind: str, events: int, timeout: float) -> list[list]:
    deadline = time.monotonic() + timeout
    while True:
        rows = received(base, kind)
        ok = {name: {r[3] for r in rows if r[0] == name and r[2] == 200} for name in NAMES}
        if all(len(ids) >= events for ids in ok.values()) or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def report(rows: list[list], commits: dict[str, float], events: int, baseline: tuple[int, float]) -> None:
    sent, took = baseline
    print(f"baseline: 100 keep-alive connections on bare asyncio streams -> the same receiver: "
          f"{sent / took:,.0f} req/s",
          flush=True)
    mine = [r for r in rows if r[0] in NAMES]
    ok = [r for r in mine if r[2] == 200]
    first_commit = min(commits.values())
    last_ok = max(r[1] for r in ok)
    delivered = {name: {r[3] for r in ok if r[0] == name} for name in NAMES}
    lost = sum(len(set(commits) - ids) for ids in delivered.values())
    dup = len(ok) - sum(len(ids) for ids in delivered.values())
    first_seen: dict[tuple[str, str], float] = {}
    for name, at, _, msg_id in mine:
        key = (name, msg_id)
        first_seen[key] = min(at, first_seen.get(key, at))
    latency = [first_seen[(name, m)] - commits[m] for name in NAMES for m in commits if (name, m) in first_seen]
    wall = last_ok - first_commit
    print(f"requests received: {len(mine):,} ({len(mine) - len(ok):,} answered 500), "
          f"successful deliveries: {len(ok):,} in {wall:.1f} s from the first commit -> "
          f"{len(ok) / wall:,.0f} deliveries/s, {len(mine) / wall:,.0f} attempts/s", flush=True)
    print(f"commit -> first attempt: p50 {pct(latency, 50) * 1000:.0f} ms, p95 {pct(latency, 95) * 1000:.0f} ms, "
          f"p99 {pct(latency, 99) * 1000:.0f} ms, max {max(latency) * 1000:.0f} ms", flush=True)
    print(f"lost: {lost} (event x endpoint pairs never answered 200), duplicate 200s: {dup}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200, help="events committed a second; 0 for a burst")
    parser.add_argument("--batch", type=int, default=10, help="events per transaction")
    parser.add_argument("--default-workers", type=int, default=2)
    parser.add_argument("--receiver", choices=("bare", "sandbox"), default="bare")
    args = parser.parse_args()
    from ingest import drop_database, free_port, setup_database, wait_port

    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    name, url = setup_database(admin_url)
    sandbox_port = free_port()
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, ENV="test", PYTHONPATH=str(ROOT),
               SANDBOX_PORT=str(sandbox_port), SANDBOX_SMTP_PORT=str(free_port()), WEBHOOK_TIME_FACTOR="0.01",
               DEFAULT_WORKERS=str(args.default_workers), SANDBOX_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/x")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "ENV", "SANDBOX_PORT", "WEBHOOK_TIME_FACTOR")})
    procs: list[subprocess.Popen] = []
    log = open(f"/tmp/{name}_workers.log", "w")  # noqa: SIM115 - closed with the processes
    try:
        import httpx
        from redis import Redis

        Redis.from_url(redis_url).flushdb()
        # The receiver under granian (as the web role runs): uvicorn's pure-Python HTTP parser would be the ceiling.
        procs.append(subprocess.Popen([str(ROOT / ".venv" / "bin" / "granian"), "--interface", "asgi", "--factory",
                                       "--host", "127.0.0.1", "--port", str(sandbox_port), "--log-level", "warning",
                                       "--no-ws", "crm_app.sandbox.app:create_app"], env=env, cwd=ROOT,
                                      start_new_session=True, stdout=log, stderr=subprocess.STDOUT))
        wait_port(sandbox_port)
        if args.receiver == "bare":
            hook_port = free_port()
            procs.append(subprocess.Popen([sys.executable, str(ROOT / "bench" / "hook_receiver.py"), str(hook_port),
                                           "--fail", f"c:{args.events // 3}"], cwd=ROOT, start_new_session=True,
                                          stdout=log, stderr=subprocess.STDOUT))
            wait_port(hook_port)
            base = f"http://127.0.0.1:{hook_port}"
        else:
            base = f"http://127.0.0.1:{sandbox_port}"
        print(f"{args.events} events x 3 endpoints (c answers 500 to its first {args.events // 3}), "
              f"{args.default_workers} default workers, rate {args.rate or 'burst'}/s, {args.batch} per commit, "
              f"receiver {args.receiver}, PostgreSQL {name}", flush=True)
        baseline = asyncio.run(_baseline(f"{base}/hooks/baseline"))
        httpx.delete(f"{base}{RECEIVED_PATH[args.receiver]}", timeout=60).raise_for_status()
        if args.receiver == "sandbox":
            httpx.post(f"{base}/sandbox/api/hooks/control", json={"name": "c", "mode": "500",
                                                                  "times": args.events // 3},
                       timeout=10).raise_for_status()
        tenant_id = seed(base)
        procs.append(subprocess.Popen([sys.executable, "-m", "crm_app", "serve", "worker-default"], env=env, cwd=ROOT,
                                      start_new_session=True, stdout=log, stderr=subprocess.STDOUT))
        # The scheduler too, as production runs it: its sweep takes back an attempt whose worker died.
        procs.append(subprocess.Popen([sys.executable, "-m", "crm_app", "serve", "scheduler"], env=env, cwd=ROOT,
                                      start_new_session=True, stdout=log, stderr=subprocess.STDOUT))
        time.sleep(3)  # the workers import and connect before the clock starts
        cpu_before = tree_cpu(procs[-2].pid)
        commits = emit_events(tenant_id, args.events, args.rate, args.batch)
        rows = wait_all_delivered(base, args.receiver, args.events, timeout=240)
        report(rows, commits, args.events, baseline)
        attempts = sum(1 for r in rows if r[0] in NAMES)
        print(f"CPU of the default workers: {tree_cpu(procs[-2].pid) - cpu_before:.1f} s, "
              f"{(tree_cpu(procs[-2].pid) - cpu_before) / attempts * 1000:.2f} ms per attempt; PostgreSQL backends of "
              f"the bench database: {postgres_cpu(name):.1f} s in all (a load-independent figure to compare "
              f"changes by)", flush=True)
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        log.close()
        drop_database(admin_url, name)


if __name__ == "__main__":
    main()
