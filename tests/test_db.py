"""Connection hygiene of the PostgreSQL pools: connect timeout, keepalives, a deadline and idle-age recycling."""

import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from crm_app.config import get_settings
from crm_app.db import AsyncPool, async_pool, get_engine, pg_connect_args

HYGIENE = ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
           "tcp_user_timeout")


def _conninfo() -> str:
    url = get_settings().effective_database_url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_both_pools_open_connections_with_a_timeout_and_keepalives():
    wanted = {name: str(value) for name, value in pg_connect_args().items()}
    assert set(wanted) == set(HYGIENE) and int(wanted["connect_timeout"]) >= 2
    with get_engine().connect() as conn:
        sync_params = conn.connection.dbapi_connection.info.get_parameters()
    async with async_pool().connection() as conn:
        async_params = conn.info.get_parameters()
    await async_pool().discard_idle()  # other tests count this pool's connections on the server
    for params in (sync_params, async_params):
        assert {name: params.get(name) for name in HYGIENE} == wanted


async def test_an_idle_connection_past_its_age_is_closed_not_reused():
    now = [0.0]
    pool = AsyncPool(_conninfo(), max_idle=60, clock=lambda: now[0])
    async with pool.connection() as conn:
        first = conn
    now[0] = 59.0
    async with pool.connection() as conn:
        assert conn is first  # idle for less than max_idle: reused
    now[0] = 120.0
    async with pool.connection() as conn:
        assert conn is not first and first.closed  # idle for 61 s: closed, and a fresh one opened
    await pool.discard_idle()


async def test_a_statement_past_the_deadline_fails_at_once_and_its_connection_is_dropped():
    pool = AsyncPool(_conninfo(), deadline=0.3)
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_sleep(5)")  # a server that answers nothing for 5 s
    assert time.monotonic() - started < 2 and conn.closed and pool._idle == []
    async with pool.connection() as fresh:  # the next use gets a working connection
        assert (await (await fresh.execute("SELECT 1")).fetchone()) == (1,)
        # The server would sleep on for 5 s (nothing tells it the client left); other tests count its backends.
        await fresh.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND query = 'SELECT pg_sleep(5)' AND pid <> pg_backend_pid()")
    await pool.discard_idle()
