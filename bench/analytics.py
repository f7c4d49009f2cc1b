"""Analytics on a year of data: seed, rebuild the rollups, and time every metrics API call.

    .venv/bin/python bench/analytics.py [--conversations 50000] [--messages 1000000] [--repeat 20] [--keep]

Creates a fresh PostgreSQL database (on TEST_DATABASE_URL's server), migrates it, and seeds one tenant with
200 attendants in 10 teams, 50,000 conversations over 365 days with their facts (a third contained by the bot,
the rest handed off, assigned and mostly answered), 1,000,000 messages, next responses and a presence stretch
per attendant and working day, with set-based `INSERT … SELECT generate_series` statements (minutes, not
hours). Then it rebuilds the rollups (`rollups.rebuild`, as `python -m crm_app rebuild-rollups` does) and
times each `/api/v1/metrics/*` call for 7, 90 and 365 days, with and without filters, in process through the
ASGI app, printing p50/p95 beside a same-run `SELECT count(*) FROM messages` baseline.

Then the exports: a 90-day and a 365-day export of the conversations, as CSV and as XLSX, each run by the export
job in a fresh process (as a forking `bulk` worker runs it), printing its time, rows, file size and the process's
peak RSS: the 365-day export holds four times the rows of the 90-day one in the same memory. Target: the 90-day
export (~12,000 conversations) in at most 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SEED_SQL = [
    # 10 teams open Mon–Fri 08:00–18:00, 200 attendants, 20 per team
    """INSERT INTO teams (tenant_id, name, assignment_mode, business_hours, holidays, created_at)
       SELECT :t, 'Equipe ' || g, 'round_robin',
              '{"mon": [["08:00", "18:00"]], "tue": [["08:00", "18:00"]], "wed": [["08:00", "18:00"]],
                "thu": [["08:00", "18:00"]], "fri": [["08:00", "18:00"]]}', '[]', now()
       FROM generate_series(1, 10) g""",
    """INSERT INTO users (tenant_id, email, name, role, password_hash, is_active, capacity, created_at,
                         is_platform_operator, email_assigned_while_away, locale)
       SELECT :t, 'bench' || g || '@bench.local', 'Atendente ' || g, 'attendant', 'x', true, 10, now(), false, false,
              'pt-BR'
       FROM generate_series(1, 200) g""",
    """INSERT INTO team_members (tenant_id, team_id, user_id, created_at)
       SELECT :t, t.id, u.id, now()
       FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users WHERE email LIKE 'bench%') u
       JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM teams WHERE tenant_id = :t) t
         ON t.k = u.k % 10""",
    """INSERT INTO contacts (tenant_id, phone_e164, name, custom_attributes, search_text, created_at, updated_at)
       SELECT :t, '+55119' || lpad(g::text, 8, '0'), 'Cliente ' || g, '{}', 'cliente ' || g,
              now() - (g % 365) * interval '1 day', now()
       FROM generate_series(1, :n) g""",
    """INSERT INTO contact_inboxes (tenant_id, contact_id, inbox_id, wa_id, created_at)
       SELECT :t, id, :i, substr(phone_e164, 2), now() FROM contacts WHERE tenant_id = :t""",
    # One conversation per contact, spread over the last 365 days at random hours.
    """INSERT INTO conversations (tenant_id, inbox_id, contact_id, contact_inbox_id, status, assignee_id, team_id,
                                 bot_active, unread_count, created_at, closed_at)
       SELECT :t, :i, ci.contact_id, ci.id, 'closed', u.id, tm.team_id, false, 0,
              now() - ((ci.id * 7919) % (365 * 24 * 60)) * interval '1 minute', now()
       FROM contact_inboxes ci
       JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users WHERE email LIKE 'bench%') u
         ON u.k = ci.id % 200
       JOIN team_members tm ON tm.user_id = u.id
       WHERE ci.tenant_id = :t""",
    # Facts: a third contained by the bot, the rest handed off, assigned and (nine in ten) answered.
    """INSERT INTO conversation_facts (tenant_id, conversation_id, cycle, inbox_id, team_id, assignee_id, opened_at,
           handoff_at, handoff_reason, assigned_at, first_human_at, first_human_user_id, closed_at, closed_by,
           reopened, customer_messages, human_messages, bot_messages, transfers, windows_missed, contained,
           unanswered, bot_seconds, bot_business_seconds, queue_seconds, queue_business_seconds, frt_seconds,
           frt_business_seconds, resolution_seconds, resolution_business_seconds, last_customer_at, first_contact)
       SELECT :t, c.id, 0, c.inbox_id, c.team_id, CASE WHEN x.bot THEN NULL ELSE c.assignee_id END, c.created_at,
              CASE WHEN x.bot THEN NULL ELSE c.created_at + x.b * interval '1 second' END,
              CASE WHEN x.bot THEN NULL WHEN c.id % 3 = 0 THEN 'exit_keyword' ELSE 'menu' END,
              CASE WHEN x.bot THEN NULL ELSE c.created_at + (x.b + x.q) * interval '1 second' END,
              CASE WHEN x.bot OR x.silent THEN NULL ELSE c.created_at + (x.b + x.f) * interval '1 second' END,
              CASE WHEN x.bot OR x.silent THEN NULL ELSE c.assignee_id END,
              c.created_at + (x.b + x.f + x.r) * interval '1 second', CASE WHEN x.bot THEN 'bot' ELSE 'human' END,
              false, 10, CASE WHEN x.bot OR x.silent THEN 0 ELSE 7 END, 3, 0,
              CASE WHEN x.silent AND NOT x.bot THEN 1 ELSE 0 END, x.bot, (NOT x.bot) AND x.silent,
              x.b, x.b * 0.4, CASE WHEN x.bot THEN NULL ELSE x.q END, CASE WHEN x.bot THEN NULL ELSE x.q * 0.4 END,
              CASE WHEN x.bot OR x.silent THEN NULL ELSE x.f END,
              CASE WHEN x.bot OR x.silent THEN NULL ELSE x.f * 0.4 END,
              x.b + x.f + x.r, (x.b + x.f + x.r) * 0.4, c.created_at, true
       FROM conversations c,
            LATERAL (SELECT c.id % 3 = 1 AS bot, c.id % 10 = 7 AS silent, 30 + (c.id * 13) % 1200 AS b,
                            (c.id * 31) % 900 AS q, 60 + (c.id * 37) % 20000 AS f, 600 + (c.id * 41) % 200000 AS r
            ) x
       WHERE c.tenant_id = :t""",
    # Messages: `per` per conversation, a minute apart; customer, person and bot in turn.
    """INSERT INTO messages (tenant_id, conversation_id, direction, sender_type, sender_user_id, kind, body,
                            payload, status, created_at, send_attempts)
       SELECT :t, c.id, CASE WHEN k % 4 IN (0, 2) THEN 'inbound' ELSE 'outbound' END,
              CASE WHEN k % 4 IN (0, 2) THEN 'customer' WHEN k % 4 = 1 THEN 'attendant' ELSE 'bot' END,
              CASE WHEN k % 4 = 1 THEN c.assignee_id END, 'text', 'mensagem ' || k, '{}',
              CASE WHEN k % 4 IN (0, 2) THEN 'received' WHEN (c.id + k) % 97 = 0 THEN 'failed' ELSE 'read' END,
              c.created_at + k * interval '1 minute', 1
       FROM conversations c, generate_series(0, :per - 1) k
       WHERE c.tenant_id = :t""",
    """UPDATE messages SET error_code = 131047, error_reason = 'Re-engagement message' WHERE status = 'failed'""",
    # Next responses: three per answered conversation.
    """INSERT INTO conversation_responses (tenant_id, fact_id, kind, at, seconds, business_seconds, user_id)
       SELECT :t, f.id, 'next', f.first_human_at + k * interval '10 minutes', 30 + (f.id * k * 17) % 3000,
              (30 + (f.id * k * 17) % 3000) * 0.5, f.first_human_user_id
       FROM conversation_facts f, generate_series(1, 3) k WHERE f.first_human_at IS NOT NULL""",
    # A label on one conversation in ten, so that the label filter is timed too.
    """INSERT INTO labels (tenant_id, name, color, created_at) VALUES (:t, 'vip', 'teal', now())""",
    """INSERT INTO conversation_labels (tenant_id, conversation_id, label_id)
       SELECT :t, c.id, l.id FROM conversations c JOIN labels l ON l.tenant_id = c.tenant_id AND l.name = 'vip'
       WHERE c.tenant_id = :t AND c.id % 10 = 3""",
    # Presence: every attendant online 08:00–17:00 (UTC−3) on weekdays.
    """INSERT INTO presence_intervals (tenant_id, user_id, status, started_at, last_seen_at, ended_at)
       SELECT :t, u.id, 'online', d + interval '11 hours', d + interval '20 hours', d + interval '20 hours'
       FROM users u, generate_series(date_trunc('day', now()) - interval '365 days', now(), interval '1 day') d
       WHERE u.email LIKE 'bench%' AND extract(isodow FROM d) < 6""",
]


def seed(url: str, conversations: int, messages: int) -> dict:
    """Fill the database; returns ids and the seeding time."""
    from sqlalchemy import create_engine, text

    from crm_app.db import session_scope
    from crm_app.services.access import tenants, users
    from tests.factories import make_inbox

    with session_scope() as session:
        tenant, _ = tenants.ensure_tenant(session, name="Bench", slug="bench")
        tenant_id = tenant.id
        admin, _ = users.ensure_user(session, actor=None, tenant_id=tenant_id, email="admin@bench.local",
                                     name="Admin", role="admin", password="bench-password-1")
        admin_id = admin.id
    with session_scope() as session:
        inbox_id = make_inbox(session, tenant_id).id
    engine = create_engine(url)
    started = time.perf_counter()
    params = {"t": tenant_id, "i": inbox_id, "n": conversations, "per": max(1, messages // conversations)}
    with engine.begin() as conn:
        for statement in SEED_SQL:
            conn.execute(text(statement), params)
        conn.execute(text("ANALYZE"))
        counts = {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in (
            "messages", "conversations", "conversation_facts", "conversation_responses", "presence_intervals")}
        team_id = conn.execute(text("SELECT min(id) FROM teams WHERE tenant_id = :t"), params).scalar()
        user_id = conn.execute(text("SELECT min(id) FROM users WHERE email LIKE 'bench%'")).scalar()
        label_id = conn.execute(text("SELECT id FROM labels WHERE tenant_id = :t AND name = 'vip'"), params).scalar()
    engine.dispose()
    return {"tenant_id": tenant_id, "admin_id": admin_id, "team_id": team_id, "user_id": user_id, "label_id": label_id,
            "seconds": time.perf_counter() - started, "counts": counts}


def rebuild(tenant_id: int) -> float:
    import datetime as dt

    from crm_app.db import session_scope, utcnow
    from crm_app.services.analytics import rollups

    started = time.perf_counter()
    with session_scope() as session:
        rollups.rebuild(session, tenant_id, (utcnow() - dt.timedelta(days=370)).date())
    return time.perf_counter() - started


def baseline(url: str, repeat: int) -> list[float]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    times = []
    with engine.connect() as conn:
        for _ in range(repeat):
            started = time.perf_counter()
            conn.execute(text("SELECT count(*) FROM messages")).scalar()
            times.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return times


async def time_api(ids: dict, repeat: int) -> list[tuple[str, list[float]]]:
    import httpx

    from crm_app.api.routes import create_api
    from crm_app.db import session_scope
    from crm_app.models import User
    from crm_app.services.access import api_tokens
    from crm_app.services.access.sessions import actor_for

    with session_scope() as session:
        admin = actor_for(session.get(User, ids["admin_id"]))
        _, secret = api_tokens.create(session, actor=admin, name="bench", scopes=["metrics:read"])
    headers = {"Authorization": f"Bearer {secret}"}
    results = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://127.0.0.1",
                                 timeout=120) as client:
        for endpoint in ("overview", "timeseries", "attendants"):
            for period in ("7d", "90d", "365d"):
                for label, extra in (("", ""), ("team", f"&team_id={ids['team_id']}"),
                                     ("attendant", f"&attendant_id={ids['user_id']}"),
                                     ("label", f"&label_id={ids['label_id']}" if ids.get("label_id") else "")):
                    if label == "label" and not ids.get("label_id"):  # a database seeded before labels were
                        continue
                    url = f"/api/v1/metrics/{endpoint}?period={period}{extra}"
                    times = []
                    for _ in range(repeat):
                        started = time.perf_counter()
                        response = await client.get(url, headers=headers)
                        times.append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200, response.text[:300]
                    results.append((f"{endpoint} {period} {label or 'no filter'}", times))
    return results


def time_page(url: str, repeat: int) -> list[tuple[str, list[float]]]:
    """Start the whole stack on the database and time /analytics in Chromium until its cards and charts show."""
    import signal
    import socket
    import subprocess
    import tempfile

    from playwright.sync_api import sync_playwright

    def free() -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return str(s.getsockname()[1])

    port = free()
    env = dict(os.environ, DATABASE_URL=url, PORT=port, HOST="127.0.0.1", SANDBOX_PORT=free(),
               SANDBOX_SMTP_PORT=free(), WEB_WORKERS="1", HOT_WORKERS="1")
    log = tempfile.NamedTemporaryFile(prefix="bench-analytics-stack-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "crm_app", "run"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    results = []
    try:
        deadline = time.monotonic() + 600
        while "CRM is running at" not in Path(log.name).read_text(errors="replace"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the stack did not start; see {log.name}")
            time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 1366, "height": 768},
                                       base_url=f"http://127.0.0.1:{port}").new_page()
            page.set_default_timeout(60_000)
            page.goto("/login")
            page.fill("#email", "admin@bench.local")
            page.fill("#password", "bench-password-1")
            page.click("#login-submit")
            page.locator("#user-menu").wait_for()
            for period in ("7d", "90d", "365d"):
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    page.goto(f"/analytics?period={period}")
                    page.locator("#card-frt").filter(has_not_text="—").wait_for()
                    page.locator("#chart-heatmap .js-plotly-plot").wait_for()
                    page.locator("#table-attendants tbody tr").first.wait_for()
                    times.append((time.perf_counter() - started) * 1000)
                results.append((f"page /analytics {period}", times))
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    return results


_EXPORT_CHILD = """
import json, resource, sys, time
from crm_app.services.exports import run
import xlsxwriter  # noqa: F401 - loaded before the baseline, as a worker that ran one export has it
imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.perf_counter()
result = run.run_export(int(sys.argv[1]))
seconds = time.perf_counter() - started
print(json.dumps({"result": result, "seconds": seconds, "imported_rss_mb": imported,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def time_exports(ids: dict) -> list[dict]:
    """Each export job in a process of its own (its peak RSS is the job's own); returns one dict per export."""
    import json
    import subprocess

    from crm_app.db import session_scope
    from crm_app.models import Export, User
    from crm_app.services import exports
    from crm_app.services.access.sessions import actor_for
    from crm_app.services.analytics import criteria

    found = []
    for period in ("90d", "365d"):
        for fmt in ("csv", "xlsx"):
            with session_scope() as session:
                admin = actor_for(session.get(User, ids["admin_id"]))
                since, until = criteria.period(period, criteria.today_for(session, admin.tenant_id))
                row = exports.create_export(session, actor=admin, kind="conversations", format=fmt,
                                            filters=criteria.Filters(since, until), lang="pt-BR")
            child = subprocess.run([sys.executable, "-c", _EXPORT_CHILD, str(row.id)], cwd=ROOT, env=os.environ,
                                   capture_output=True, text=True, timeout=1800)
            if child.returncode != 0:
                raise RuntimeError(child.stderr[-3000:])
            measured = json.loads(child.stdout.strip().splitlines()[-1])
            with session_scope() as session:
                done = session.get(Export, row.id)
                measured.update(period=period, format=fmt, rows=done.rows_done, size_mb=done.size / 1e6,
                                status=done.status)
            found.append(measured)
    return found


def _print_exports(ids: dict) -> None:
    print(f"{'export':<24} {'seconds':>8} {'rows':>8} {'file MB':>8} {'RSS before MB':>14} {'peak RSS MB':>12}")
    for r in time_exports(ids):
        print(f"{'conversations ' + r['period'] + ' ' + r['format']:<24} {r['seconds']:>8.2f} {r['rows']:>8} "
              f"{r['size_mb']:>8.1f} {r['imported_rss_mb']:>14.1f} {r['peak_rss_mb']:>12.1f}  {r['status']}")


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _again(url: str, repeat: int, exports_only: bool = False) -> None:
    from sqlalchemy import create_engine, text

    os.environ.update(DATABASE_URL=url, API_RATE_LIMIT_PER_MINUTE="1000000")
    os.environ.setdefault("REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7"))
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = dict(conn.execute(text(
            "SELECT (SELECT id FROM tenants WHERE slug = 'bench') AS tenant_id, "
            "(SELECT id FROM users WHERE email = 'admin@bench.local') AS admin_id, "
            "(SELECT min(t.id) FROM teams t JOIN tenants n ON n.id = t.tenant_id WHERE n.slug = 'bench') AS team_id, "
            "(SELECT min(id) FROM users WHERE email LIKE 'bench%') AS user_id, "
            "(SELECT min(l.id) FROM labels l JOIN tenants n ON n.id = l.tenant_id WHERE n.slug = 'bench' "
            "AND l.name = 'vip') AS label_id")).mappings().one())
    engine.dispose()
    if exports_only:
        return _print_exports(ids)
    _print(url, ids, repeat)


def _print(url: str, ids: dict, repeat: int) -> None:
    base = baseline(url, repeat)
    print(f"baseline SELECT count(*) FROM messages: p50 {_p(base, .5):.1f} ms, p95 {_p(base, .95):.1f} ms")
    print(f"{'call':<34} {'p50 ms':>8} {'p95 ms':>8}")
    for label, times in asyncio.run(time_api(ids, repeat)):
        print(f"{label:<34} {statistics.median(times):>8.1f} {_p(times, .95):>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", help="time the API again on a database an earlier --keep run left (its URL)")
    parser.add_argument("--page", action="store_true", help="with --reuse: time the page in Chromium instead")
    parser.add_argument("--both", action="store_true", help="with --reuse --page: time the API first, in the same run")
    parser.add_argument("--exports", action="store_true", help="with --reuse: time the exports only")
    args = parser.parse_args()
    if args.reuse and args.page:
        if args.both:
            _again(args.reuse, args.repeat)
        for label, times in time_page(args.reuse, max(3, args.repeat // 4)):
            print(f"{label:<34} {statistics.median(times):>8.1f} {_p(times, .95):>8.1f}  (ms, until cards, "
                  "charts and table show)")
        return None
    if args.reuse:
        return _again(args.reuse, args.repeat, args.exports)
    from ingest import drop_database, setup_database

    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name, url = setup_database(admin_url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7"))
    os.environ["API_RATE_LIMIT_PER_MINUTE"] = "1000000"  # the bench's one token asks far more than 120 a minute
    try:
        from crm_app import migrations

        migrations.upgrade(url)
        ids = seed(url, args.conversations, args.messages)
        print(f"seeded in {ids['seconds']:.1f} s: {ids['counts']}")
        print(f"rebuild-rollups for 370 days: {rebuild(ids['tenant_id']):.1f} s")
        _print(url, ids, args.repeat)
        _print_exports(ids)
    finally:
        if not args.keep:
            from crm_app.db import get_engine

            get_engine().dispose()
            drop_database(admin_url, name)
        else:
            print(f"kept {url}")


if __name__ == "__main__":
    main()
