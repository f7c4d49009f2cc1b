"""Our Starlette routes, driven in-process; readiness against real RQ workers."""

import subprocess
import time

import httpx
import pytest
from sqlmodel import select

from crm_app.api.routes import create_api
from crm_app.domain.urls import safe_next
from crm_app.models import UserSession
from crm_app.queue import get_redis
from crm_app.services.access import logins, sessions
from tests.factories import BROWSER, PASSWORD, make_tenant, make_user


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def test_health_is_liveness(client):
    response = await client.get("/api/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def _exchange(client, ticket: str, next_path: str | None = None, *, browser: str | None = BROWSER, cookie=None):
    """POST a ticket as the login page does: JSON, from a browser with `browser` as its pre-login cookie."""
    jar = {sessions.PRELOGIN_COOKIE: browser, sessions.COOKIE_NAME: cookie}
    headers = {"cookie": "; ".join(f"{k}={v}" for k, v in jar.items() if v)}
    body = {"ticket": ticket, **({"next": next_path} if next_path else {})}
    return client.post("/api/auth/exchange", json=body, headers=headers)


async def test_exchange_sets_an_httponly_samesite_cookie_once(client, db):
    user = make_user(db, make_tenant(db).id)
    ticket, _ = logins.login(user.email, PASSWORD, browser=BROWSER)
    response = await _exchange(client, ticket, "/settings")
    assert response.status_code == 200 and response.json() == {"next": "/settings"}
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert sessions.resolve_actor(token).user_id == user.user_id
    again = await _exchange(client, ticket)
    assert again.status_code == 400 and again.json() == {"next": "/login?expired=1"}
    assert "set-cookie" not in again.headers


async def test_exchange_never_redirects_off_site(client, db):
    user = make_user(db, make_tenant(db).id)
    ticket, _ = logins.login(user.email, PASSWORD, browser=BROWSER)
    response = await _exchange(client, ticket, "//evil.example/x")
    assert response.json() == {"next": "/"}
    assert [safe_next(v) for v in ("https://evil.example", "/\\evil", "/inbox?x=1", None)] == [
        "/", "/", "/inbox?x=1", "/"]


async def test_exchange_is_a_json_post_from_the_browser_the_ticket_is_bound_to(client, db):
    """A GET link, a form post or another browser's POST redeem nothing, and the session of the browser that
    sent a foreign ticket survives (only a successful exchange replaces a browser's session)."""
    user, other = make_user(db, make_tenant(db).id), make_user(db, make_tenant(db).id)
    victims_session = sessions.redeem_login_ticket(logins.login(other.email, PASSWORD, browser=BROWSER)[0],
                                                   browser=BROWSER)
    ticket, _ = logins.login(user.email, PASSWORD, browser=BROWSER)
    assert (await client.get("/api/auth/exchange", params={"ticket": ticket})).status_code == 405
    form = await client.post("/api/auth/exchange", data={"ticket": ticket},
                             headers={"cookie": f"{sessions.PRELOGIN_COOKIE}={BROWSER}"})
    assert form.status_code == 400 and "set-cookie" not in form.headers
    foreign = await _exchange(client, ticket, browser="the-victims-own-pre-login-cookie-0002", cookie=victims_session)
    assert foreign.status_code == 400 and "set-cookie" not in foreign.headers
    assert sessions.resolve_actor(victims_session).user_id == other.user_id
    assert (await _exchange(client, ticket)).status_code == 400  # a foreign attempt used the ticket up


async def test_logout_revokes_the_server_session_and_clears_the_cookie(client, db):
    user = make_user(db, make_tenant(db).id)
    token = sessions.redeem_login_ticket(logins.login(user.email, PASSWORD, browser=BROWSER)[0], browser=BROWSER)
    client.cookies.set(sessions.COOKIE_NAME, token)
    response = await client.post("/api/auth/logout")
    assert response.status_code == 200
    set_cookie = response.headers["set-cookie"]
    assert f'{sessions.COOKIE_NAME}=""' in set_cookie and "Max-Age=0" in set_cookie
    assert sessions.resolve_actor(token) is None
    db.expire_all()
    assert db.exec(select(UserSession)).one().revoked_at is not None
    assert (await client.get("/api/auth/logout")).status_code == 405


def _start(role: str) -> subprocess.Popen:
    """A real process of the given role, as the launcher starts it."""
    from crm_app.config import get_settings
    from crm_app.processes import role_command

    return subprocess.Popen(role_command(role, get_settings()), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


async def _ready(client):
    response = await client.get("/api/ready")
    return response.status_code, response.json()


async def test_ready_is_503_until_every_queue_has_a_worker_and_the_scheduler_runs(client, clean_db):
    from rq import Worker

    from crm_app.processes import WORKER_QUEUES
    from crm_app.queue import ALL_QUEUES, get_queue

    redis = get_redis()
    redis.delete("rq:workers")
    get_queue("bulk").enqueue("workers.jobs.purge_expired_sessions", job_id="ready-depth")
    status, body = await _ready(client)
    assert status == 503 and body["database"]["ok"] and body["redis"]["ok"]
    assert set(body["queues"]) == set(ALL_QUEUES) == {"high", "bot", "default", "bulk"}
    assert all(q["ok"] is False and q["workers"] == 0 for q in body["queues"].values())
    assert body["queues"]["bulk"]["depth"] == 1 and body["queues"]["high"]["depth"] == 0
    procs = {role: _start(role) for role in (*WORKER_QUEUES, "scheduler")}  # each queue's own role
    try:
        def all_up():
            queues = {q for w in Worker.all(connection=redis) for q in w.queue_names()}
            return set(ALL_QUEUES) <= queues and bool(list(redis.scan_iter("rq:scheduler_instance:*")))

        assert _wait(all_up)
        status, body = await _ready(client)
        assert status == 200, body
        assert body["status"] == "ok" and all(w["alive"] for w in body["workers"])
        assert all(q["ok"] and q["workers"] >= 1 for q in body["queues"].values())
        assert all(w["queues"] in (["high"], ["bot"], ["default"], ["bulk"]) for w in body["workers"])
        assert _wait(lambda: len(get_queue("bulk")) == 0)  # the bulk worker took the queued job
        procs["worker-bot"].terminate()
        procs["worker-bot"].wait(timeout=30)
        status, body = await _ready(client)
        assert status == 503 and body["status"] == "degraded"
        assert {name: q["ok"] for name, q in body["queues"].items()} == {
            "high": True, "bot": False, "default": True, "bulk": True}
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=30)
    assert _wait(lambda: not Worker.all(connection=redis))


def test_database_check_fails_on_an_unreachable_server():
    from crm_app.db import make_engine
    from crm_app.services.core import health

    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nope?connect_timeout=2")
    assert health.check_database(dead) == {"ok": False, "error": "OperationalError"}
    assert health.check_database() == {"ok": True}
