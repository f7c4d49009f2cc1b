"""Hardening on the real stack: headers on pages, assets and the API, a CSP that Reflex's build runs under with no
violation, the event websocket refused from a foreign origin, and a cross-site POST refused by Chromium's own request.
"""

from __future__ import annotations

import base64
import re
import secrets
import socket
from urllib.parse import urlsplit

import httpx

from tests.e2e.conftest import STACK_ENV, login


def _directives(response) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2]
            for d in response.headers["content-security-policy"].split(";")}


def _check_headers(response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = _directives(response)
    assert csp["frame-ancestors"] == "'none'" and "default-src" in csp
    assert "strict-transport-security" not in response.headers  # ENV is not production and this is http


def test_headers_on_a_page_a_static_asset_and_an_api_route(stack):
    with httpx.Client(base_url=stack, follow_redirects=True) as client:
        page = client.get("/login")
        asset_path = re.search(r'"(/assets/[^"]+\.js)"', page.text)
        assert asset_path, (page.status_code, str(page.url), dict(page.headers), page.text[:1500])
        asset = client.get(asset_path.group(1))
        api = client.get("/api/health")
    for response in (page, asset, api):
        assert response.status_code == 200
        _check_headers(response)
    csp = _directives(page)
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'self'"
    assert "'unsafe-inline'" not in csp["script-src"] and "'sha256-" in csp["script-src"]
    assert asset.headers["content-type"].startswith(("text/javascript", "application/javascript"))


def test_pages_run_under_the_csp_without_a_single_violation(page, stack):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + "
                         "e.blockedURI))")
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()  # the websocket and eval'd navigations work
    for route, ready in (("/settings/sso", "#sso-tenant-slug"), ("/settings", "#token-new"),
                         ("/inbox", "#user-menu")):
        page.goto(route)
        page.locator(ready).first.wait_for()
    assert violations == []


def _handshake(stack: str, origin: str) -> tuple[str, bytes]:
    """A raw websocket upgrade on Reflex's event endpoint. Returns (status line, first bytes after it)."""
    url = urlsplit(stack)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    request = (f"GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Origin: {origin}\r\n\r\n")
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 101") and not rest:
            rest = conn.recv(4096)
    return head.split(b"\r\n")[0].decode(), rest


def test_the_event_websocket_refuses_a_foreign_origin_and_accepts_ours(stack):
    refused, _ = _handshake(stack, "https://evil.example")
    same_site_other_port, _ = _handshake(stack, f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}")
    accepted, first_frame = _handshake(stack, stack)
    assert not refused.startswith("HTTP/1.1 101") and " 403" in refused, refused
    assert not same_site_other_port.startswith("HTTP/1.1 101"), same_site_other_port
    assert accepted.startswith("HTTP/1.1 101"), accepted
    assert b'0{"sid"' in first_frame  # engine.io's open packet: the socket really works for our origin


def test_a_foreign_page_in_chromium_can_neither_open_the_socket_nor_post_with_our_cookie(page, stack):
    login(page, "supervisor@demo.local")
    page.locator("#user-menu").get_by_text("Sérgio Supervisor").wait_for()
    page.goto(f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}/health")  # another origin (same site: other port)
    opened = page.evaluate("""app => new Promise(done => {
        const ws = new WebSocket(app.replace('http', 'ws') + '/_event/?EIO=4&transport=websocket');
        ws.onopen = () => done('open'); ws.onerror = () => done('refused');
        setTimeout(() => done('timeout'), 8000);
    })""", stack)
    posted = page.evaluate("""app => fetch(app + '/api/auth/logout', {method: 'POST', credentials: 'include'})
        .then(r => r.status, () => 'blocked')""", stack)
    assert opened == "refused"
    assert posted in (403, "blocked")  # CORS hides the answer from this page; either way the session lives
    page.goto(f"{stack}/inbox")
    page.locator("#user-menu").get_by_text("Sérgio Supervisor").wait_for()


def test_a_body_over_the_limit_is_413_in_json(stack):
    with httpx.Client(base_url=stack) as client:
        response = client.post("/api/auth/logout", content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
