"""Test setup: a fresh PostgreSQL database per run, Redis db 15, real migrations.

The environment is set before any `crm_app` module reads its settings.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

RUN_ID = uuid.uuid4().hex[:10]
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_DB = f"crm_test_{RUN_ID}"


def _url_for(database: str, base: str = ADMIN_URL) -> str:
    from crm_app.config import normalize_database_url

    prefix, _, _ = normalize_database_url(base).rpartition("/")
    return f"{prefix}/{database}"


def _admin_engine():
    from crm_app.config import normalize_database_url

    return create_engine(normalize_database_url(ADMIN_URL), isolation_level="AUTOCOMMIT")


def create_database(name: str) -> str:
    """CREATE DATABASE on the test server; returns its URL."""
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return _url_for(name)


def drop_database(name: str) -> None:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


DATA_DIR = Path(tempfile.mkdtemp(prefix="crm-test-"))
os.environ.update({
    "ENV": "test",
    "DATA_DIR": str(DATA_DIR),
    "DATABASE_URL": _url_for(TEST_DB),
    "REDIS_URL": REDIS_URL,
    "BCRYPT_ROUNDS": "4",
    "SECRET_KEY": secrets.token_urlsafe(32),
    "ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
})


def pytest_sessionstart(session):
    create_database(TEST_DB)
    from crm_app import migrations

    migrations.upgrade()
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()


def pytest_sessionfinish(session, exitstatus):
    from crm_app.db import get_engine

    get_engine().dispose()
    drop_database(TEST_DB)


TABLES = (
    "audit_logs, audit_details, audit_chain_heads, incidents, "
    "canned_responses, message_templates, conversation_labels, labels, messages, conversation_events, "
    "conversations, contact_inboxes, contacts, inbound_events, inboxes, team_members, teams, "
    "emails, sessions, users, tenants, setting_values, setting_changes, setting_templates, "
    "erasure_ledger"  # no foreign key to cascade from: ids restart, and a stale row would name a new contact
)


def truncate_tables(conn) -> None:
    """Empty every table in `conn`'s transaction. The audit trail refuses TRUNCATE outside the documented purge
    (its trigger checks `crm.audit_purge`), so this transaction opens that door for itself, and only itself."""
    conn.execute(text("SET LOCAL crm.audit_purge = 'on'"))
    conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))


def _truncate(engine, attempts: int = 5) -> None:
    """TRUNCATE every table. A worker of a module-scoped fixture may still be finishing the last test's job
    (a status webhook, a chained event): its row locks and TRUNCATE's table locks can deadlock, and
    PostgreSQL then cancels one of the two. When that is us, go again; the worker's side has finished."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                truncate_tables(conn)
            return
        except OperationalError as exc:
            if "deadlock detected" not in str(exc) or attempt == attempts - 1:
                raise


@pytest.fixture
def clean_db():
    """Empty every table before the test."""
    from crm_app.db import get_engine
    from crm_app.queue import ALL_QUEUES, get_queue, get_redis
    from crm_app.services import settings
    from crm_app.services.audit import reads
    from crm_app.services.channel import ingest

    _truncate(get_engine())
    settings.publish_change()  # the truncated values must not linger in any process's settings cache
    ingest.forget_routes()  # ids restart: a cached route from the last test must not be trusted
    get_redis().delete(*(ingest.drain_flag(slot) for slot in range(ingest.drain_slots())))  # a raised flag
    for name in ALL_QUEUES:  # jobs left by the last test name rows that no longer exist
        get_queue(name).empty()
    reads.forget_seen()  # ids restart: a read "already recorded this hour" was another test's
    get_redis().delete(*get_redis().keys("crm:audit:read:*"), "crm:none")
    yield


@pytest.fixture
def db(clean_db):
    """A session on the test database; the test commits what it wants to keep."""
    from sqlmodel import Session

    from crm_app.db import get_engine

    with Session(get_engine(), expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def redis_client():
    from crm_app.queue import get_redis

    return get_redis()
