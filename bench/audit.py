"""The audit trail at 10 million entries: seeding by COPY, then search timings next to a same-run count(*).

    .venv/bin/python bench/audit.py [--entries 10000000] [--keep]
    .venv/bin/python bench/audit.py --database crm_bench_xxxxxxxx   # measure again a database kept by --keep

Creates a fresh PostgreSQL database (on TEST_DATABASE_URL's server), migrates it, creates one tenant with 40 users,
and COPYs `--entries` sealed entries (a real hash chain, computed here) and their side rows, with the indexes
built after the load, so seeding takes minutes. Then it times the trail's own search (`trail.search`, the service
the page calls, 50 rows a page with names and side values) for each filter, each query run 5 times after a warm-up,
and prints the median and worst next to `SELECT count(*) FROM audit_logs` timed in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

ACTIONS = ["conversation.view"] * 30 + ["conversation.close"] * 8 + ["conversation.take_over"] * 8 + \
    ["conversation.transfer"] * 4 + ["contact.view"] * 10 + ["contact.update"] * 4 + ["auth.login"] * 6 + \
    ["auth.logout"] * 5 + ["conversation.note"] * 5 + ["settings.update"] * 1 + ["user.role_change"]
TARGETS = {"conversation": 200_000, "contact": 150_000, "user": 40, "settings": 1}
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=700)
INDEXES = [
    "CREATE INDEX ix_audit_logs_tenant_id ON audit_logs (tenant_id)",
    "CREATE INDEX ix_audit_logs_tenant_id_id ON audit_logs (tenant_id, id)",
    "CREATE UNIQUE INDEX ix_audit_logs_tenant_seq ON audit_logs (tenant_id, seq)",
    "CREATE INDEX ix_audit_logs_tenant_actor ON audit_logs (tenant_id, actor_user_id, id)",
    "CREATE INDEX ix_audit_logs_tenant_action ON audit_logs (tenant_id, action, id)",
    "CREATE INDEX ix_audit_logs_tenant_target ON audit_logs (tenant_id, target_type, target_id, id)",
    "CREATE INDEX ix_audit_logs_tenant_ip ON audit_logs (tenant_id, ip, id)",
    "CREATE INDEX ix_audit_logs_tenant_created ON audit_logs (tenant_id, created_at)",
    "CREATE INDEX ix_audit_logs_unsealed ON audit_logs (tenant_id, id) WHERE hash IS NULL",
]


def _target(n: int, action: str) -> tuple[str, str]:
    kind = action.split(".")[0]
    kind = {"auth": "user", "user": "user"}.get(kind, kind)
    return kind, str(1 + (n * 7919) % TARGETS.get(kind, 1))


def seed(conn, tenant_id: int, users: list[int], entries: int) -> None:
    """COPY `entries` sealed entries and their side rows, chaining them as the sealing job would."""
    from crm_app.domain.audit_chain import GENESIS, ChainFields, details_digest, entry_hash

    names = {u: f"Pessoa {u}" for u in users}
    prev, step = GENESIS, SPAN / entries
    with conn.cursor() as cur:
        for statement in INDEXES:
            cur.execute(f"DROP INDEX IF EXISTS {statement.split()[2 if 'UNIQUE' not in statement else 3]}")
        with cur.copy("COPY audit_logs (id, tenant_id, actor_user_id, action, target_type, target_id, ip, created_at,"
                      " digest, seq, prev_hash, hash, sealed_at) FROM STDIN") as logs:
            details = []
            for n in range(1, entries + 1):
                action = ACTIONS[(n * 31) % len(ACTIONS)]
                actor = users[(n * 13) % len(users)]
                kind, target = _target(n, action)
                ip = f"10.{(n // 65536) % 4}.{(n // 256) % 256}.{n % 256}" if n % 3 else f"203.0.113.{actor % 200}"
                created = START + step * n
                salt = f"{n:032x}"
                after = {"n": n} if "view" in action else {"status": "closed", "name": f"Cliente {target}"}
                digest = details_digest(salt, names[actor], {}, after)
                fields = ChainFields(n, tenant_id, n, actor, action, kind, target, ip, created, digest)
                link, prev = prev, entry_hash(prev, fields)
                logs.write_row((n, tenant_id, actor, action, kind, target, ip, created, digest, n, link, prev,
                                created))
                details.append((digest, tenant_id, salt, names[actor], "{}", json.dumps(after)))
                if len(details) == 200_000:
                    _details(conn, details)
                    details = []
                    if n % 1_000_000 == 0:
                        print(f"  {n:,} entries copied", flush=True)
            _details(conn, details)
        cur.execute("SELECT setval(pg_get_serial_sequence('audit_logs', 'id'), %s)", (entries,))
        cur.execute("INSERT INTO audit_chain_heads (tenant_id, seq, hash, purged_seq, purged_hash, updated_at) "
                    "VALUES (%s, %s, %s, 0, '', now())", (tenant_id, entries, prev))
    conn.commit()


def _details(conn, rows) -> None:
    """On a second connection: one connection cannot run two COPYs at once."""
    import psycopg

    if "side" not in _SIDE:
        _SIDE["side"] = psycopg.connect(conn.info.dsn, password=conn.info.password or None, autocommit=True)
    statement = "COPY audit_details (digest, tenant_id, salt, actor_label, before, after) FROM STDIN"
    with _SIDE["side"].cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


_SIDE: dict = {}


def timed(fn, runs: int = 5) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--database", help="measure a database kept by an earlier --keep run (migrated to head "
                                           "first, not seeded again, kept)")
    args = parser.parse_args()
    from ingest import drop_database, setup_database

    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if args.database:
        from crm_app.config import normalize_database_url

        os.environ["DATABASE_URL"] = url = normalize_database_url(admin_url).rpartition("/")[0] + f"/{args.database}"
        remeasure(url)
        return
    name, url = setup_database(admin_url)
    os.environ["DATABASE_URL"] = url
    try:
        run(url, args.entries)
    finally:
        if not args.keep:
            from crm_app.db import get_engine

            get_engine().dispose()
            drop_database(admin_url, name)


def run(url: str, entries: int) -> None:
    import psycopg
    from sqlalchemy import text

    from crm_app import migrations
    from crm_app.db import get_engine, session_scope
    from crm_app.services.access import tenants, users

    migrations.upgrade(url)
    with session_scope() as session:
        tenant, _ = tenants.ensure_tenant(session, name="Bench", slug="bench")
        ids = [users.ensure_user(session, actor=None, tenant_id=tenant.id, email=f"u{i}@bench.local",
                                 name=f"Pessoa {i}", role="admin" if i == 0 else "attendant",
                                 password="bench-password-1")[0].id for i in range(40)]
        session.execute(text("SET LOCAL crm.audit_purge = 'on'"))  # a fresh bench database: the guard allows it
        session.execute(text("TRUNCATE audit_logs, audit_details, audit_chain_heads"))
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("SET session_replication_role = replica")  # the load writes sealed rows directly
        seed(conn, tenant.id, ids, entries)
        copied = time.perf_counter() - started
        print(f"copied {entries:,} entries and side rows in {copied:.0f} s", flush=True)
        for statement in INDEXES:
            conn.execute(statement)
        conn.commit()
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE audit_logs"))
        c.execute(text("VACUUM ANALYZE audit_details"))
    print(f"seeded and indexed in {time.perf_counter() - started:.0f} s", flush=True)
    measure(tenant.id, ids)


def remeasure(url: str) -> None:
    """Migrate the kept database to head (the code's indexes and triggers) and measure it again."""
    from sqlalchemy import text

    from crm_app import migrations
    from crm_app.db import get_engine

    migrations.upgrade(url)
    with get_engine().connect() as conn:
        tenant_id = conn.execute(text("SELECT id FROM tenants WHERE slug = 'bench'")).scalar_one()
        ids = list(conn.execute(text("SELECT id FROM users WHERE tenant_id = :t ORDER BY id"), {"t": tenant_id})
                   .scalars())
        entries = conn.execute(text("SELECT max(id) FROM audit_logs")).scalar_one()
    print(f"re-measuring {args_label(url)}: {entries:,} entries", flush=True)
    measure(tenant_id, ids)


def args_label(url: str) -> str:
    return url.rpartition("/")[2]


def measure(tenant_id: int, ids: list[int]) -> None:
    from sqlalchemy import text
    from sqlmodel import Session, select

    from crm_app.db import get_engine
    from crm_app.models import User
    from crm_app.services.access.sessions import actor_for
    from crm_app.services.audit import trail

    with Session(get_engine()) as session:
        admin = actor_for(session.exec(select(User).where(User.id == ids[0])).one())
        count_ms, count_max = timed(lambda: session.execute(text("SELECT count(*) FROM audit_logs")).scalar())
        middle = START + SPAN / 2
        mid_id = session.execute(text("SELECT max(id) / 2 FROM audit_logs")).scalar()
        F = trail.TrailFilter
        cases = {
            "newest page, no filter": (F(), None),
            "by actor": (F(actor_user_id=ids[7]), None),
            "by action (common)": (F(action="conversation.close"), None),
            "by action (rare: user.role_change)": (F(action="user.role_change"), None),
            "by action family (auth.)": (F(action="auth."), None),
            "by object type and id": (F(target_type="conversation", target_id="4242"), None),
            "by IP": (F(ip="203.0.113.17"), None),
            "by one day in the middle": (F(since=middle, until=middle + dt.timedelta(days=1)), None),
            "actor + one day": (F(actor_user_id=ids[7], since=middle, until=middle + dt.timedelta(days=1)), None),
            "actor + rare action": (F(actor_user_id=ids[7], action="user.role_change"), None),
            "keyset page in the middle": (F(), mid_id),
            "by action, page in the middle": (F(action="conversation.close"), mid_id),
            # the worst cases of a range: a month, a rare action inside a day, a range with nothing in it, and a
            # combination that matches nothing (the walk reaches the end of its bounds)
            "a month in the middle": (F(since=middle, until=middle + dt.timedelta(days=30)), None),
            "one day + rare action": (F(action="user.role_change", since=middle,
                                        until=middle + dt.timedelta(days=1)), None),
            "a day with no entries (before the first)": (F(since=START - dt.timedelta(days=2),
                                                           until=START - dt.timedelta(days=1)), None),
            "one day + an IP with no entries": (F(ip="198.51.100.1", since=middle,
                                                  until=middle + dt.timedelta(days=1)), None),
            "actor + action it never did": (F(actor_user_id=ids[7], action="tenant.create"), None),
        }
        print(f"\nbaseline SELECT count(*) FROM audit_logs: median {count_ms:.0f} ms (max {count_max:.0f} ms)")
        print(f"{'search (50 rows, names and side values)':45} {'median ms':>10} {'max ms':>8} {'rows':>5}")
        for label, (filters, before) in cases.items():
            result = {}

            def run_once(filters=filters, before=before, result=result):
                session.rollback()
                result["n"] = len(trail.search(session, actor=admin, filters=filters, before_id=before).rows)

            median, worst = timed(run_once)
            print(f"{label:45} {median:10.1f} {worst:8.1f} {result['n']:5}", flush=True)


if __name__ == "__main__":
    main()
