"""Every HTTP route of create_api() (the mounted /api/v1 app included), attacked from another tenant and with too
little scope or role, over HTTP against the real app, PostgreSQL and Redis.

Routes are enumerated from the Starlette router, so a route added without a row in ROUTES fails the first test;
Reflex's own routes (`/_event`, `/_upload`, ...) are enumerated from the running web process into REFLEX_ROUTES.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from starlette.routing import Mount, Route

from crm_app.api.routes import create_api
from tests.support.isolation import VICTIM, snapshot_diff, tenant_snapshot


@dataclass(frozen=True)
class Public:
    reason: str


@dataclass(frozen=True)
class Api:
    """A bearer-token route. `ids` names the tenant-owned path params; `body` is a valid request body."""

    scope: str
    ids: dict[str, str]
    body: dict | None = None
    forbidden_roles: tuple[str, ...] = ()  # roles of tenant B whose token must get 403 even with the scope
    role_target: str = "conversation"  # which of B's rows the role attack aims at


@dataclass(frozen=True)
class Cookie:
    """A session-cookie route that serves one tenant-owned row."""

    ids: dict[str, str]


CONV = {"conversation_id": "conversation"}
STAFF = ("supervisor", "attendant", "dpo", "executive")  # webhooks are admins' only
HOOK, DELIVERY = {"endpoint_id": "webhook"}, {"delivery_id": "webhook_delivery"}
AS_STAFF = {"forbidden_roles": STAFF, "role_target": "webhook"}
AS_STAFF_D = {"forbidden_roles": STAFF, "role_target": "webhook_delivery"}
NOT_SLA = ("attendant", "dpo", "executive")  # SLA policies are supervisors' and admins'
SLA = {"policy_id": "sla_policy"}
AS_NOT_SLA = {"forbidden_roles": NOT_SLA, "role_target": "sla_policy"}
ROUTES = {
    "GET /api/health": Public("liveness probe: a fixed status, no tenant data"),
    "GET /api/ready": Public("readiness probe: DB/Redis reachability only"),
    "POST /api/auth/exchange": Public("trades a 30 s one-time login ticket for the cookie, same origin only and only "
                                      "in the browser the ticket is bound to (tests/security/test_login_csrf.py)"),
    "POST /api/auth/logout": Public("ends the caller's own session (the cookie it sends), nobody else's"),
    "GET /api/auth/sso/start": Public("starts OIDC for a tenant slug; redirects to that tenant's IdP, no data"),
    "GET /api/auth/sso/callback": Public("OIDC callback; state/nonce/PKCE from the signed session decide the tenant"),
    "GET /api/whatsapp/webhook": Public("Meta's verify handshake (verify token compared per inbox)"),
    "POST /api/whatsapp/webhook": Public("Meta's webhook, authenticated by the inbox's app-secret HMAC"),
    "GET /api/docs": Public("the API documentation page"),
    "GET /api/v1/openapi.json": Public("the OpenAPI schema"),
    "GET /api/media/{media_token}": Cookie({"media_token": "message"}),
    "GET /api/v1/conversations": Api("conversations:read", {}),
    "GET /api/v1/conversations/{conversation_id}": Api("conversations:read", CONV),
    "POST /api/v1/conversations/{conversation_id}/take_over": Api("conversations:write", CONV,
                                                                  forbidden_roles=("attendant", "dpo", "executive"),
                                                                  role_target="admins_conversation"),
    "POST /api/v1/conversations/{conversation_id}/transfer": Api("conversations:write", CONV, {"user_id": None},
                                                                 forbidden_roles=("attendant", "dpo", "executive"),
                                                                 role_target="admins_conversation"),
    "POST /api/v1/conversations/{conversation_id}/close": Api("conversations:write", CONV,
                                                              forbidden_roles=("attendant", "dpo", "executive"),
                                                              role_target="admins_conversation"),
    "POST /api/v1/conversations/{conversation_id}/priority": Api("conversations:write", CONV, {"priority": "urgent"},
                                                                 forbidden_roles=NOT_SLA),
    "GET /api/v1/conversations/{conversation_id}/messages": Api("messages:read", CONV),
    "POST /api/v1/conversations/{conversation_id}/messages": Api("messages:write", CONV,
                                                                 {"type": "text", "text": "pwned"},
                                                                 forbidden_roles=("attendant", "dpo", "executive"),
                                                                 role_target="admins_conversation"),
    "GET /api/v1/contacts": Api("contacts:read", {}),
    "GET /api/v1/contacts/{contact_id}": Api("contacts:read", {"contact_id": "contact"}),
    "PATCH /api/v1/contacts/{contact_id}": Api("contacts:write", {"contact_id": "contact"}, {"name": "pwned"}),
    "GET /api/v1/users": Api("users:read", {}, forbidden_roles=("attendant",)),
    "GET /api/v1/users/online": Api("users:read", {}),
    "GET /api/v1/settings": Api("settings:read", {},
                                forbidden_roles=("supervisor", "attendant", "dpo", "executive")),
    "GET /api/privacy/bundles/{token}": Cookie({"token": "bundle_token"}),
    "GET /api/privacy/reports/{report_id}": Cookie({"report_id": "dpo_report"}),
    "GET /api/v1/privacy/requests": Api("privacy:read", {}, forbidden_roles=("supervisor", "attendant", "executive")),
    "POST /api/v1/privacy/requests": Api("privacy:write", {}, {"contact_id": "B:contact", "kind": "consent_withdrawal"},
                                         forbidden_roles=("supervisor", "attendant", "executive")),
    "GET /api/v1/privacy/requests/{request_id}": Api("privacy:read", {"request_id": "privacy_request"},
                                                     forbidden_roles=("supervisor", "attendant", "executive"),
                                                     role_target="privacy_request"),
    "PATCH /api/v1/privacy/requests/{request_id}": Api("privacy:write", {"request_id": "privacy_request"},
                                                       {"status": "rejected"},
                                                       forbidden_roles=("supervisor", "attendant", "executive"),
                                                       role_target="privacy_request"),
    "POST /api/v1/privacy/requests/{request_id}/download_link": Api(
        "privacy:write", {"request_id": "privacy_request"}, forbidden_roles=("supervisor", "attendant", "executive"),
        role_target="privacy_request"),
    "GET /api/v1/privacy/bundles/{token}": Api("privacy:read", {"token": "bundle_token"},
                                               forbidden_roles=("supervisor", "attendant", "executive"),
                                               role_target="bundle_token"),
    "GET /api/v1/privacy/contacts/{contact_id}/consents": Api("privacy:read", {"contact_id": "contact"},
                                                              forbidden_roles=("supervisor", "attendant", "executive"),
                                                              role_target="contact"),
    "POST /api/v1/privacy/contacts/{contact_id}/consents": Api("privacy:write", {"contact_id": "contact"},
                                                               {"purpose": "marketing", "granted": False},
                                                               forbidden_roles=("supervisor", "attendant", "executive"),
                                                               role_target="contact"),
    "POST /api/v1/privacy/holds": Api("privacy:write", {}, {"contact_id": "B:contact", "reason": "pwned"},
                                      forbidden_roles=("supervisor", "attendant", "executive")),
    "DELETE /api/v1/privacy/holds/{hold_id}": Api("privacy:write", {"hold_id": "hold"},
                                                  forbidden_roles=("supervisor", "attendant", "executive"),
                                                  role_target="hold"),
    "PATCH /api/v1/settings": Api("settings:write", {}, {"values": {"security.session_idle_minutes": 45}},
                                  forbidden_roles=("supervisor", "attendant", "dpo", "executive")),
    "GET /api/v1/webhooks": Api("webhooks:read", {}, forbidden_roles=STAFF),
    "POST /api/v1/webhooks": Api("webhooks:write", {}, {"url": "http://127.0.0.1:9/new"}, forbidden_roles=STAFF),
    "GET /api/v1/webhooks/event-types": Api("webhooks:read", {}),
    "GET /api/v1/webhooks/{endpoint_id}": Api("webhooks:read", HOOK, **AS_STAFF),
    "PATCH /api/v1/webhooks/{endpoint_id}": Api("webhooks:write", HOOK, {"description": "pwned"}, **AS_STAFF),
    "DELETE /api/v1/webhooks/{endpoint_id}": Api("webhooks:write", HOOK, **AS_STAFF),
    "POST /api/v1/webhooks/{endpoint_id}/rotate-secret": Api("webhooks:write", HOOK, **AS_STAFF),
    "POST /api/v1/webhooks/{endpoint_id}/test": Api("webhooks:write", HOOK, **AS_STAFF),
    "GET /api/v1/webhooks/{endpoint_id}/stats": Api("webhooks:read", HOOK, **AS_STAFF),
    "GET /api/v1/webhooks/{endpoint_id}/deliveries": Api("webhooks:read", HOOK, **AS_STAFF),
    "POST /api/v1/webhooks/{endpoint_id}/replay": Api("webhooks:write", HOOK, {"since": "2020-01-01T00:00:00Z"},
                                                      **AS_STAFF),
    "GET /api/v1/webhooks/deliveries/{delivery_id}/attempts": Api("webhooks:read", DELIVERY, **AS_STAFF_D),
    "POST /api/v1/webhooks/deliveries/{delivery_id}/resend": Api("webhooks:write", DELIVERY, **AS_STAFF_D),
    "GET /api/v1/metrics/overview": Api("metrics:read", {}, forbidden_roles=("dpo",)),
    "GET /api/v1/metrics/timeseries": Api("metrics:read", {}, forbidden_roles=("dpo",)),
    "GET /api/v1/metrics/attendants": Api("metrics:read", {}, forbidden_roles=("dpo",)),
    "GET /api/v1/metrics/csat": Api("metrics:read", {}, forbidden_roles=("dpo",)),
    "GET /api/v1/metrics/sla": Api("metrics:read", {}, forbidden_roles=("dpo",)),
    "GET /api/v1/csat": Api("csat:read", {}, forbidden_roles=("dpo",)),
    "POST /api/v1/exports": Api("exports:write", {}, {"kind": "conversations", "team_id": "B:team"},
                                forbidden_roles=("attendant", "dpo")),
    "GET /api/v1/exports/{export_id}": Api("exports:read", {"export_id": "export"},
                                           forbidden_roles=("attendant", "dpo"), role_target="export"),
    "GET /api/v1/exports/{export_id}/download": Api("exports:read", {"export_id": "export"},
                                                    forbidden_roles=("attendant", "dpo"), role_target="export"),
    "GET /api/exports/{export_id}": Cookie({"export_id": "export"}),
    "GET /api/v1/sla/policies": Api("sla:read", {}, forbidden_roles=NOT_SLA),
    "POST /api/v1/sla/policies": Api("sla:write", {}, {"name": "pwned"}, forbidden_roles=NOT_SLA),
    "GET /api/v1/sla/policies/{policy_id}": Api("sla:read", SLA, **AS_NOT_SLA),
    "PATCH /api/v1/sla/policies/{policy_id}": Api("sla:write", SLA, {"name": "pwned"}, **AS_NOT_SLA),
    "DELETE /api/v1/sla/policies/{policy_id}": Api("sla:write", SLA, **AS_NOT_SLA),
    "GET /api/v1/conversations/{conversation_id}/sla": Api("sla:read", CONV),  # who may read the conversation
}


@dataclass(frozen=True)
class Socket:
    """A route of Reflex's own, attacked over the real web process by the named test of test_isolation_socket.py."""

    test: str


# Reflex's own routes, as the running web process registers them (tests/support/live_backend.py lists them).
REFLEX_ROUTES = {
    "GET /ping": Public("Reflex's liveness ping: a fixed answer"),
    "GET /_health": Public("Reflex's health check: database and Redis reachability, no tenant data"),
    "Mount /_event": Socket("test_handler_isolation_over_the_websocket"),
    "POST /_upload": Socket("test_upload_route_isolation"),
    "Mount /_upload": Public("Reflex's uploaded-files directory; our upload handler stores files through the "
                             "channel's media storage, never there"),
}


def enumerate_routes(routes=None, prefix: str = ""):
    for route in create_api().routes if routes is None else routes:
        if isinstance(route, Mount):
            yield from enumerate_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                yield f"{method} {prefix}{route.path}"
        else:  # websocket routes or anything new must be classified too
            yield f"{type(route).__name__} {prefix}{getattr(route, 'path', '?')}"


def test_every_route_is_in_the_case_table():
    found = sorted(set(enumerate_routes()))
    missing = [r for r in found if r not in ROUTES]
    assert not missing, f"routes with no isolation case in tests/security/test_isolation_rest.py ROUTES: {missing}"
    stale = [r for r in ROUTES if r not in found]
    assert not stale, f"ROUTES rows for routes that no longer exist: {stale}"


def test_every_route_of_the_running_web_process_is_in_the_case_table(backend):
    """Reflex's own routes (the websocket, uploads, probes) too: a new one fails here until it is classified."""
    from tests.security import test_isolation_socket

    found = sorted(set(backend.routes))
    missing = [r for r in found if r not in REFLEX_ROUTES]
    assert not missing, f"Reflex routes with no case in REFLEX_ROUTES: {missing}"
    assert [r for r in REFLEX_ROUTES if r not in found] == [], "REFLEX_ROUTES rows for routes that no longer exist"
    tests = [c.test for c in REFLEX_ROUTES.values() if isinstance(c, Socket)]
    assert all(callable(getattr(test_isolation_socket, t, None)) for t in tests), tests


def _client():
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://127.0.0.1")


def _url(key: str, ids: dict[str, str], side) -> tuple[str, str]:
    method, path = key.split(" ", 1)
    for param, kind in ids.items():
        path = path.replace("{" + param + "}", str(side.ids[kind]))
    return method, path


def _body(body: dict | None, side) -> dict | None:
    """The case's body with "B:kind" values replaced by the side's ids (a row named in the body, not the path)."""
    if not body:
        return body
    return {k: side.ids[v[2:]] if isinstance(v, str) and v.startswith("B:") else v for k, v in body.items()}


def _names_rows(case) -> bool:
    return bool(case.ids) or any(isinstance(v, str) and v.startswith("B:") for v in (case.body or {}).values())


async def _call(client, key, case, side, secret: str):
    method, path = _url(key, case.ids, side)
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "iso-1"}
    body = _body(case.body, side)
    if body and "user_id" in body:
        body = {**body, "user_id": side.ids["admin"]}
    return await client.request(method, path, headers=headers, json=body if method != "GET" else None)


API = sorted(k for k, v in ROUTES.items() if isinstance(v, Api))


@pytest.mark.parametrize("key", API)
async def test_api_route_foreign_tenant_and_scope(key, world, db):
    attacker, victim = world
    case = ROUTES[key]
    before = tenant_snapshot(db, victim.tenant_id)
    async with _client() as client:
        # Another tenant's token, full scopes, aimed at B's ids: 404, nothing of B in the answer.
        response = await _call(client, key, case, victim, attacker.api_secrets["all"])
        if _names_rows(case):
            assert response.status_code == 404, f"{key} as tenant A: {response.status_code} {response.text[:300]}"
        else:
            assert response.status_code in (200, 201), f"{key} list or create as tenant A: {response.status_code}"
        assert VICTIM not in response.text, f"{key}: tenant A saw tenant B's data"
        assert not snapshot_diff(before, tenant_snapshot(db, victim.tenant_id)), f"{key}: tenant A changed B"
        # B's own token without the route's scope: 403, nothing changed.
        narrow = victim.api_secrets["narrow_no_users" if case.scope == "users:read" else "narrow"]
        response = await _call(client, key, case, victim, narrow)
        assert response.status_code == 403, f"{key} without {case.scope}: {response.status_code}"
        assert not snapshot_diff(before, tenant_snapshot(db, victim.tenant_id)), f"{key}: a scope-less token wrote"
        # B's users whose role may not do this: 403, nothing changed.
        for role in case.forbidden_roles:
            target = {p: case.role_target for p in case.ids}
            method, path = _url(key, target, victim)
            body = {**case.body, "user_id": victim.ids["attendant"]} if case.body and "user_id" in case.body \
                else _body(case.body, victim)
            response = await client.request(method, path, json=body if method != "GET" else None,
                                            headers={"Authorization": f"Bearer {victim.api_secrets[role]}",
                                                     "Idempotency-Key": "iso-role"})
            assert response.status_code == 403, f"{key} as {role}: {response.status_code} {response.text[:200]}"
            assert not snapshot_diff(before, tenant_snapshot(db, victim.tenant_id)), f"{key}: {role} wrote"
        # Positive control: B's admin token does reach the row (so the 404 above means "not yours", not "no route").
        response = await _call(client, key, case, victim, victim.api_secrets["all"])
        assert response.status_code not in (401, 403, 404, 422), \
            f"{key} as B's admin: {response.status_code} {response.text[:300]}"


async def test_media_route_refuses_other_tenants_and_strangers(world, db):
    attacker, victim = world
    from crm_app.services.access import sessions

    path = f"/api/media/{victim.ids['message']}"
    async with _client() as client:
        for role in ("admin", "supervisor", "attendant"):
            client.cookies.set(sessions.COOKIE_NAME, attacker.cookies[role])
            response = await client.get(path)
            assert response.status_code == 404, f"media as tenant A {role}: {response.status_code}"
            assert VICTIM not in response.text
        client.cookies.clear()
        assert (await client.get(path)).status_code == 401


async def test_bundle_route_refuses_other_tenants_other_roles_and_strangers(world, db):
    attacker, victim = world
    from crm_app.services.access import sessions

    path = f"/api/privacy/bundles/{victim.ids['bundle_token']}"
    async with _client() as client:
        for role in ("admin", "supervisor", "attendant", "dpo"):
            client.cookies.set(sessions.COOKIE_NAME, attacker.cookies[role])
            response = await client.get(path)
            assert response.status_code in (403, 404), f"bundle as tenant A {role}: {response.status_code}"
            assert VICTIM.encode() not in response.content
        for role in ("supervisor", "attendant"):
            client.cookies.set(sessions.COOKIE_NAME, victim.cookies[role])
            assert (await client.get(path)).status_code == 403, f"bundle as B's {role}"
        client.cookies.set(sessions.COOKIE_NAME, victim.cookies["dpo"])
        response = await client.get(path)
        assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
        client.cookies.clear()
        assert (await client.get(path)).status_code == 401


async def test_dpo_report_route_refuses_other_tenants_other_roles_and_strangers(world, db):
    attacker, victim = world
    from crm_app.services.access import sessions

    path = f"/api/privacy/reports/{victim.ids['dpo_report']}"
    async with _client() as client:
        for role in ("admin", "supervisor", "attendant", "dpo"):
            client.cookies.set(sessions.COOKIE_NAME, attacker.cookies[role])
            response = await client.get(path)
            assert response.status_code in (403, 404), f"report as tenant A {role}: {response.status_code}"
            assert not response.content.startswith(b"%PDF")
        for role in ("supervisor", "attendant"):
            client.cookies.set(sessions.COOKIE_NAME, victim.cookies[role])
            assert (await client.get(path)).status_code == 403, f"report as B's {role}"
        client.cookies.set(sessions.COOKIE_NAME, victim.cookies["dpo"])
        assert (await client.get("/api/privacy/reports/not-a-number")).status_code == 404
        response = await client.get(path)
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF") and response.headers["cache-control"] == "private, no-store"
        client.cookies.clear()
        assert (await client.get(path)).status_code == 401
