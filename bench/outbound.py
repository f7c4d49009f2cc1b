"""Outbound delivery: throughput at Meta's rate limit, per-conversation order, and what it costs the hot workers.

    .venv/bin/python bench/outbound.py [--messages 2000] [--conversations 200] [--hot-workers 4] [--rate 80]

It starts, on this machine: a fresh PostgreSQL database (on TEST_DATABASE_URL's server), the sandbox (the
fake Graph API, refusing more than `--rate` sends per number in any sliding second with 130429, as Meta
does), and the hot-worker pool exactly as production starts it (`python -m crm_app serve worker-hot`,
HOT_WORKERS=N, under `nice`). First the baseline: a bare httpx client (4 threads) sends straight to the fake
for a few seconds, which shows what the fake itself accepts. Then `--messages` bot texts are queued to
`--conversations` conversations, each conversation's share in a row (rapid replies, the case where order
can break), each in its own transaction, before the workers start: a burst such as a busy hour or a
campaign leaves. The clock runs from the workers' start to the last message sent. Every figure about sends
is measured at the fake, from its receive timestamps; order is checked per conversation against creation
order.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
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


def most_in_any_second(times: list[float]) -> int:
    """The largest number of `times` inside one half-open second [t, t + 1)."""
    times, most, start = sorted(times), 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def stamp(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def baseline(base: str, settings) -> str:
    """A bare httpx client against the fake: 4 threads sending one customer texts for BASELINE_SECONDS."""
    import httpx

    wa_id = "5511999999999"
    httpx.post(f"{base}/sandbox/api/faults", json={"status_mode": "none"}).raise_for_status()  # no webhooks
    httpx.post(f"{base}/sandbox/api/window", json={"wa_id": wa_id}).raise_for_status()
    url = f"{base}/graph/v23.0/{settings.demo_wa_phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {settings.demo_wa_access_token.get_secret_value()}"}
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id, "type": "text",
            "text": {"body": "baseline"}}
    deadline = time.monotonic() + BASELINE_SECONDS

    def hammer(_) -> tuple[int, list[float]]:
        sent, accepted = 0, []
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < deadline:
                if client.post(url, json=body, headers=headers).status_code == 200:
                    accepted.append(time.time())
                sent += 1
        return sent, accepted

    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(hammer, range(4)))
    took = time.monotonic() - began
    requests, accepted = sum(r[0] for r in results), [t for r in results for t in r[1]]
    return (f"{'baseline (bare httpx)':<24}{requests / took:>7.0f} requests/s to the fake, "
            f"{len(accepted) / took:>5.1f} accepted/s (counted by the client), max {most_in_any_second(accepted)} "
            f"accepted in any sliding second, {requests - len(accepted)} refused with 130429")


def seed(conversations: int) -> tuple[int, list[int]]:
    """A tenant whose inbox is the fake's number, and conversations whose customers wrote just now."""
    from crm_app import migrations
    from crm_app.config import get_settings
    from crm_app.db import session_scope, utcnow
    from crm_app.models import Contact, ContactInbox, Conversation
    from crm_app.services.access import tenants
    from crm_app.services.channel import numbers

    settings = get_settings()
    migrations.upgrade()
    with session_scope() as s:
        tenant, _ = tenants.ensure_tenant(s, name="Bench", slug="bench")
        inbox, _ = numbers.ensure_inbox(
            s, actor=None, tenant_id=tenant.id, name="Bench", phone_number_id=settings.demo_wa_phone_number_id,
            waba_id=settings.demo_wa_waba_id, display_number="+55 11 4000-0001",
            access_token=settings.demo_wa_access_token.get_secret_value(), app_secret="bench", verify_token="v",
            graph_base_url=f"{settings.sandbox_url}/graph/v23.0")
        ids = []
        for i in range(conversations):
            contact = Contact(tenant_id=tenant.id, phone_e164=f"+55119{i:08d}")
            s.add(contact)
            s.flush()
            link = ContactInbox(tenant_id=tenant.id, contact_id=contact.id, inbox_id=inbox.id, wa_id=f"55119{i:08d}")
            s.add(link)
            s.flush()
            conversation = Conversation(tenant_id=tenant.id, inbox_id=inbox.id, contact_id=contact.id,
                                        contact_inbox_id=link.id, bot_active=False,
                                        last_customer_message_at=utcnow())
            s.add(conversation)
            s.flush()
            ids.append(conversation.id)
        return tenant.id, ids


def queue_messages(tenant_id: int, conversation_ids: list[int], messages: int) -> float:
    """Each conversation's messages in a row, body `c<conv>-m<n>` (its n-th), one commit each."""
    from crm_app.db import session_scope
    from crm_app.services.channel import outbound

    began, per_conversation = time.perf_counter(), -(-messages // len(conversation_ids))
    for k in range(messages):
        index, n = k // per_conversation, k % per_conversation
        with session_scope() as s:
            outbound.send_message(s, actor=None, tenant_id=tenant_id, conversation_id=conversation_ids[index],
                                  content={"type": "text", "body": f"c{index:04d}-m{n:04d}"})
    return time.perf_counter() - began


def count_sent(url: str) -> int:
    from ingest import count

    return count(url, "SELECT count(*) FROM messages WHERE status IN ('sent', 'failed')")


def wait_delivered(url: str, messages: int) -> None:
    """Until every message is sent or failed, or nothing moved for 60 s."""
    last, moved = -1, time.monotonic()
    while (done := count_sent(url)) < messages:
        if done != last:
            last, moved = done, time.monotonic()
        if time.monotonic() - moved > 60:
            print(f"stalled at {done} of {messages} messages sent or failed")
            return
        time.sleep(0.25)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group `pgid` (the worker pool)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, …, utime (11), stime (12)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def worker_stats() -> tuple[float, int, int]:
    """(busy seconds, jobs run, workers) summed over the hot workers, as RQ records them."""
    from rq.worker import Worker

    from crm_app.queue import get_queue

    workers = Worker.all(queue=get_queue("high"))
    busy = sum(w.total_working_time or 0 for w in workers)
    jobs = sum((w.successful_job_count or 0) + (w.failed_job_count or 0) for w in workers)
    return busy, jobs, len(workers)


def report(base: str, url: str, messages: int, conversations: int, queued_in: float, wall: float,
           workers: tuple[float, int, int], hot_workers: int, cpu: float, started: float) -> None:
    import httpx
    from ingest import rows

    sent = [r for r in httpx.get(f"{base}/sandbox/api/sent", timeout=60).json() if r["kind"] == "message"]
    sent.sort(key=lambda r: r["seq"])
    accepted = [r for r in sent if r["http_status"] == 200]
    times = [stamp(r["received_at"]) for r in accepted]
    bodies = [r["body"]["text"]["body"] for r in accepted]
    inversions, last_seen = 0, {}
    for body in bodies:
        conversation, n = body.split("-")
        if n < last_seen.get(conversation, ""):
            inversions += 1
        last_seen[conversation] = max(n, last_seen.get(conversation, ""))
    created = dict(rows(url, "SELECT body, extract(epoch FROM created_at) FROM messages"))
    latencies = [t - max(float(created[b]), started) for b, t in zip(bodies, times, strict=True) if b in created]
    span = max(times) - min(times) if len(times) > 1 else float("nan")
    busy, jobs, seen = workers
    statuses = dict(rows(url, "SELECT status, count(*) FROM messages GROUP BY status"))
    print(f"{'delivery':<24}{len(accepted) / span:>7.1f} sends/s accepted by the fake (first to last accepted, "
          f"{span:.1f} s); {messages} queued in {queued_in:.1f} s beforehand; {wall:.1f} s from the workers' start "
          f"to the last sent")
    received = most_in_any_second([stamp(r["received_at"]) for r in sent])
    print(f"{'rate':<24}max {most_in_any_second(times)} accepted and {received} received in any sliding second; "
          f"{len(sent) - len(accepted)} refused by the fake (130429)")
    print(f"{'order':<24}{inversions} order violations in {conversations} conversations; lost "
          f"{messages - len(set(bodies))}, duplicated {len(bodies) - len(set(bodies))}; statuses {statuses}")
    print(f"{'latency':<24}workers' start -> accepted p50 {pct(latencies, 50):.2f} s, p95 {pct(latencies, 95):.2f} s, "
          f"max {max(latencies):.2f} s")
    print(f"{'hot workers':<24}{seen} registered, busy {busy:.1f} s of {hot_workers} x {wall:.1f} s "
          f"({100 * busy / (hot_workers * wall):.0f} %), {jobs} jobs run ({jobs / messages:.2f} per message), "
          f"{1000 * busy / max(len(accepted), 1):.1f} ms busy per message sent; CPU {cpu:.1f} s "
          f"({1000 * cpu / max(len(accepted), 1):.1f} ms per message sent)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--hot-workers", type=int, default=4)
    parser.add_argument("--rate", type=int, default=80, help="the fake's limit and ours, per number per second")
    args = parser.parse_args()
    from ingest import drop_database, free_port, setup_database, wait_port

    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    name, url = setup_database(admin_url)
    sandbox_port = free_port()
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, ENV="test", PYTHONPATH=str(ROOT),
               SANDBOX_PORT=str(sandbox_port), SANDBOX_SMTP_PORT=str(free_port()),
               SANDBOX_RATE_LIMIT_PER_SECOND=str(args.rate),
               WA_RATE_LIMIT_PER_SECOND=str(args.rate), HOT_WORKERS=str(args.hot_workers),
               SANDBOX_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/nobody")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "ENV", "SANDBOX_PORT",
                                           "SANDBOX_RATE_LIMIT_PER_SECOND", "WA_RATE_LIMIT_PER_SECOND")})
    procs: list[subprocess.Popen] = []
    log = open(f"/tmp/{name}_workers.log", "w")  # noqa: SIM115 - closed with the processes
    try:
        import httpx
        from redis import Redis

        from crm_app.config import get_settings

        Redis.from_url(redis_url).flushdb()
        procs.append(subprocess.Popen([sys.executable, "-m", "crm_app", "serve", "sandbox"], env=env, cwd=ROOT,
                                      start_new_session=True, stdout=log, stderr=subprocess.STDOUT))
        wait_port(sandbox_port)
        base = f"http://127.0.0.1:{sandbox_port}"
        print(f"{args.messages} messages to {args.conversations} conversations, {args.hot_workers} hot workers, "
              f"limit {args.rate}/s (ours and the fake's), PostgreSQL {name}", flush=True)
        print(baseline(base, get_settings()), flush=True)
        httpx.delete(f"{base}/sandbox/api/state", timeout=60).raise_for_status()
        httpx.post(f"{base}/sandbox/api/faults", json={"status_mode": "none"}).raise_for_status()
        tenant_id, conversation_ids = seed(args.conversations)
        for i in range(args.conversations):
            httpx.post(f"{base}/sandbox/api/window", json={"wa_id": f"55119{i:08d}"}).raise_for_status()
        queued_in = queue_messages(tenant_id, conversation_ids, args.messages)
        procs.append(subprocess.Popen([sys.executable, "-m", "crm_app", "serve", "worker-hot"], env=env, cwd=ROOT,
                                      start_new_session=True, stdout=log, stderr=subprocess.STDOUT))
        began, started = time.perf_counter(), time.time()
        wait_delivered(url, args.messages)
        wall = time.perf_counter() - began
        stats, cpu = worker_stats(), group_cpu_seconds(procs[-1].pid)
        report(base, url, args.messages, args.conversations, queued_in, wall, stats, args.hot_workers, cpu, started)
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
