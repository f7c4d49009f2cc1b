"""The settings cache across processes: a second Python process reading through `settings.value` sees a change
made here within a second, and reads nothing from PostgreSQL while its cache is warm."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from crm_app.config import get_settings
from crm_app.services import settings
from tests.factories import make_tenant
from tests.support.faults import FaultProxy

ROOT = Path(__file__).resolve().parents[3]
KEY = "security.session_idle_minutes"


def _start_reader(redis_url: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, **({"REDIS_URL": redis_url} if redis_url else {}))
    child = subprocess.Popen([sys.executable, "-m", "tests.support.settings_reader"], cwd=ROOT, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    assert json.loads(child.stdout.readline()) == {"ready": True}
    return child


@pytest.fixture
def redis_proxy():
    url = urlparse(get_settings().effective_redis_url)
    proxy = FaultProxy(url.hostname, url.port or 6379)
    port = proxy.start()
    yield proxy, f"redis://127.0.0.1:{port}{url.path or '/0'}"
    proxy.close()


@pytest.fixture
def reader():
    child = _start_reader()

    def ask(key: str, tenant_id: int | None) -> dict:
        child.stdin.write(f"{key} {'-' if tenant_id is None else tenant_id}\n")
        child.stdin.flush()
        return json.loads(child.stdout.readline())

    yield ask
    child.stdin.close()
    child.wait(timeout=10)


def _seen_within(ask, tenant_id: int, expected: int, seconds: float) -> float:
    """Ask the other process until it answers `expected`; return how long that took (fails past `seconds`)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if ask(KEY, tenant_id)["value"] == expected:
            return time.monotonic() - start
    raise AssertionError(f"the other process still had the old value after {seconds}s")


def test_another_process_sees_a_tenant_change_within_a_second_and_warm_reads_run_no_sql(db, reader):
    tenant = make_tenant(db)
    assert reader(KEY, tenant.id)["value"] == 30  # the default, from config
    warm = reader(KEY, tenant.id)["statements"]
    for _ in range(20):
        assert reader(KEY, tenant.id) == {"value": 30, "statements": warm}

    settings.update(db, actor=None, changes={KEY: 45}, tenant_id=tenant.id)
    db.commit()
    assert _seen_within(reader, tenant.id, 45, 1.0) < 1.0
    warm = reader(KEY, tenant.id)["statements"]
    assert reader(KEY, tenant.id) == {"value": 45, "statements": warm}


def test_another_process_sees_a_global_change_and_the_tenant_value_still_wins(db, reader):
    tenant, other = make_tenant(db), make_tenant(db)
    settings.update(db, actor=None, changes={KEY: 90}, tenant_id=tenant.id)
    db.commit()
    assert reader(KEY, tenant.id)["value"] == 90
    assert reader(KEY, other.id)["value"] == 30

    settings.update(db, actor=None, changes={KEY: 60}, tenant_id=None)
    db.commit()
    _seen_within(reader, other.id, 60, 1.0)
    assert reader(KEY, tenant.id)["value"] == 90

    settings.update(db, actor=None, changes={KEY: settings.INHERIT}, tenant_id=tenant.id)
    db.commit()
    _seen_within(reader, tenant.id, 60, 1.0)


def test_a_process_that_loses_redis_still_sees_a_change_within_a_second(db, redis_proxy):
    """PostgreSQL is the truth: without Redis the cache expires by time instead of by the shared version."""
    proxy, proxied_url = redis_proxy
    tenant = make_tenant(db)
    child = _start_reader(proxied_url)
    try:
        def ask(key, tenant_id):
            child.stdin.write(f"{key} {tenant_id}\n")
            child.stdin.flush()
            return json.loads(child.stdout.readline())

        assert ask(KEY, tenant.id)["value"] == 30
        proxy.set_mode("refuse")
        settings.update(db, actor=None, changes={KEY: 55}, tenant_id=tenant.id)
        db.commit()
        assert _seen_within(ask, tenant.id, 55, 1.5) < 1.5
    finally:
        child.stdin.close()
        child.wait(timeout=10)
