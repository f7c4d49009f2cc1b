"""The whole stack as `make run` starts it, on PostgreSQL and Redis, driven by Chromium."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from crm_app.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"
STACK_ENV: dict[str, str] = {}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_banner(proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "CRM is running at" in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise RuntimeError(f"stack did not start:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    """Start `python -m crm_app run` on an empty database; stop it after the e2e tests."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    # Two e2e runs on one checkout would build the frontend into the same .web directory at once.
    with open(PROJECT_ROOT / ".web-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield from _stack(tmp_path_factory)


def _stack(tmp_path_factory):
    from crm_app.db import get_engine
    from tests.conftest import truncate_tables

    with get_engine().begin() as conn:
        truncate_tables(conn)
    port = _free_port()
    # REALTIME_RECONNECT_DELAY: test_inbox_resync.py writes messages while the real-time listener is away.
    # TRUSTED_PROXIES: test_behind_proxy.py plays a reverse proxy on 127.0.0.1 (a browser sends no such headers).
    STACK_ENV.update(PORT=str(port), SANDBOX_PORT=str(_free_port()), SANDBOX_SMTP_PORT=str(_free_port()),
                     HOST="127.0.0.1", WEB_WORKERS="1",
                     HOT_WORKERS="1", REALTIME_RECONNECT_DELAY="6", TRUSTED_PROXIES="127.0.0.1/32")
    env = dict(os.environ, **STACK_ENV)
    log = tmp_path_factory.mktemp("stack") / "stack.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "crm_app", "run"], cwd=PROJECT_ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_banner(proc, log, timeout=600)
        yield f"http://127.0.0.1:{port}"
    finally:
        children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        _, alive = psutil.wait_procs(children, timeout=10)
        for p in alive:
            p.kill()
        assert alive == [], f"processes outlived the launcher: {alive}"


@pytest.fixture(scope="package")
def browser(stack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=stack)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shoot(page, name: str) -> None:
    """Save the page at desktop and phone width, for people to look at."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-1366.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}-390.png"))
    page.set_viewport_size({"width": 1366, "height": 768})


def logout(page) -> None:
    """Log out through the user menu; wait until the logout request has answered and the page is the login form
    it leads to (the push about the revoked session may reach the tab first, with a /login?expired=1 URL)."""
    with page.expect_response(lambda response: response.url.endswith("/api/auth/logout")):
        page.click("#user-menu")
        page.click("#logout")
    page.wait_for_url(re.compile(r"/login/?$"))


def login(page, email: str, password: str = "demo1234") -> None:
    page.goto("/login")
    page.wait_for_selector("#email")
    page.wait_for_load_state("networkidle")  # a click before hydration would submit the form natively
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login-submit")
