"""Issue 15, point 5: SSRF and open redirect through the URLs a tenant configures (SSO, AI).

The attacks, replayed against the real app: a tenant admin points "test discovery" at our own network and reads
the error texts to tell closed, non-HTTP and HTTP ports apart; a name that resolves to a public address when
saved and to 127.0.0.1 when used (DNS rebinding); a discovery document whose `authorization_endpoint` makes
`/api/auth/sso/start` redirect to any site; SSO group mapping demoting the tenant's last admin. Every server
here is real HTTP (or raw TCP) on 127.0.0.1; DNS is played through `outbound_urls.use_resolver`.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
import uvicorn
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from crm_app.api.routes import create_api
from crm_app.config import get_settings
from crm_app.db import session_scope
from crm_app.errors import ValidationError
from crm_app.integrations import outbound_urls
from crm_app.models import AuditLog, SsoConfig, User
from crm_app.sandbox.oidc_fake import OidcFake, create_oidc_app
from crm_app.services import settings
from crm_app.services.access import sessions, sso
from crm_app.services.bot import ai, ai_settings, knowledge
from crm_app.state.settings_sso import SsoSettingsState
from tests.factories import make_tenant, make_user
from tests.support import prelogin
from tests.support.isolation import fresh_state, run_handler
from tests.support.sandbox import free_port, sandbox_in_thread

CLIENT_ID, CLIENT_SECRET = "crm-ssrf", "ssrf-secret"
PUBLIC = "93.184.215.14"  # any global address; nothing is ever sent there


class Hits:
    """ASGI wrapper that records every path a server was asked for."""

    def __init__(self, app) -> None:
        self.app, self.paths = app, []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@contextmanager
def serve(app) -> Iterator[int]:
    """Serve `app` on 127.0.0.1 in a thread; yields the port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True


@pytest.fixture(scope="module")
def idp():
    """The sandbox's fake provider; its issuer is whatever host the request named (so a pinned name shows)."""
    fake = OidcFake()
    fake.register(CLIENT_ID, CLIENT_SECRET, [sso.redirect_uri()])
    hits = Hits(create_oidc_app(fake))
    with serve(hits) as port:
        yield fake, hits, port


EVIL: dict[str, str] = {}


async def _evil_discovery(request: Request) -> Response:
    issuer = f"http://{request.headers['host']}"
    doc = {"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/token",
           "jwks_uri": f"{issuer}/jwks", "userinfo_endpoint": f"{issuer}/userinfo"}
    return JSONResponse({**doc, **EVIL})


@pytest.fixture(scope="module")
def evil_idp():
    """A provider whose discovery document names endpoints elsewhere (set per test in EVIL)."""
    app = Starlette(routes=[Route("/.well-known/openid-configuration", _evil_discovery)])
    with serve(app) as port:
        yield port


@pytest.fixture
def strict(clean_db):
    """The production rule for addresses (dev and tests allow private ones so the sandbox works), set as an
    operator sets it: the install's value of the setting, in the registry."""
    with session_scope() as session:
        settings.update(session, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": False})
    yield
    with session_scope() as session:
        settings.update(session, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": None})


def test_the_environment_still_sets_the_default_of_the_private_address_rule(monkeypatch, clean_db):
    assert outbound_urls.private_allowed()  # tests run outside production: allowed by default
    monkeypatch.setattr(get_settings(), "allow_private_outbound_urls", False)  # ALLOW_PRIVATE_OUTBOUND_URLS=false
    assert not outbound_urls.private_allowed()
    with session_scope() as session:  # the install's value wins over the default
        settings.update(session, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": True})
    assert outbound_urls.private_allowed()


@pytest.fixture
def admin(db):
    sso.forget_caches()
    tenant = make_tenant(db)
    actor = make_user(db, tenant.id, "admin")
    cookie = sessions.open_session(db, user=db.get(User, actor.user_id), ip="127.0.0.1")
    db.commit()
    yield tenant, actor, cookie
    sso.forget_caches()


async def _test_discovery(cookie: str, issuer: str) -> SsoSettingsState:
    """The admin's "test discovery" button, run as the real handler in a tab logged in with `cookie`."""
    _, state = fresh_state(SsoSettingsState, cookie)
    state.issuer = issuer
    await run_handler(state, "test_discovery", ())
    return state


def _seen(state: SsoSettingsState) -> str:
    """What the admin is shown after the test: the endpoints, the error, or the issuer field's message."""
    return repr(state.discovery_rows) + state.discovery_error + state.field_error


@contextmanager
def raw_tcp_server(banner: bytes) -> Iterator[int]:
    """A TCP service that is not HTTP: it writes a banner and hangs up."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(banner)

    server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# ---- the address policy --------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "[::1]", "0.0.0.0",
                                  "2130706433", "[::ffff:127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]",
                                  "localhost"])
async def test_test_discovery_cannot_reach_our_own_network(admin, idp, strict, host):
    """A live provider on 127.0.0.1, reached by every spelling of a private address: nothing gets there."""
    _, hits, port = idp
    before = len(hits.paths)
    state = await _test_discovery(admin[2], f"http://{host}:{port}")
    assert state.discovery_rows == [] and "token" not in _seen(state)
    assert len(hits.paths) == before, f"{host} reached the server: {hits.paths[before:]}"


async def test_discovery_errors_do_not_tell_ports_apart(admin, idp):
    """Closed port, non-HTTP service, HTTP 404, HTTP 200 without JSON and a redirect read exactly the same
    (private addresses allowed here, as in dev, so that each target is really reached)."""
    _, _, port = idp
    closed = free_port()
    with raw_tcp_server(b"SSH-2.0-OpenSSH_9.6\r\n") as ssh, raw_tcp_server(b"") as silent:
        app = Starlette(routes=[
            Route("/html/.well-known/openid-configuration", lambda r: Response("<html>hi</html>")),
            Route("/moved/.well-known/openid-configuration",
                  lambda r: RedirectResponse(f"http://127.0.0.1:{port}/.well-known/openid-configuration")),
        ])
        with serve(app) as web:
            targets = [f"http://127.0.0.1:{closed}", f"http://127.0.0.1:{ssh}", f"http://127.0.0.1:{silent}",
                       f"http://127.0.0.1:{port}/nowhere", f"http://127.0.0.1:{web}/html",
                       f"http://127.0.0.1:{web}/moved"]
            seen = {target: _seen(await _test_discovery(admin[2], target)) for target in targets}
    assert len(set(seen.values())) == 1, seen
    assert outbound_urls.GENERIC_ERROR in next(iter(seen.values()))


async def test_dns_rebinding_is_refused_at_the_address_connected_to(db, admin, idp, strict):
    """Saved while the name is public, used once it points at 127.0.0.1: the provider there hears nothing."""
    tenant, actor, _ = admin
    _, hits, port = idp
    answers = [[PUBLIC]]

    def rebinding(host: str, port: int) -> list[str]:
        assert host == "idp.rebind.test"
        return answers.pop(0) if answers else ["127.0.0.1"]

    with outbound_urls.use_resolver(rebinding):
        sso.save_config(db, actor=actor, enabled=True, issuer=f"http://idp.rebind.test:{port}", client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET, scopes="openid email", groups_claim="groups",
                        group_roles={"crm-admins": "admin"}, default_role=None, auto_create_users=True)
        db.commit()
        assert not answers, "the save resolved the name (public then)"
        before = len(hits.paths)
        async with _client() as client:
            start = await client.get("/api/auth/sso/start", params=prelogin.sso_start(tenant.slug))
        assert start.status_code == 303 and start.headers["location"] == "/login?sso_error=unavailable"
        assert hits.paths[before:] == []


async def test_the_connection_goes_to_the_address_that_was_checked(db, admin, idp):
    """Control for the rebinding case: allowed, the same name reaches the provider on 127.0.0.1 (the system
    resolver knows no `.test` names), with the Host header still naming it."""
    tenant, actor, _ = admin
    _, hits, port = idp
    with outbound_urls.use_resolver(lambda host, _port: ["127.0.0.1"] if host == "idp.pinned.test" else []):
        sso.save_config(db, actor=actor, enabled=True, issuer=f"http://idp.pinned.test:{port}", client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET, scopes="openid email", groups_claim="groups",
                        group_roles={"crm-admins": "admin"}, default_role=None, auto_create_users=True)
        db.commit()
        async with _client() as client:
            start = await client.get("/api/auth/sso/start", params=prelogin.sso_start(tenant.slug))
    assert start.headers["location"].startswith(f"http://idp.pinned.test:{port}/authorize?")
    assert hits.paths[-1] == "/.well-known/openid-configuration"


def test_the_policy_table():
    allowed = outbound_urls.address_allowed
    assert allowed(PUBLIC) and allowed("2606:4700:4700::1111")
    for address in ("0.0.0.0", "::", "224.0.0.1", "ff02::1", "169.254.169.254", "fd00:ec2::254",
                    "::ffff:169.254.169.254", "169.254.170.2", "100.100.100.200", "168.63.129.16", "fe80::1",
                    "fec0::1", "64:ff9b:1::a00:1", "not-an-ip"):
        assert not allowed(address), address  # never, whatever the setting (cloud metadata and credentials)


@pytest.mark.usefixtures("strict")
def test_the_policy_table_in_production_terms(monkeypatch):
    allowed = outbound_urls.address_allowed
    for address in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.1.1", "::1",
                    "fe80::1", "fc00::1", "::ffff:10.0.0.1", "::7f00:1", "64:ff9b::a00:1", "2002:a00:1::1"):
        assert not allowed(address), address
    from crm_app.config import Environment

    monkeypatch.setattr(get_settings(), "env", Environment.PRODUCTION)
    with pytest.raises(outbound_urls.UrlNotAllowed, match="https://"):
        outbound_urls.check_url(f"http://{PUBLIC}/")
    for url in (f"https://user:pw@{PUBLIC}/", "https:///path", f"https://{PUBLIC}/#x", f"https://{PUBLIC}:99999/"):
        with pytest.raises(outbound_urls.UrlNotAllowed):
            outbound_urls.check_url(url)
    with outbound_urls.use_resolver(lambda host, port: [PUBLIC]):
        assert outbound_urls.check_url("https://idp.example.com/realms/x") == "https://idp.example.com/realms/x"
    with outbound_urls.use_resolver(lambda host, port: [PUBLIC, "10.0.0.7"]):  # one private answer is enough
        with pytest.raises(outbound_urls.UrlNotAllowed):
            outbound_urls.check_url("https://idp.example.com/")


def test_answers_are_capped_and_compressed_ones_refused():
    big = Starlette(routes=[
        Route("/big", lambda r: Response(b"x" * 4096)),
        Route("/gzip", lambda r: Response(b"\x1f\x8b", headers={"Content-Encoding": "gzip"})),
    ])
    with serve(big) as port:
        with outbound_urls.client(max_bytes=1024) as http, pytest.raises(outbound_urls.ResponseTooLarge):
            http.get(f"http://127.0.0.1:{port}/big")
        with outbound_urls.client() as http, pytest.raises(outbound_urls.ResponseTooLarge):
            http.get(f"http://127.0.0.1:{port}/gzip")
        with pytest.raises(outbound_urls.OutboundError) as excinfo:
            outbound_urls.get_json(f"http://127.0.0.1:{port}/big", max_bytes=1024)
        assert excinfo.value.message == outbound_urls.GENERIC_ERROR


# ---- discovery's endpoints and the start redirect ------------------------------------------------------------


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://127.0.0.1",
                             cookies=prelogin.COOKIES)


def _sso_tenant(db, issuer: str):
    tenant = make_tenant(db)
    db.add(SsoConfig(tenant_id=tenant.id, enabled=True, issuer=issuer, client_id=CLIENT_ID,
                     client_secret=CLIENT_SECRET, group_roles={"crm-admins": "admin", "crm-attendants": "attendant"}))
    db.commit()
    sso.forget_caches()
    return tenant


@pytest.mark.parametrize("override", [
    {"authorization_endpoint": "https://evil.example/authorize"},
    {"authorization_endpoint": "//evil.example/authorize"},
    {"authorization_endpoint": "javascript:alert(1)"},
    {"token_endpoint": "https://evil.example/token"},
    {"jwks_uri": "http://169.254.169.254/latest/meta-data/"},
    {"userinfo_endpoint": "https://evil.example/userinfo"},
])
async def test_sso_start_never_redirects_to_a_foreign_origin(db, evil_idp, override):
    tenant = _sso_tenant(db, f"http://127.0.0.1:{evil_idp}")
    EVIL.clear()
    EVIL.update(override)
    try:
        async with _client() as client:
            start = await client.get("/api/auth/sso/start", params=prelogin.sso_start(tenant.slug))
    finally:
        EVIL.clear()
    assert start.status_code == 303 and start.headers["location"] == "/login?sso_error=unavailable"


async def test_an_allow_listed_origin_may_serve_the_endpoints(db, evil_idp):
    """Providers such as Google keep their token endpoint and keys on other hosts: the install's setting
    system.sso_endpoint_origins (SSO_ENDPOINT_ORIGINS its default)."""
    settings.update(db, actor=None, tenant_id=None,
                    changes={"system.sso_endpoint_origins": "https://tokens.example, https://keys.example/"})
    db.commit()
    tenant = _sso_tenant(db, f"http://127.0.0.1:{evil_idp}")
    EVIL.update({"token_endpoint": "https://tokens.example/token", "jwks_uri": "https://keys.example/certs"})
    try:
        async with _client() as client:
            start = await client.get("/api/auth/sso/start", params=prelogin.sso_start(tenant.slug))
    finally:
        EVIL.clear()
    assert start.headers["location"].startswith(f"http://127.0.0.1:{evil_idp}/authorize?")


# ---- group mapping and the last admin ------------------------------------------------------------------------


def _authorize(url: str, person: dict[str, str]) -> dict[str, str]:
    """Play the person at the fake provider's page; returns the callback's query."""
    with httpx.Client() as browser:
        form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} | person | {"action": "allow"}
        answer = browser.post(url.split("?")[0], data=form)
    assert answer.status_code == 303, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


async def _sso_login(slug: str, groups: str) -> httpx.Response:
    person = {"sub": "idp-boss", "email": "boss@example.com", "name": "Boss", "groups": groups}
    async with _client() as client:
        start = await client.get("/api/auth/sso/start", params=prelogin.sso_start(slug))
        assert start.status_code == 303 and "/authorize?" in start.headers["location"], start.headers["location"]
        back = await anyio.to_thread.run_sync(_authorize, start.headers["location"], person)
        return await client.get("/api/auth/sso/callback", params=back)


async def test_sso_group_mapping_never_demotes_the_last_active_admin(db, idp):
    _, _, port = idp
    tenant = _sso_tenant(db, f"http://127.0.0.1:{port}")
    first = await _sso_login(tenant.slug, "crm-admins")
    assert first.status_code == 303 and first.headers["location"] == "/"
    boss = db.exec(select(User).where(User.tenant_id == tenant.id)).one()
    assert str(boss.role) == "admin"
    # The provider now puts the tenant's only admin in the attendants' group.
    again = await _sso_login(tenant.slug, "crm-attendants")
    assert again.status_code == 303 and again.headers["location"] == "/"
    db.expire_all()
    assert str(db.get(User, boss.id).role) == "admin" and db.get(User, boss.id).is_active
    refused = db.exec(select(AuditLog).where(AuditLog.tenant_id == tenant.id,
                                             AuditLog.action == "sso.role_change_refused")).one()
    assert refused.after == {"role": "attendant", "reason": "last_admin"}
    # With another active admin the provider's word applies again.
    make_user(db, tenant.id, "admin")
    await _sso_login(tenant.slug, "crm-attendants")
    db.expire_all()
    assert str(db.get(User, boss.id).role) == "attendant"


# ---- the AI base URL -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_port():
    with sandbox_in_thread() as url:
        yield int(url.rsplit(":", 1)[1])


def _ai_values(base_url: str) -> dict:
    return dict(enabled=True, base_url=base_url, model="gpt-4o-mini", timeout_seconds=5, min_confidence=0.1,
                input_cost_per_mtok=0, output_cost_per_mtok=0, monthly_budget_usd=0)


def _fake_openai_requests(port: int) -> list:
    return httpx.get(f"http://127.0.0.1:{port}/sandbox/api/openai/requests").json()


def test_the_ai_base_url_follows_the_policy_when_saved_and_when_called(db, admin, sandbox_port, strict):
    _, actor, _ = admin
    key = get_settings().sandbox_openai_key.get_secret_value()
    with pytest.raises(ValidationError) as excinfo:
        ai_settings.save_ai_settings(db, actor=actor, api_key=key,
                                     **_ai_values(f"http://127.0.0.1:{sandbox_port}/openai/v1"))
    assert excinfo.value.params["field"] == "base_url"
    db.rollback()
    knowledge.create_entry(db, actor=actor, title="Wi-Fi", content="A senha do Wi-Fi é sol2024.", tags=["wifi"])
    answers = [[PUBLIC]]
    with outbound_urls.use_resolver(lambda host, port: answers.pop(0) if answers else ["127.0.0.1"]):
        ai_settings.save_ai_settings(db, actor=actor, api_key=key,
                                     **_ai_values(f"http://ai.rebind.test:{sandbox_port}/openai/v1"))
        db.commit()
        httpx.delete(f"http://127.0.0.1:{sandbox_port}/sandbox/api/openai/requests")
        result = ai.try_question(actor=actor, question="Qual a senha do wifi?")
    assert result.outcome == "error" and result.text is None
    assert _fake_openai_requests(sandbox_port) == []


def test_the_ai_call_reaches_the_checked_address(db, admin, sandbox_port):
    """Control: allowed, the pinned name reaches the fake OpenAI on 127.0.0.1 and gets an answer."""
    _, actor, _ = admin
    key = get_settings().sandbox_openai_key.get_secret_value()
    knowledge.create_entry(db, actor=actor, title="Wi-Fi", content="A senha do Wi-Fi é sol2024.", tags=["wifi"])
    with outbound_urls.use_resolver(lambda host, port: ["127.0.0.1"] if host == "ai.pinned.test" else []):
        ai_settings.save_ai_settings(db, actor=actor, api_key=key,
                                     **_ai_values(f"http://ai.pinned.test:{sandbox_port}/openai/v1"))
        db.commit()
        result = ai.try_question(actor=actor, question="Qual a senha do wifi?")
    assert result.outcome == "ok" and "sol2024" in result.text


def test_unresolvable_names_read_like_refused_ones(strict):
    with outbound_urls.use_resolver(lambda host, port: (_ for _ in ()).throw(socket.gaierror("no such name"))):
        with pytest.raises(outbound_urls.UrlNotAllowed) as unknown:
            outbound_urls.check_url("https://nowhere.example/")
    with outbound_urls.use_resolver(lambda host, port: ["10.0.0.1"]):
        with pytest.raises(outbound_urls.UrlNotAllowed) as private:
            outbound_urls.check_url("https://inside.example/")
    assert str(unknown.value) == str(private.value) == outbound_urls.REFUSED_ADDRESS


@pytest.mark.parametrize("mode", ["trickle_headers", "trickle_body"])
def test_a_server_that_drips_its_answer_is_cut_at_the_total_deadline(mode):
    """A byte every 0.2 s never trips a 1 s read timeout; the answer would take minutes. The call ends at 1 s."""
    from tests.support.slow_ai import slow_ai

    with slow_ai(mode, byte_every=0.2) as server:
        started = time.monotonic()
        with pytest.raises(outbound_urls.OutboundError):
            outbound_urls.get_json(server.url + "/.well-known/openid-configuration", timeout=1.0)
        took = time.monotonic() - started
    assert server.requests and took < 3.0, took
