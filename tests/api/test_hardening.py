"""The hardening middleware around our routes, driven in-process: headers, CSRF, rate and size limits.

The real stack (Reflex's built pages, assets and the /_event socket) is covered by tests/e2e/test_hardening.py.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from crm_app.api import hardening
from crm_app.api.routes import create_api
from crm_app.config import Environment, get_settings
from crm_app.services.access import logins, sessions
from tests.factories import BROWSER, PASSWORD, make_tenant, make_user

SCRIPT = b"window.__boot = {route: 'login'};"
PAGE = b"<!doctype html><html><head><script type=\"module\" src=\"/assets/app.js\"></script><script>" + SCRIPT + \
    b"</script></head><body></body></html>"
APP = "http://127.0.0.1:3000"


async def _page(request):
    return HTMLResponse(PAGE)


async def _asset(request):
    return PlainTextResponse("console.log(1)", media_type="text/javascript")


async def _echo(request):
    return PlainTextResponse(f"{len(await request.body())} bytes")


async def _socket(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def _app():
    """Our API plus stand-ins for what Reflex serves (a built page, an asset, the event socket)."""
    return hardening.wrap(Starlette(routes=[
        Route("/login", _page), Route("/assets/app.js", _asset), WebSocketRoute("/_event", _socket),
        Route("/echo", _echo, methods=["POST"]),  # a route that reads its body, as a JSON route would
        Mount("", create_api()),
    ]))


def _client(ip: str | None = None, base_url: str = APP) -> httpx.AsyncClient:
    """A client from its own IP, so that rate-limit windows of other tests never count."""
    transport = httpx.ASGITransport(app=_app(), client=(ip or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7",
                                                        1234))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


def _csp(response) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2]
            for d in response.headers["content-security-policy"].split(";")}


def _common(response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'"
    assert csp.get("object-src", "'none'") == "'none'" and "default-src" in csp


async def test_pages_get_a_csp_with_the_hashes_of_their_own_inline_scripts():
    async with _client() as client:
        page = await client.get("/login")
    _common(page)
    csp = _csp(page)
    digest = base64.b64encode(hashlib.sha256(SCRIPT).digest()).decode()
    assert f"'sha256-{digest}'" in csp["script-src"].split()
    assert "'unsafe-inline'" not in csp["script-src"] and csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'self'" and "ws://127.0.0.1:3000" in csp["connect-src"]
    assert page.content == PAGE  # the body goes through untouched
    assert "strict-transport-security" not in page.headers  # ENV=test over http


async def test_assets_and_api_routes_get_the_headers_too():
    async with _client() as client:
        asset = await client.get("/assets/app.js")
        api = await client.get("/api/health")
        docs = await client.get("/api/docs")
    _common(asset)
    _common(api)
    assert _csp(asset)["object-src"] == "'none'" and "sha256-" not in asset.headers["content-security-policy"]
    assert _csp(api)["default-src"] == "'none'"
    assert _csp(docs)["base-uri"] == "'none'" and docs.headers["x-content-type-options"] == "nosniff"  # its own


async def test_hsts_only_in_production_or_over_https(monkeypatch):
    async with _client(base_url="https://127.0.0.1:3000") as client:
        assert "max-age=31536000" in (await client.get("/api/health")).headers["strict-transport-security"]
    monkeypatch.setattr(get_settings(), "env", Environment.PRODUCTION)
    async with _client() as client:
        assert "includeSubDomains" in (await client.get("/login")).headers["strict-transport-security"]


@pytest.fixture
def session_token(db):
    user = make_user(db, make_tenant(db).id)
    return sessions.redeem_login_ticket(logins.login(user.email, PASSWORD, browser=BROWSER)[0], browser=BROWSER)


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
    {"sec-fetch-site": "same-site", "origin": "http://127.0.0.1:8765"},  # another port of our host
    {},  # cookies but neither Origin nor Sec-Fetch-Site: fail closed
])
async def test_a_cross_site_post_with_the_session_cookie_is_refused(session_token, headers):
    async with _client() as client:
        client.cookies.set(sessions.COOKIE_NAME, session_token)
        response = await client.post("/api/auth/logout", headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "csrf", "message": "cross-site request refused"}}
    assert sessions.resolve_actor(session_token) is not None  # the session survived


@pytest.mark.parametrize("path", ["/_upload", "/api/auth/exchange"])
async def test_uploads_and_the_login_exchange_must_be_same_origin_even_without_cookies(path):
    """An upload acts as a tab's session and the exchange logs a browser in: a cookieless request from another
    site (or one that says nothing of where it comes from) is refused too."""
    async with _client() as client:
        for headers in ({}, {"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"},
                        {"sec-fetch-site": "none"}):
            response = await client.post(path, json={}, headers=headers)
            assert response.status_code == 403 and response.json()["error"]["code"] == "csrf", headers
        same = await client.post(path, json={}, headers={"sec-fetch-site": "same-origin", "origin": APP})
    assert same.status_code != 403  # past the check: the route itself answers (the stand-in app has no upload)


async def test_same_origin_posts_and_token_or_signature_routes_go_through(session_token):
    async with _client() as client:
        hook = await client.post("/api/whatsapp/webhook", content=b"{}",
                                 headers={"origin": "https://evil.example", "cookie": "crm_lang=en"})
        api = await client.post("/api/v1/conversations/1/close", headers={"origin": "https://evil.example",
                                                                         "cookie": "crm_lang=en"})
        client.cookies.set(sessions.COOKIE_NAME, session_token)
        same = await client.post("/api/auth/logout", headers={"sec-fetch-site": "same-origin", "origin": APP})
    assert hook.status_code == 403 and "csrf" not in hook.text  # refused by its HMAC check, not by CSRF
    assert api.status_code == 401  # bearer token required; cookies play no part
    assert same.status_code == 200 and sessions.resolve_actor(session_token) is None


async def test_api_routes_are_rate_limited_per_ip_but_never_the_webhook(monkeypatch):
    monkeypatch.setattr(get_settings(), "api_ip_rate_limit_per_minute", 3)
    async with _client() as client:
        statuses = [(await client.get("/api/docs")).status_code for _ in range(3)]
        limited = await client.get("/api/docs")
        hooks = [(await client.post("/api/whatsapp/webhook", content=b"{}")).status_code for _ in range(6)]
        health = await client.get("/api/health")
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 429 not in hooks and health.status_code == 200
    async with _client() as other_ip:
        assert (await other_ip.get("/api/docs")).status_code == 200


async def test_an_ip_sending_bad_api_tokens_is_stopped(monkeypatch, db):
    monkeypatch.setattr(get_settings(), "api_failed_auth_per_ip", 3)
    async with _client() as client:
        bad = [(await client.get("/api/v1/contacts", headers={"Authorization": f"Bearer crm_bad{i}"})).status_code
               for i in range(3)]
        stopped = await client.get("/api/v1/contacts", headers={"Authorization": "Bearer crm_bad"})
    assert bad == [401, 401, 401]
    assert stopped.status_code == 429 and int(stopped.headers["retry-after"]) >= 1
    assert stopped.json()["error"]["code"] == "rate_limited"


async def test_bodies_over_the_limit_get_413_declared_or_streamed(monkeypatch):
    monkeypatch.setattr(get_settings(), "max_request_bytes", 1024)

    async def chunks():
        for _ in range(4):
            yield b"x" * 512

    async with _client() as client:
        declared = await client.post("/api/auth/logout", content=b"x" * 2048,
                                     headers={"sec-fetch-site": "same-origin"})
        streamed = await client.post("/echo", content=chunks(), headers={"sec-fetch-site": "same-origin"})
        small = await client.post("/echo", content=b"x" * 1000, headers={"sec-fetch-site": "same-origin"})
        api = await client.post("/api/v1/conversations/1/close", content=b"x" * (65 * 1024),
                                headers={"content-type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json() == {"error": {"code": "too_large", "message": "the request body must be at most 1 KB"}}
        assert response.headers["x-content-type-options"] == "nosniff"
    assert small.status_code == 200 and small.text == "1000 bytes"
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"  # /api/v1's own 64 KB


def test_the_event_socket_refuses_a_foreign_origin_and_accepts_ours():
    client = TestClient(_app(), base_url=APP)
    with client.websocket_connect("/_event", headers={"origin": APP}) as ws:
        assert ws.receive_text() == "hello"
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/_event", headers={"origin": "https://evil.example"}):
            pass
    assert refused.value.code == 1008


async def test_a_page_sent_by_a_server_with_pathsend_is_still_hashed(tmp_path):
    """granian offers `http.response.pathsend`: a built page must still reach us as bytes to hash."""
    from starlette.responses import FileResponse

    (tmp_path / "page.html").write_bytes(PAGE)

    async def file_page(request):
        return FileResponse(tmp_path / "page.html")

    app = hardening.wrap(Starlette(routes=[Route("/inbox", file_page)]))
    scope = {"type": "http", "method": "GET", "path": "/inbox", "raw_path": b"/inbox", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:3000"), (b"accept-encoding", b"gzip")], "scheme": "http",
             "client": ("10.9.9.9", 1), "server": ("127.0.0.1", 3000), "root_path": "", "http_version": "1.1",
             "extensions": {"http.response.pathsend": {}}}
    sent = []

    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        await anyio.sleep(3600)  # the client stays connected

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == PAGE
    digest = base64.b64encode(hashlib.sha256(SCRIPT).digest()).decode()
    assert f"'sha256-{digest}'" in dict(sent[0]["headers"])[b"content-security-policy"].decode()


async def test_a_revisited_page_is_sent_whole_so_its_csp_keeps_the_script_hashes(tmp_path):
    """A 304 has no body to hash, and the browser would keep that CSP for its cached copy: pages never get one."""
    from starlette.staticfiles import StaticFiles

    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "index.html").write_bytes(PAGE)
    plain = Starlette(routes=[Mount("/", app=StaticFiles(directory=tmp_path, html=True))])
    transport = httpx.ASGITransport(app=plain, client=("10.9.9.8", 1))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as client:
        first = await client.get("/inbox/")
        conditional = {"if-none-match": first.headers["etag"], "if-modified-since": first.headers["last-modified"]}
        assert (await client.get("/inbox/", headers=conditional)).status_code == 304  # what the app alone answers
    transport = httpx.ASGITransport(app=hardening.wrap(plain), client=("10.9.9.8", 1))
    async with httpx.AsyncClient(transport=transport, base_url=APP) as client:
        again = await client.get("/inbox/", headers=conditional)
    assert again.status_code == 200 and again.content == PAGE
    digest = base64.b64encode(hashlib.sha256(SCRIPT).digest()).decode()
    assert f"'sha256-{digest}'" in _csp(again)["script-src"].split()
