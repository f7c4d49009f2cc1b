"""`python -m crm_app run` with no DATABASE_URL and no REDIS_URL: the embedded defaults.

Starts real processes (embedded redis-server, the workers of every queue, scheduler, sandbox),
then Ctrl-C must leave no process behind.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import psutil
from redis import Redis
from rq import Worker
from sqlalchemy import create_engine, text

from crm_app.config import PROJECT_ROOT
from crm_app.processes import ROLES
from crm_app.queue import ALL_QUEUES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_line(proc: subprocess.Popen, needle: str, timeout: float) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        chunk = proc.stdout.readline()
        if chunk:
            lines.append(chunk)
            if needle in chunk:
                return lines
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.1)
    raise AssertionError(f"{needle!r} not seen; output:\n{''.join(lines)}")


def test_embedded_defaults_start_and_ctrl_c_leaves_no_orphans(tmp_path):
    redis_port, sandbox_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(tmp_path), EMBEDDED_REDIS_PORT=str(redis_port), SANDBOX_PORT=str(sandbox_port),
               SANDBOX_SMTP_PORT=str(_free_port()), ENV="development")
    roles = [role for role in ROLES if role != "web"]  # web builds the frontend: tests/e2e covers it
    proc = subprocess.Popen([sys.executable, "-m", "crm_app", "run", "--roles", ",".join(roles)],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = "".join(_wait_for_line(proc, "All roles started.", timeout=90))
        assert "Seeded the demo tenant with 4 users" in output
        assert all(f"started {role} (pid" in output for role in roles)
        # redis-server, the hot pool (+ its workers), one worker per other queue, scheduler, sandbox
        descendants = psutil.Process(proc.pid).children(recursive=True)
        assert len(descendants) >= 7
        redis = Redis(port=redis_port)
        assert redis.ping()

        def served():
            return {q for w in Worker.all(connection=redis) for q in w.queue_names()}

        deadline = time.monotonic() + 60
        while served() != set(ALL_QUEUES) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served() == set(ALL_QUEUES)  # every queue has its own live worker
        engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 4
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        engine.dispose()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    gone, alive = psutil.wait_procs(descendants, timeout=10)
    assert alive == []
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", redis_port)) != 0


class _FakeProc:
    """A child that has exited (or not) with a code, as `subprocess.Popen` reports it."""

    def __init__(self, pid: int, returncode: int | None = None):
        self.pid, self.returncode = pid, returncode

    def poll(self):
        return self.returncode


def test_a_role_that_dies_is_restarted_after_a_backoff_and_a_flapping_one_stops_everything(monkeypatch):
    from crm_app import launcher

    monkeypatch.setattr(launcher, "_signal_group", lambda proc, sig: None)
    now = [0.0]
    started: list[str] = []

    def start(role):
        started.append(role)
        return _FakeProc(1000 + len(started), returncode=None if role == "web" else 1)

    children = {"web": _FakeProc(1, returncode=-9), "sandbox": _FakeProc(2)}
    stop_after = [200]

    def sleep(seconds):
        now[0] += seconds
        stop_after[0] -= 1

    code = launcher._supervise(children, lambda: stop_after[0] <= 0, start, clock=lambda: now[0], sleep=sleep)
    assert code == 0 and started == ["web"]  # restarted once, then it stayed up
    assert children["web"].pid == 1001

    children = {"worker": _FakeProc(3, returncode=1)}
    code = launcher._supervise(children, lambda: False, lambda role: _FakeProc(9, returncode=1),
                               clock=lambda: now[0], sleep=sleep)
    assert code == 1  # it kept dying right after each start
    assert [launcher.restart_delay(n) for n in (1, 2, 3, 6)] == [1, 2, 5, 30]


def test_a_role_that_once_ran_is_retried_for_as_long_as_it_takes(monkeypatch):
    """The scheduler ran for an hour, then Redis went away: it fails again and again, and is never given up."""
    from crm_app import launcher

    monkeypatch.setattr(launcher, "_signal_group", lambda proc, sig: None)
    now = [0.0]

    class Dies(_FakeProc):
        def __init__(self, pid: int, at: float | None):
            super().__init__(pid)
            self.at = at

        def poll(self):
            return 1 if self.at is not None and now[0] >= self.at else None

    attempts: list[float] = []
    children = {"scheduler": Dies(3, at=3600.0)}  # an hour of good service, then Redis goes away

    def start(role):
        attempts.append(now[0])
        return Dies(10 + len(attempts), at=None if len(attempts) > 12 else now[0])  # Redis is back at 13

    def sleep(seconds):
        now[0] += seconds

    code = launcher._supervise(children, lambda: len(attempts) > 12 and now[0] > attempts[-1] + 60, start,
                               clock=lambda: now[0], sleep=sleep)
    assert code == 0 and len(attempts) == 13 and children["scheduler"].pid == 23
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert max(gaps) < 31 and gaps[-1] >= 29  # backing off to 30 s, not stopping
