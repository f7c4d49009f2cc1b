"""A large demo tenant for the inbox benchmarks: 10,000 conversations and 1,000,000 messages.

    .venv/bin/python bench/inbox_data.py [--conversations 10000] [--messages 1000000]

Creates a fresh PostgreSQL database (on TEST_DATABASE_URL's server), migrates it, seeds the demo tenant
(users, team, sandbox inbox) and then bulk-inserts contacts, conversations and messages with SQL
`generate_series`, so that seeding takes a minute rather than an hour. Prints the database URL; other
benchmarks import `build()`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Pure ASCII words, so that PostgreSQL's lower() folds them the way domain.search.fold does.
FIRST = ["ana", "bruno", "carla", "diego", "elisa", "fabio", "gabriela", "heitor", "iris", "joao", "karina",
         "lucas", "marina", "nicolas", "olivia", "paulo", "queila", "rafael", "sofia", "tiago"]
LAST = ["silva", "souza", "oliveira", "santos", "pereira", "lima", "carvalho", "ferreira", "rodrigues", "almeida",
        "costa", "gomes", "martins", "araujo", "barbosa", "ribeiro", "alves", "monteiro", "mendes", "freitas"]
WORDS = ["quero", "reservar", "quarto", "para", "casal", "amanha", "qual", "valor", "diaria", "cafe", "incluso",
         "pix", "cartao", "check-in", "horario", "estacionamento", "piscina", "obrigado", "confirmado", "pedido",
         "entrega", "troca", "boleto", "cancelar", "suite", "vista", "mar", "familia", "pet", "desconto"]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


def build(conversations: int = 10_000, messages: int = 1_000_000, *, admin_url: str | None = None) -> str:
    """Create and fill a database; returns its SQLAlchemy URL."""
    sys.path.insert(0, str(ROOT / "bench"))
    from ingest import setup_database
    from sqlalchemy import create_engine, text

    admin_url = admin_url or os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    _, url = setup_database(admin_url)
    os.environ["DATABASE_URL"] = url
    from crm_app import migrations
    from crm_app.db import session_scope
    from crm_app.services import demo

    migrations.upgrade(url)
    with session_scope() as session:
        demo.seed_demo(session)
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        tenant_id, inbox_id = conn.execute(text("SELECT tenant_id, id FROM inboxes LIMIT 1")).one()
        users = [r[0] for r in conn.execute(text(
            "SELECT id FROM users WHERE role = 'attendant' ORDER BY id"))]
        team_id = conn.execute(text("SELECT id FROM teams LIMIT 1")).scalar()
        params = {"t": tenant_id, "i": inbox_id, "n": conversations, "team": team_id}
        conn.execute(text(f"""
            INSERT INTO contacts (tenant_id, phone_e164, name, email, custom_attributes, search_text,
                                  created_at, updated_at)
            SELECT :t, '+55119' || lpad(g::text, 8, '0'),
                   initcap(({_array(FIRST)})[1 + g % 20] || ' ' || ({_array(LAST)})[1 + (g / 20) % 20]),
                   NULL, '{{}}',
                   ({_array(FIRST)})[1 + g % 20] || ' ' || ({_array(LAST)})[1 + (g / 20) % 20]
                       || ' 55119' || lpad(g::text, 8, '0'),
                   now(), now()
            FROM generate_series(1, :n) g"""), params)
        conn.execute(text("""
            INSERT INTO contact_inboxes (tenant_id, contact_id, inbox_id, wa_id, created_at)
            SELECT :t, id, :i, substr(phone_e164, 2), now() FROM contacts WHERE tenant_id = :t"""), params)
        # A quarter each: Ana's, Bruno's, unassigned (waiting for a human), with the bot; one in ten closed.
        conn.execute(text(f"""
            INSERT INTO conversations (tenant_id, inbox_id, contact_id, contact_inbox_id, status, assignee_id,
                                       team_id, bot_active, unread_count, created_at, closed_at)
            SELECT :t, :i, ci.contact_id, ci.id,
                   CASE WHEN ci.id % 10 = 0 THEN 'closed' ELSE 'open' END,
                   CASE ci.id % 4 WHEN 0 THEN {users[0]} WHEN 1 THEN {users[1]} ELSE NULL END,
                   :team, ci.id % 4 = 3, ci.id % 3, now() - interval '30 days',
                   CASE WHEN ci.id % 10 = 0 THEN now() - interval '1 day' END
            FROM contact_inboxes ci WHERE ci.tenant_id = :t"""), params)
        conv_ids = conn.execute(text("SELECT min(id), max(id) FROM conversations")).one()
        per = max(1, messages // conversations)
        conn.execute(text(f"""
            INSERT INTO messages (tenant_id, conversation_id, direction, sender_type, sender_user_id, kind, body,
                                  search_text, payload, status, send_attempts, created_at)
            SELECT :t, :lo + (g / :per), CASE WHEN g % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                   CASE WHEN g % 2 = 0 THEN 'customer' ELSE 'attendant' END, NULL, 'text', w.body, w.body, '{{}}',
                   CASE WHEN g % 2 = 0 THEN 'received' ELSE 'read' END, 0,
                   now() - interval '30 days' + (g % :per) * interval '1 minute' + (g / :per) * interval '2 second'
            FROM generate_series(0, :m - 1) g,
                 LATERAL (SELECT ({_array(WORDS)})[1 + g % 30] || ' ' || ({_array(WORDS)})[1 + (g / 7) % 30]
                          || ' ' || ({_array(WORDS)})[1 + (g / 11) % 30] || ' pedido ' || g AS body) w"""),
                     {**params, "lo": conv_ids[0], "per": per, "m": messages})
        conn.execute(text("""
            UPDATE conversations c SET last_message_at = m.last_at, last_customer_message_at = m.last_at,
                   last_message_preview = left(m.body, 200)
            FROM (SELECT DISTINCT ON (conversation_id) conversation_id, created_at AS last_at, body
                  FROM messages ORDER BY conversation_id, id DESC) m
            WHERE m.conversation_id = c.id"""))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"seeded {conversations} conversations and {messages} messages in {time.perf_counter() - started:.0f} s",
          flush=True)
    return url


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    print(build(args.conversations, args.messages))
