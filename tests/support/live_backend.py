"""The real web process without its frontend build: Reflex's backend (our routes, `/_event`, `/_upload`, the
middlewares, the real-time listener) served by uvicorn on a free port, on the test PostgreSQL and Redis.

Security tests drive it over real HTTP and a real websocket (tests/support/reflex_socket.py), as an attacker
would, in seconds instead of the minutes a frontend build takes. `create()` is the uvicorn factory; it also
writes the app's HTTP routes to `CRM_TEST_ROUTES_FILE`, so the isolation suite enumerates what really runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from crm_app.config import PROJECT_ROOT
from crm_app.processes import REFLEX_STATE_ENV

ROUTES_FILE_ENV = "CRM_TEST_ROUTES_FILE"
APP_NAME = "crm-test-backend"  # its PostgreSQL connections' application_name (libpq's PGAPPNAME)


def create():
    """The ASGI app of `crm_app.web` (pages evaluated, not compiled), its route table written out."""
    from starlette.routing import Route

    from crm_app.web import app

    asgi = app()
    routes = []
    for route in app._api.routes:
        if isinstance(route, Route):
            routes += [f"{m} {route.path}" for m in sorted((route.methods or {"GET"}) - {"HEAD"})]
        else:
            routes.append(f"{type(route).__name__} {getattr(route, 'path', '?')}")
    Path(os.environ[ROUTES_FILE_ENV]).write_text(json.dumps(sorted(routes)))
    return asgi


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[tuple[str, list[str]]]:
    """Start the backend; yields (base URL, its HTTP routes) and stops it afterwards."""
    from crm_app.config import get_settings

    port = _free_port()
    routes_file = workdir / "routes.json"
    redis_url = get_settings().effective_redis_url  # the test run's own db, for Reflex's state too
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "REFLEX_REDIS_URL": redis_url,
           "REFLEX_WEB_WORKDIR": str(workdir / ".web"), "REFLEX_UPLOADED_FILES_DIR": str(workdir / "uploads"),
           "REFLEX_ENV_MODE": "prod",
           "__REFLEX_SKIP_COMPILE": "true",  # Reflex's own switch: evaluate the pages, build no frontend
           "REFLEX_TELEMETRY_ENABLED": "false", "PYTHONUNBUFFERED": "1", ROUTES_FILE_ENV: str(routes_file),
           "PGAPPNAME": APP_NAME, **REFLEX_STATE_ENV}  # Reflex's state kept as in production
    log = workdir / "backend.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "tests.support.live_backend:create", "--host",
             "127.0.0.1", "--port", str(port), "--ws", "wsproto", "--lifespan", "on", "--log-level", "warning"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, base, log)
        yield base, json.loads(routes_file.read_text())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(proc: subprocess.Popen, base: str, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/ping", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the backend did not start:\n{log.read_text(errors='replace')[-4000:]}")


def wait_until_idle(timeout: float = 15.0) -> None:
    """Poll until none of the backend's database connections is running a statement or holding a transaction.

    Between tests: the next test's TRUNCATE must not meet a push or a chained event of this one half-way.
    """
    from sqlalchemy import text

    from crm_app.db import get_engine

    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name AND state <> 'idle'")
    deadline = time.monotonic() + timeout
    with get_engine().connect() as conn:
        while conn.execute(query, {"name": APP_NAME}).scalar():
            conn.rollback()
            if time.monotonic() > deadline:
                raise TimeoutError("the backend kept working on the database")
            time.sleep(0.05)
