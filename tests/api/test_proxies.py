"""Behind a reverse proxy: `X-Forwarded-For`/`-Proto` count only from a peer in `TRUSTED_PROXIES`.

Driven through the whole web stack in-process, as tests/api/test_hardening.py does: the hardening middleware
around our routes and stand-ins for what Reflex serves, with the TCP peer chosen per client.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from pydantic import ValidationError
from reflex.app import EventNamespace
from reflex.istate.data import RouterData
from sqlmodel import select
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from crm_app.api import hardening
from crm_app.api.routes import create_api
from crm_app.config import Settings, get_settings
from crm_app.db import session_scope
from crm_app.models import AuditLog, User
from crm_app.services import settings
from crm_app.services.access import sessions
from tests.factories import make_tenant, make_user

PROXY = "10.20.30.40"
CUSTOMER = "203.0.113.50"
SPOOFED = "198.51.100.66"
FORWARDED = {"x-forwarded-for": CUSTOMER, "x-forwarded-proto": "https"}


async def _whoami(request):
    return JSONResponse({"ip": request.client.host if request.client else None, "scheme": request.url.scheme})


async def _cookie(request):
    response = JSONResponse({})
    response.set_cookie("probe", "1", httponly=True, samesite="lax")
    return response


async def _socket(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_json({"scope": {"client": list(websocket.scope["client"]),
                                         "scheme": websocket.scope["scheme"],
                                         "headers": [[k.decode(), v.decode()] for k, v in websocket.scope["headers"]]}})
    await websocket.close()


def _app():
    """Our API behind the hardening middleware, with stand-ins that show what a route and a socket see."""
    return hardening.wrap(Starlette(routes=[
        Route("/whoami", _whoami), Route("/cookie", _cookie), WebSocketRoute("/_event", _socket),
        Mount("", create_api()),
    ]))


def _client(peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=_app(), client=(peer, 51000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000")


@pytest.fixture
def trusted(clean_db):
    """10.0.0.0/8 trusted, as an operator sets it: the install's value of system.trusted_proxies."""
    with session_scope() as session:
        settings.update(session, actor=None, tenant_id=None, changes={"system.trusted_proxies": "10.0.0.0/8"})
    yield
    with session_scope() as session:
        settings.update(session, actor=None, tenant_id=None, changes={"system.trusted_proxies": None})


@pytest.fixture
def proxy() -> str:
    """A proxy address of its own per test, so that rate-limit windows of other tests never count."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.40"


async def test_without_trusted_proxies_the_forwarded_headers_change_nothing(proxy):
    async with _client(proxy) as client:
        seen = (await client.get("/whoami", headers=FORWARDED)).json()
        health = await client.get("/api/health", headers=FORWARDED)
        cookie = await client.get("/cookie", headers=FORWARDED)
    assert seen == {"ip": proxy, "scheme": "http"}
    assert "strict-transport-security" not in health.headers
    assert "secure" not in cookie.headers["set-cookie"].lower()


async def test_from_a_trusted_proxy_the_client_and_scheme_are_its_report(trusted, proxy):
    async with _client(proxy) as client:
        seen = (await client.get("/whoami", headers={
            "x-forwarded-for": f"{SPOOFED}, {CUSTOMER}, 10.9.9.9", "x-forwarded-proto": "https"})).json()
        health = await client.get("/api/health", headers=FORWARDED)
        cookie = await client.get("/cookie", headers=FORWARDED)
        plain = await client.get("/cookie", headers={"x-forwarded-for": CUSTOMER, "x-forwarded-proto": "http"})
    # the right-most address that is not one of our proxies; what the client wrote to its left is ignored
    assert seen == {"ip": CUSTOMER, "scheme": "https"}
    assert "max-age=" in health.headers["strict-transport-security"]
    assert "; secure" in cookie.headers["set-cookie"].lower()
    assert "secure" not in plain.headers["set-cookie"].lower()


async def test_a_peer_outside_the_trusted_networks_is_not_believed(trusted):
    async with _client("192.0.2.99") as client:
        seen = (await client.get("/whoami", headers=FORWARDED)).json()
        health = await client.get("/api/health", headers=FORWARDED)
    assert seen == {"ip": "192.0.2.99", "scheme": "http"}
    assert "strict-transport-security" not in health.headers


async def test_rate_limits_count_the_forwarded_client_only_from_a_trusted_proxy(monkeypatch, proxy):
    monkeypatch.setattr(get_settings(), "api_ip_rate_limit_per_minute", 2)
    first, second = (f"203.0.{uuid.uuid4().int % 250}.{n}" for n in (1, 2))
    async with _client(proxy) as client:
        # not trusted: forged addresses do not buy a fresh window, everyone behind the peer shares it
        statuses = [(await client.get("/api/docs", headers={"x-forwarded-for": f"198.51.100.{n}"})).status_code
                    for n in range(3)]
        assert statuses == [200, 200, 429]
        monkeypatch.setattr(get_settings(), "trusted_proxies", "10.0.0.0/8")
        mine = [(await client.get("/api/docs", headers={"x-forwarded-for": first})).status_code for _ in range(2)]
        # a client that writes another address in front of its own is still itself
        forged = await client.get("/api/docs", headers={"x-forwarded-for": f"{SPOOFED}, {first}"})
        other = await client.get("/api/docs", headers={"x-forwarded-for": second})
    assert mine == [200, 200] and forged.status_code == 429 and other.status_code == 200


@pytest.mark.parametrize("believed", [True, False])
async def test_audit_rows_record_the_forwarded_client_only_from_a_trusted_proxy(db, monkeypatch, proxy, believed):
    if believed:
        monkeypatch.setattr(get_settings(), "trusted_proxies", "10.0.0.0/8")
    actor = make_user(db, make_tenant(db).id, "attendant")
    with session_scope() as s:
        token = sessions.open_session(s, user=s.get(User, actor.user_id))
    async with _client(proxy) as client:
        client.cookies.set("crm_session", token)
        response = await client.post("/api/auth/logout", headers={**FORWARDED, "sec-fetch-site": "same-origin"})
    assert response.status_code == 200
    row = db.exec(select(AuditLog).where(AuditLog.action == "auth.logout")).one()
    assert row.ip == (CUSTOMER if believed else proxy)


def _socket_scope(peer: str) -> dict:
    with TestClient(_app(), base_url="http://127.0.0.1:3000", client=(peer, 52000)) as client:
        with client.websocket_connect("/_event", headers={**FORWARDED, "origin": "http://127.0.0.1:3000"}) as ws:
            return ws.receive_json()["scope"]


@pytest.mark.parametrize("believed", [True, False])
def test_reflex_events_see_the_forwarded_client_only_from_a_trusted_proxy(monkeypatch, believed):
    """Reflex takes `router.session.client_ip` (what states give the audit log) from its socket's scope."""
    if believed:
        monkeypatch.setattr(get_settings(), "trusted_proxies", "10.0.0.0/8")
    scope = _socket_scope(PROXY)
    scope["client"] = tuple(scope["client"])
    scope["headers"] = [(k.encode(), v.encode()) for k, v in scope["headers"]]
    router_data = EventNamespace._build_static_router_data(None, "sid", {"asgi.scope": scope})
    router = RouterData.from_router_data(router_data)
    assert router.session.client_ip == (CUSTOMER if believed else PROXY)
    assert scope["scheme"] == ("wss" if believed else "ws")


def test_a_mistyped_trusted_proxy_stops_the_settings_from_loading():
    with pytest.raises(ValidationError, match="10.0.0.0/33"):
        Settings(trusted_proxies="10.0.0.0/8, 10.0.0.0/33")
    assert hardening.trusted_networks(Settings(trusted_proxies="").trusted_proxies) == ()
