"""Screenshots of every logged-in page at 1366x768 and 390x844, for people to look at.

Starts the stack the way `tests/e2e/conftest.py` does (a fresh PostgreSQL database, migrations,
the demo seed, `python -m crm_app run`), logs in as the demo admin (and a platform operator for
the platform pages) and saves `<page>-<width>.png` into the output folder.

    .venv/bin/python tests/e2e/screenshots.py --out /tmp/shots/after [--root /path/to/checkout]
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SHOTS_REDIS_URL", "redis://127.0.0.1:6379/10")
OPERATOR = ("ops@plataforma.local", "farol-da-plataforma-9")

# (name, route, who): "admin", "supervisor", "agent" or "operator".
PAGES = [
    ("inbox", "/inbox", "admin"),
    ("analytics", "/analytics", "admin"),
    ("compliance", "/compliance", "admin"),
    ("compliance-requests", "/compliance/requests", "admin"),
    ("compliance-consents", "/compliance/consents", "admin"),
    ("compliance-retention", "/compliance/retention", "admin"),
    ("compliance-audit", "/compliance/audit", "admin"),
    ("compliance-incidents", "/compliance/incidents", "admin"),
    ("analytics-me", "/analytics/me", "agent"),
    ("settings", "/settings", "admin"),
    ("settings-numbers", "/settings/numbers", "admin"),
    ("settings-users", "/settings/users", "admin"),
    ("settings-teams", "/settings/teams", "admin"),
    ("settings-security", "/settings/security", "admin"),
    ("settings-sso", "/settings/sso", "admin"),
    ("settings-webhooks", "/settings/webhooks", "admin"),
    ("settings-bot", "/settings/bot", "admin"),
    ("settings-knowledge", "/settings/knowledge", "admin"),
    ("settings-canned", "/settings/canned", "admin"),
    ("settings-email", "/settings/email", "admin"),
    ("settings-general", "/settings/general", "admin"),
    ("account", "/account", "admin"),
    ("inbox-agent", "/inbox", "agent"),
    ("settings-canned-supervisor", "/settings/canned", "supervisor"),
    ("platform-tenants", "/platform/tenants", "operator"),
    ("platform-settings", "/platform/settings", "operator"),
]
USERS = {"admin": ("admin@demo.local", "demo1234"), "supervisor": ("supervisor@demo.local", "demo1234"),
         "agent": ("ana@demo.local", "demo1234"), "operator": OPERATOR}

MAKE_OPERATOR = """
from crm_app.db import session_scope
from crm_app.services.access import tenants, users
with session_scope() as session:
    tenant, _ = tenants.ensure_tenant(session, name="Plataforma", slug="plataforma")
    users.ensure_user(session, actor=None, tenant_id=tenant.id, email={email!r}, name="Olga Operadora",
                      role="admin", password={password!r}, is_platform_operator=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin(sql: str) -> None:
    from crm_app.config import normalize_database_url

    engine = create_engine(normalize_database_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _environment(database: str, port: int) -> dict[str, str]:
    from crm_app.config import normalize_database_url

    prefix, _, _ = normalize_database_url(ADMIN_URL).rpartition("/")
    return dict(os.environ, ENV="test", DATA_DIR=tempfile.mkdtemp(prefix="crm-shots-"),
                DATABASE_URL=f"{prefix}/{database}", REDIS_URL=REDIS_URL, BCRYPT_ROUNDS="4",
                SECRET_KEY=secrets.token_urlsafe(32),
                ENCRYPTION_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                PORT=str(port), SANDBOX_PORT=str(_free_port()), SANDBOX_SMTP_PORT=str(_free_port()),
                HOST="127.0.0.1", WEB_WORKERS="1",
                HOT_WORKERS="1")


def _start(root: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "crm_app", "run"], cwd=root, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if "CRM is running at" in log.read_text(errors="replace"):
                return proc
            time.sleep(0.5)
    except BaseException:
        _stop(proc)
        raise
    _stop(proc)
    raise RuntimeError(f"stack did not start:\n{log.read_text(errors='replace')[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _login(page, email: str, password: str) -> None:
    page.goto("/login")
    page.wait_for_selector("#email")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)


def _shoot(browser, base: str, out: Path, only: set[str]) -> None:
    contexts = {}
    for name, route, who in PAGES:
        if only and name not in only:
            continue
        if who not in contexts:
            context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base)
            page = context.new_page()
            page.set_default_timeout(30_000)
            _login(page, *USERS[who])
            contexts[who] = page
        page = contexts[who]
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(route)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / f"{name}-1366.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(700)
        page.screenshot(path=str(out / f"{name}-390.png"))
        print(f"{name}: {page.url}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--only", nargs="*", default=[], help="page names to shoot (default: all)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(args.root))  # crm_app of the checkout being shot
    from playwright.sync_api import sync_playwright
    from redis import Redis

    database = f"crm_shots_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{database}"')
    Redis.from_url(REDIS_URL).flushdb()
    env = _environment(database, _free_port())
    try:
        # The same lock as the e2e suite: one frontend build per checkout at a time.
        with open(args.root / ".web-build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            proc = _start(args.root, env, Path(env["DATA_DIR"]) / "stack.log")
            try:
                subprocess.run([sys.executable, "-c", MAKE_OPERATOR.format(email=OPERATOR[0], password=OPERATOR[1])],
                               cwd=args.root, env=env, check=True)
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    _shoot(browser, f"http://127.0.0.1:{env['PORT']}", args.out, set(args.only))
                    browser.close()
            finally:
                _stop(proc)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
