"""Database engine, sessions and the column types shared by every model."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import socket
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import String, Text, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Session, create_engine

from crm_app import crypto
from crm_app.config import get_settings


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class insert_clock(FunctionElement):  # noqa: N801 (a SQL function, spelled like one)
    """The database's own clock when a row is inserted, as a column's server default.

    PostgreSQL's `clock_timestamp()` (not `now()`, which is the transaction's start: a transaction held open would
    stamp its rows long before their ids); on SQLite, UTC with microsecond digits, as SQLAlchemy stores datetimes.
    """

    type = DateTime(timezone=True)
    name = "insert_clock"
    inherit_cache = True


@compiles(insert_clock)
def _insert_clock(element, compiler, **kw) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(insert_clock, "postgresql")
def _insert_clock_postgresql(element, compiler, **kw) -> str:
    return "clock_timestamp()"


@compiles(insert_clock, "sqlite")
def _insert_clock_sqlite(element, compiler, **kw) -> str:
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"


class EncryptedString(TypeDecorator):
    """A string encrypted with AES-GCM before it reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else crypto.encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else crypto.decrypt(value)


def short_string(length: int = 255) -> String:
    """A bounded VARCHAR, the same on every backend."""
    return String(length)


def after_commit(session: Session, callback) -> None:
    """Run `callback()` once `session` commits (enqueue jobs, publish events); dropped on rollback."""
    session.info.setdefault("after_commit", []).append(callback)


# SQLAlchemy fires both events for a SAVEPOINT too (`begin_nested`), so each handler first checks that the
# real transaction ended. A callback queued inside a savepoint that rolls back still runs at the outer commit:
# callbacks only enqueue idempotent jobs and publish "look again" notes, which re-read committed state.
@event.listens_for(Session, "after_commit")
def _run_after_commit(session) -> None:
    if session.in_nested_transaction():
        return
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a lost enqueue is recovered by the sweepers
            logging.getLogger(__name__).exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop("after_commit", None)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # What PostgreSQL's `AT TIME ZONE` gives the analytics queries: a stored UTC moment's local day and hour.
    dbapi_connection.create_function("crm_local_date", 2, _sqlite_local_date, deterministic=True)
    dbapi_connection.create_function("crm_local_hour", 2, _sqlite_local_hour, deterministic=True)


def _sqlite_local(value: str | None, tz: str) -> dt.datetime | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(ZoneInfo(tz))


def _sqlite_local_date(value: str | None, tz: str) -> str | None:
    local = _sqlite_local(value, tz)
    return None if local is None else local.date().isoformat()


def _sqlite_local_hour(value: str | None, tz: str) -> int | None:
    local = _sqlite_local(value, tz)
    return None if local is None else local.hour


def make_engine(url: str) -> Engine:
    """Build an engine for a URL, with sane pool settings per backend."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
    # No pool_pre_ping: it costs a round trip on every checkout, the largest single cost of a webhook ack.
    # The trade-off: after PostgreSQL restarts, the first statement on each stale connection fails with a
    # disconnect error. SQLAlchemy then invalidates the whole pool, so only requests already in flight see it:
    # the webhook retries its idempotent insert once (then answers 503 and Meta retries), and a failed job is
    # re-run by the sweeper. pool_recycle bounds how long an idle connection is trusted.
    # hide_parameters: error messages (kept in last_error, worker logs) must not carry phone numbers or bodies.
    return create_engine(url, pool_size=5, max_overflow=10, pool_recycle=1800, hide_parameters=True,
                         connect_args=pg_connect_args())


def pg_connect_args() -> dict[str, int]:
    """libpq parameters that make an unreachable PostgreSQL fail a connection instead of hanging it.

    `connect_timeout` bounds opening one (a silent network never answers the handshake). Keepalive probes
    start after `tcp_keepalive_seconds` of silence, so a server that vanished (a failover, a NAT that forgot
    the flow) is noticed while the connection idles in a pool; `tcp_user_timeout` gives sent but
    unacknowledged data the same budget, because keepalives never fire while data is in flight.
    """
    settings = get_settings()
    idle = settings.tcp_keepalive_seconds
    interval, count = max(1, idle // 3), 3
    return {"connect_timeout": settings.db_connect_timeout, "keepalives": 1, "keepalives_idle": idle,
            "keepalives_interval": interval, "keepalives_count": count,
            "tcp_user_timeout": (idle + interval * count) * 1000}


@functools.lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    settings = get_settings()
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(url)


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_ignoring_conflicts(session: Session | Connection, model, values: dict, conflict_columns: list[str]):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, on PostgreSQL and SQLite alike.

    Takes a session or, on hot paths that skip the ORM, a Core connection.
    Returns the new row's id, or None when a row with the same key already exists.
    """
    dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
    table = model.__table__
    row = {c.name: values[c.name] for c in table.columns if c.name in values}
    statement = _conflict_insert(dialect.name, table, tuple(row), tuple(conflict_columns))
    return session.execute(statement, row).scalar_one_or_none()


@functools.lru_cache(maxsize=128)
def _conflict_insert(dialect_name: str, table, columns: tuple[str, ...], conflict_columns: tuple[str, ...]):
    # One statement per shape, its values bound at execution: building `.values(**row)` on every call
    # cost about a tenth of an inbound event's processing.
    return (insert_statement(dialect_name)(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
            .returning(table.c.id))


def insert_statement(dialect_name: str):
    """The dialect's `insert` construct, which knows ON CONFLICT (PostgreSQL or SQLite)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


ASYNC_APPLICATION_NAME = "crm-webhook-fast-path"  # how these connections show in pg_stat_activity


class AsyncPool:
    """A few autocommit psycopg connections for one event loop, for the webhook's fast path.

    SQLAlchemy's sync engine costs a thread hop per request, and on 2 cores the GIL hand-offs between
    those threads cost more than the statement (bench/RESULTS.md). One INSERT needs no ORM.

    Each use of a connection has a `deadline`: past it, the connection's socket is shut down, so the
    statement fails at once with a psycopg OperationalError (the webhook retries, then answers 503). A
    connection idle for more than `max_idle` seconds is closed rather than reused.
    """

    def __init__(self, conninfo: str, size: int = 4, *, connect_args: dict | None = None,
                 deadline: float | None = None, max_idle: float | None = None, clock=time.monotonic):
        import asyncio

        self.conninfo = conninfo
        self.connect_args = connect_args or {}
        self.deadline, self.max_idle, self._clock = deadline, max_idle, clock
        self._idle: list[tuple[object, float]] = []  # (connection, when it was given back), oldest first
        self._slots = asyncio.Semaphore(size)

    async def discard_idle(self) -> None:
        """Close every idle connection (after one turned out dead, the others probably are too)."""
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await conn.close()

    async def _take_idle(self):
        """The most recently used idle connection, after closing those idle too long; None when none is left."""
        now = self._clock()
        while self._idle and self.max_idle is not None and now - self._idle[0][1] > self.max_idle:
            await self._idle.pop(0)[0].close()
        while self._idle:
            conn, _ = self._idle.pop()
            if not conn.closed:
                return conn
        return None

    @contextlib.asynccontextmanager
    async def connection(self):
        """An idle connection (or a new one); a connection that errored or is mid-transaction is closed."""
        import asyncio

        import psycopg

        await self._slots.acquire()
        conn = timer = None
        try:
            conn = await self._take_idle()
            if conn is None:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True,
                                                             application_name=ASYNC_APPLICATION_NAME,
                                                             **self.connect_args)
            if self.deadline is not None:
                timer = asyncio.get_running_loop().call_later(self.deadline, _sever, conn)
            yield conn
        except BaseException:
            if conn is not None and not conn.closed:
                await conn.close()
            raise
        else:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self._idle.append((conn, self._clock()))
            else:
                await conn.close()
        finally:
            if timer is not None:
                timer.cancel()
            self._slots.release()


def _sever(conn) -> None:
    """Shut down a psycopg connection's socket, so that whatever it waits for fails now.

    Used when a statement outlives its deadline. Cancelling the waiting task instead would make psycopg
    send a cancel request and then wait for the server (up to 10 s) over the same dead network.
    """
    import psycopg

    try:
        fd = conn.pgconn.socket
    except psycopg.OperationalError:  # already closed: nothing waits on it
        return
    sock = socket.socket(fileno=os.dup(fd))  # a duplicate: closing it leaves psycopg's descriptor alone
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


_async_pools: dict[int, tuple[object, AsyncPool]] = {}


def async_pool() -> AsyncPool | None:
    """The running loop's pool of PostgreSQL connections, or None on SQLite (which has no async path)."""
    import asyncio

    from sqlalchemy.engine import make_url

    url = get_settings().effective_database_url
    if not url.startswith("postgresql"):
        return None
    loop = asyncio.get_running_loop()
    entry = _async_pools.get(id(loop))
    if entry is None or entry[0] is not loop:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        settings = get_settings()
        entry = (loop, AsyncPool(conninfo, connect_args=pg_connect_args(), deadline=settings.db_request_deadline,
                                 max_idle=settings.db_pool_max_idle_seconds))
        for key in [k for k, (other, _) in _async_pools.items() if other.is_closed()]:
            del _async_pools[key]  # tests run one loop per test
        _async_pools[id(loop)] = entry
    return entry[1]
