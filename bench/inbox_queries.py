"""Inbox reads at scale: the list, opening a conversation and search, over 10,000 conversations and 1M messages.

    .venv/bin/python bench/inbox_queries.py [--conversations 10000] [--messages 1000000] [--repeat 30]

Seeds a fresh database with bench/inbox_data.py, then times the service calls the inbox page makes
(the same calls the REST API makes), each `--repeat` times, beside a baseline from the same run: one
`SELECT 1` round trip on the same connection. The browser-side figures (login to a rendered list, etc.)
come from bench/realtime.py.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def timed(repeat: int, call) -> list[float]:
    call()  # warm: plans cached, pages in memory
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def row(name: str, values: list[float]) -> str:
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return f"{name:<46} p50 {q[49]:7.2f} ms  p95 {q[94]:7.2f} ms  max {max(values):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()
    import inbox_data

    url = inbox_data.build(args.conversations, args.messages)
    os.environ.update(DATABASE_URL=url, ENV="test")
    from sqlalchemy import text

    from crm_app.db import session_scope
    from crm_app.services import inbox
    from crm_app.services.core.actors import Actor

    try:
        with session_scope() as session:
            users = {r.role: r for r in session.execute(text(
                "SELECT DISTINCT ON (role) id, tenant_id, role, name, email FROM users ORDER BY role, id"))}
        actors = {role: Actor(r.id, r.tenant_id, r.role, r.name, r.email) for role, r in users.items()}
        supervisor, attendant = actors["supervisor"], actors["attendant"]
        with session_scope() as session:
            ids = [r[0] for r in session.execute(text("SELECT id FROM conversations WHERE assignee_id = :u"),
                                                 {"u": attendant.user_id})]
        rng = random.Random(7)
        print(f"database {url.rpartition('/')[2]}: {args.conversations} conversations, {args.messages} messages")
        with session_scope() as session:
            print(row("baseline: SELECT 1", timed(args.repeat, lambda: session.execute(text("SELECT 1")).scalar())))

            def first_page(actor, tab, **kw):
                return lambda: inbox.list_conversations(session, actor=actor, tab=tab, **kw)

            print(row("list 'all' first page (supervisor, with total)", timed(args.repeat,
                                                                            first_page(supervisor, "all"))))
            print(row("list 'mine' first page (attendant)", timed(args.repeat, first_page(attendant, "mine"))))
            print(row("list sorted by window closing", timed(args.repeat,
                                                              first_page(supervisor, "all", sort="window"))))
            page = inbox.list_conversations(session, actor=supervisor, tab="all")
            print(row("list 'all' second page (cursor)", timed(args.repeat, first_page(
                supervisor, "all", cursor=page.next_cursor))))
            print(row("tab counts", timed(args.repeat, lambda: inbox.tab_counts(session, actor=supervisor))))

            def open_one():
                cid = rng.choice(ids)
                inbox.get_conversation(session, actor=attendant, conversation_id=cid)
                inbox.list_messages(session, actor=attendant, conversation_id=cid)

            print(row("open a conversation (detail + 50 messages)", timed(args.repeat, open_one)))
            for label, query in (("search a name, accents ignored", "João Silva"),
                                 ("search a phone fragment", "1190000123"),
                                 ("search a word in message text", "pedido 77777"),
                                 ("search a common word", "piscina")):
                print(row(f"{label} ({query!r})", timed(args.repeat, first_page(supervisor, "all", query=query))))
    finally:
        if not args.keep:
            from ingest import drop_database

            drop_database(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
                          url.rpartition("/")[2])


if __name__ == "__main__":
    main()
