"""Our Starlette routes, driven in-process; readiness against real RQ workers."""

import subprocess
import sys
import time

import httpx
import pytest
from sqlmodel import select

from crm_app.api.routes import create_api, safe_next
from crm_app.models import UserSession
from crm_app.queue import get_redis
from crm_app.services import auth
from tests.factories import PASSWORD, make_tenant, make_user


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def test_health_is_liveness(client):
    response = await client.get("/api/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_exchange_sets_an_httponly_samesite_cookie_once(client, db):
    user = make_user(db, make_tenant(db).id)
    ticket, _ = auth.login(user.email, PASSWORD)
    response = await client.get("/api/auth/exchange", params={"ticket": ticket, "next": "/settings"})
    assert response.status_code == 303 and response.headers["location"] == "/settings"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{auth.COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert auth.resolve_actor(token).user_id == user.user_id
    again = await client.get("/api/auth/exchange", params={"ticket": ticket})
    assert again.status_code == 303 and again.headers["location"] == "/login?expired=1"
    assert "set-cookie" not in again.headers


async def test_exchange_never_redirects_off_site(client, db):
    user = make_user(db, make_tenant(db).id)
    ticket, _ = auth.login(user.email, PASSWORD)
    response = await client.get("/api/auth/exchange", params={"ticket": ticket, "next": "//evil.example/x"})
    assert response.headers["location"] == "/"
    assert [safe_next(v) for v in ("https://evil.example", "/\\evil", "/inbox?x=1", None)] == [
        "/", "/", "/inbox?x=1", "/"]


async def test_logout_revokes_the_server_session_and_clears_the_cookie(client, db):
    user = make_user(db, make_tenant(db).id)
    token = auth.redeem_login_ticket(auth.login(user.email, PASSWORD)[0])
    client.cookies.set(auth.COOKIE_NAME, token)
    response = await client.post("/api/auth/logout")
    assert response.status_code == 200
    assert f'{auth.COOKIE_NAME}=""' in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    assert auth.resolve_actor(token) is None
    db.expire_all()
    assert db.exec(select(UserSession)).one().revoked_at is not None
    assert (await client.get("/api/auth/logout")).status_code == 405


def _start_hot_worker() -> subprocess.Popen:
    from crm_app.config import get_settings

    argv = [sys.executable, "-m", "rq.cli", "worker-pool", "high", "-n", "1", "-w", "rq.worker.SimpleWorker",
            "-S", "json", "-u", get_settings().effective_redis_url]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


async def test_ready_reports_503_without_a_hot_worker_and_200_with_one(client, clean_db):
    from rq import Worker

    get_redis().delete("rq:workers")  # no leftovers from other tests
    response = await client.get("/api/ready")
    body = response.json()
    assert response.status_code == 503 and body["database"]["ok"] and body["redis"]["ok"]
    assert body["hot_workers"]["ok"] is False and set(body["queues"]) == {"high", "default", "low"}
    worker = _start_hot_worker()
    try:
        assert _wait(lambda: any("high" in w.queue_names() for w in Worker.all(connection=get_redis())))
        response = await client.get("/api/ready")
        assert response.status_code == 200, response.json()
        assert response.json()["hot_workers"]["ok"] is True
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert _wait(lambda: not Worker.all(connection=get_redis()))
    assert (await client.get("/api/ready")).status_code == 503


def test_database_check_fails_on_an_unreachable_server():
    from crm_app.db import make_engine
    from crm_app.services import health

    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nope?connect_timeout=2")
    assert health.check_database(dead) == {"ok": False, "error": "OperationalError"}
    assert health.check_database() == {"ok": True}
