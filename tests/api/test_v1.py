"""REST API v1 driven in-process through create_api(): tokens, scopes, tenancy, idempotency and limits."""

import datetime as dt
import re
import uuid

import httpx
import pytest
from sqlmodel import select

from crm_app.api import v1
from crm_app.api.routes import create_api
from crm_app.models import Message
from crm_app.queue import get_queue
from crm_app.services import settings
from crm_app.services.access import api_tokens
from crm_app.services.core import jobs
from crm_app.services.routing import presence, teams
from tests.factories import make_conversation, make_inbox, make_tenant, make_user

ALL_SCOPES = list(api_tokens.SCOPES)


@pytest.fixture
def redis_clean(redis_client):
    for pattern in ("crm:api-rl:*", "crm:presence:*"):
        for key in redis_client.scan_iter(pattern):
            redis_client.delete(key)


async def _client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


@pytest.fixture
async def client(redis_clean):
    async with await _client(create_api()) as c:
        yield c


def _token(db, admin, scopes=None, user=None) -> dict[str, str]:
    _, secret = api_tokens.create(db, actor=admin, name="test", scopes=scopes or ALL_SCOPES,
                                  user_id=user.user_id if user else None)
    db.commit()
    return {"Authorization": f"Bearer {secret}"}


def _conversation(db, tenant_id, *, window_open=True, wa_id=None):
    inbox = make_inbox(db, tenant_id)
    conversation = make_conversation(db, inbox.id, wa_id=wa_id or f"55119{uuid.uuid4().int % 10**8:08d}")
    conversation.bot_active = False
    conversation.last_customer_message_at = dt.datetime.now(dt.UTC) - (
        dt.timedelta(hours=1) if window_open else dt.timedelta(hours=30))
    db.add(conversation)
    db.commit()
    return conversation


@pytest.fixture
def world(db):
    """Tenant A with an admin, an attendant and a conversation; tenant B with its own conversation."""
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    attendant = make_user(db, tenant.id, "attendant")
    mine = _conversation(db, tenant.id)
    other_tenant = make_tenant(db)
    other_admin = make_user(db, other_tenant.id, "admin")
    foreign = _conversation(db, other_tenant.id)
    return dict(tenant=tenant, admin=admin, attendant=attendant, conversation=mine, foreign=foreign,
                other_admin=other_admin)


def _synced_template(db, conversation, name: str, category: str) -> None:
    """The conversation's number knows template `name` (pt_BR) of `category`, as a template sync leaves it."""
    from crm_app.models import MessageTemplate

    db.add(MessageTemplate(tenant_id=conversation.tenant_id, inbox_id=conversation.inbox_id, wa_template_id=name,
                           name=name, language="pt_BR", category=category, status="APPROVED"))
    db.commit()


def _error(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    return response.json()["error"]


async def test_no_token_a_bad_one_or_a_revoked_one_is_401(client, db, world):
    _error(await client.get("/api/v1/conversations"), 401, "not_authenticated")
    response = await client.get("/api/v1/conversations", headers={"Authorization": "Bearer crm_nope"})
    _error(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    headers = _token(db, world["admin"])
    assert (await client.get("/api/v1/conversations", headers=headers)).status_code == 200
    token_id = api_tokens.list_tokens(db, actor=world["admin"])[0].id
    api_tokens.revoke(db, actor=world["admin"], token_id=token_id)
    db.commit()
    response = await client.get("/api/v1/conversations", headers=headers)
    _error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")
    basic = {"Authorization": "Basic " + headers["Authorization"].split()[1]}
    _error(await client.get("/api/v1/conversations", headers=basic), 401, "not_authenticated")


async def test_a_missing_scope_is_403(client, db, world):
    headers = _token(db, world["admin"], scopes=["contacts:read"])
    error = _error(await client.get("/api/v1/conversations", headers=headers), 403, "insufficient_scope")
    assert "conversations:read" in error["message"]
    cid = world["conversation"].id
    _error(await client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                             json={"type": "text", "text": "oi"}), 403, "insufficient_scope")
    assert (await client.get("/api/v1/contacts", headers=headers)).status_code == 200


async def test_every_id_route_answers_404_for_another_tenants_rows(client, db, world):
    headers = _token(db, world["admin"])
    cid, contact_id = world["foreign"].id, world["foreign"].contact_id
    calls = [
        ("GET", f"/api/v1/conversations/{cid}", None),
        ("POST", f"/api/v1/conversations/{cid}/take_over", None),
        ("POST", f"/api/v1/conversations/{cid}/transfer", {"user_id": world["admin"].user_id}),
        ("POST", f"/api/v1/conversations/{cid}/close", {}),
        ("GET", f"/api/v1/conversations/{cid}/messages", None),
        ("POST", f"/api/v1/conversations/{cid}/messages", {"type": "text", "text": "oi"}),
        ("GET", f"/api/v1/contacts/{contact_id}", None),
        ("PATCH", f"/api/v1/contacts/{contact_id}", {"name": "Invasor"}),
        ("GET", "/api/v1/conversations/999999", None),
    ]
    for method, url, body in calls:
        _error(await client.request(method, url, headers=headers, json=body), 404, "not_found")
    db.expire_all()
    assert db.exec(select(Message).where(Message.conversation_id == cid)).all() == []


async def test_an_attendant_token_cannot_list_every_conversation(client, db, world):
    headers = _token(db, world["admin"], user=world["attendant"])
    _error(await client.get("/api/v1/conversations", params={"tab": "all"}, headers=headers), 403,
           "permission_denied")
    response = await client.get("/api/v1/conversations", params={"tab": "unassigned"}, headers=headers)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["data"]] == [world["conversation"].id]
    _error(await client.get("/api/v1/conversations", params={"tab": "everything"}, headers=headers), 422,
           "validation")
    _error(await client.get("/api/v1/users", headers=headers), 403, "permission_denied")


async def test_the_same_idempotency_key_sends_one_message(client, db, world):
    headers = {**_token(db, world["admin"]), "Idempotency-Key": "order-42-confirmation"}
    cid = world["conversation"].id
    url = f"/api/v1/conversations/{cid}/messages"
    first = await client.post(url, headers=headers, json={"type": "text", "text": "Reserva confirmada!"})
    again = await client.post(url, headers=headers, json={"type": "text", "text": "Reserva confirmada!"})
    assert first.status_code == again.status_code == 202, first.text
    assert first.json()["id"] == again.json()["id"] and first.json()["status"] == "queued"
    rows = db.exec(select(Message).where(Message.conversation_id == cid)).all()
    assert len(rows) == 1 and rows[0].body == "Reserva confirmada!" and rows[0].sender_user_id == world["admin"].user_id
    assert get_queue("high").fetch_job(jobs.job_id("send_outbound_message", rows[0].id)) is not None
    other = _conversation(db, world["tenant"].id)
    _error(await client.post(f"/api/v1/conversations/{other.id}/messages", headers=headers,
                             json={"type": "text", "text": "x"}), 422, "idempotency_key_reused")
    fresh = await client.post(url, headers={**headers, "Idempotency-Key": "another"},
                              json={"type": "text", "text": "2"})
    assert fresh.status_code == 202 and fresh.json()["id"] != first.json()["id"]
    _error(await client.post(url, headers={**headers, "Idempotency-Key": "has space"},
                             json={"type": "text", "text": "x"}), 422, "validation")


async def test_a_closed_window_is_409_with_a_template_hint(client, db, world):
    headers = _token(db, world["admin"])
    stale = _conversation(db, world["tenant"].id, window_open=False)
    error = _error(await client.post(f"/api/v1/conversations/{stale.id}/messages", headers=headers,
                                     json={"type": "text", "text": "Oi?"}), 409, "window_closed")
    assert "template" in error["hint"]
    _synced_template(db, stale, "retorno", "UTILITY")  # an unsynced one would need marketing consent
    template = await client.post(f"/api/v1/conversations/{stale.id}/messages", headers=headers,
                                 json={"type": "template", "name": "retorno", "language": "pt_BR"})
    assert template.status_code == 202 and template.json()["kind"] == "template"


async def test_a_marketing_template_needs_the_contacts_marketing_consent(client, db, world):
    from crm_app.services.compliance import consent

    headers = _token(db, world["admin"])
    stale = _conversation(db, world["tenant"].id, window_open=False)
    for name, category in (("promo_natal", "MARKETING"), ("retorno", "UTILITY")):
        _synced_template(db, stale, name, category)
    url = f"/api/v1/conversations/{stale.id}/messages"
    error = _error(await client.post(url, headers=headers, json={"type": "template", "name": "promo_natal",
                                                                 "language": "pt_BR"}), 409,
                   "marketing_consent_required")
    assert "marketing" in error["message"]
    assert db.exec(select(Message).where(Message.conversation_id == stale.id)).all() == []  # nothing queued
    utility = await client.post(url, headers=headers, json={"type": "template", "name": "retorno",
                                                            "language": "pt_BR"})
    assert utility.status_code == 202  # a utility template rests on the contract, not on consent
    consent.record(db, tenant_id=world["tenant"].id, contact_id=stale.contact_id, purpose="marketing",
                   granted=True, source="admin", proof="formulário assinado")
    db.commit()
    granted = await client.post(url, headers=headers, json={"type": "template", "name": "promo_natal",
                                                            "language": "pt_BR"})
    assert granted.status_code == 202, granted.text
    consent.record(db, tenant_id=world["tenant"].id, contact_id=stale.contact_id, purpose="marketing",
                   granted=False, source="admin", proof="pediu para sair")
    db.commit()
    _error(await client.post(url, headers=headers, json={"type": "template", "name": "promo_natal",
                                                         "language": "pt_BR"}), 409, "marketing_consent_required")


async def test_an_attendant_cannot_send_in_a_conversation_they_do_not_own(client, db, world):
    headers = _token(db, world["admin"], user=world["attendant"])
    cid = world["conversation"].id
    _error(await client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                             json={"type": "text", "text": "oi"}), 403, "permission_denied")
    taken = await client.post(f"/api/v1/conversations/{cid}/take_over", headers=headers)
    assert taken.status_code == 200 and taken.json()["assignee_id"] == world["attendant"].user_id
    sent = await client.post(f"/api/v1/conversations/{cid}/messages", headers=headers,
                             json={"type": "text", "text": "oi"})
    assert sent.status_code == 202


async def test_bodies_over_64_kb_are_413_declared_or_streamed(client, db, world):
    headers = _token(db, world["admin"])
    url = f"/api/v1/conversations/{world['conversation'].id}/messages"
    big = '{"type": "text", "text": "' + "a" * (70 * 1024) + '"}'
    _error(await client.post(url, headers={**headers, "Content-Type": "application/json"}, content=big), 413,
           "too_large")

    async def chunks():
        for _ in range(70):
            yield b"a" * 1024

    _error(await client.post(url, headers={**headers, "Content-Type": "application/json"}, content=chunks()), 413,
           "too_large")
    assert db.exec(select(Message)).all() == []


async def test_too_many_requests_for_one_token_is_429(redis_clean, db, world, monkeypatch):
    settings.update(db, actor=None, changes={v1.RATE_LIMIT_SETTING: 3}, tenant_id=None)  # the install's limit
    db.commit()
    monkeypatch.setattr(api_tokens, "_clock", lambda: 1_700_000_050.0)  # all requests in one window
    headers = _token(db, world["admin"])
    async with await _client(create_api()) as client:
        statuses = [(await client.get("/api/v1/contacts", headers=headers)).status_code for _ in range(3)]
        limited = await client.get("/api/v1/contacts", headers=headers)
        other = await client.get("/api/v1/contacts", headers=_token(db, world["admin"]))
    assert statuses == [200, 200, 200]
    _error(limited, 429, "rate_limited")
    assert limited.headers["retry-after"] == "50"
    assert other.status_code == 200


async def test_conversation_actions_go_through_the_inbox_services(client, db, world):
    headers = _token(db, world["admin"])
    cid = world["conversation"].id
    page = await client.get("/api/v1/conversations", params={"tab": "all", "limit": 1}, headers=headers)
    assert page.status_code == 200 and page.json()["data"][0]["id"] == cid and page.json()["total"] == 1
    detail = (await client.get(f"/api/v1/conversations/{cid}", headers=headers)).json()
    assert detail["conversation"]["contact_phone"].startswith("+55") and detail["window_open"] is True
    assert detail["contact"]["id"] == world["conversation"].contact_id
    team = teams.create_team(db, actor=world["admin"], name="Financeiro")
    db.commit()
    moved = await client.post(f"/api/v1/conversations/{cid}/transfer", headers=headers,
                              json={"team_id": team.id, "reason": "cobrança"})
    assert moved.status_code == 200 and moved.json()["team_name"] == "Financeiro"
    _error(await client.post(f"/api/v1/conversations/{cid}/transfer", headers=headers, json={}), 422, "validation")
    _error(await client.post(f"/api/v1/conversations/{cid}/transfer", headers=headers, json={"evil": 1}), 422,
           "validation")
    closed = await client.post(f"/api/v1/conversations/{cid}/close", headers=headers, json={"note": "resolvido"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    history = (await client.get(f"/api/v1/conversations/{cid}/messages", headers=headers)).json()["data"]
    assert "note" in [m["sender_type"] for m in history] and all("client_key" not in m for m in history)


async def test_contacts_list_read_and_patch(client, db, world):
    headers = _token(db, world["admin"])
    contact_id = world["conversation"].contact_id
    listed = (await client.get("/api/v1/contacts", headers=headers)).json()
    assert [c["id"] for c in listed["data"]] == [contact_id] and listed["next_cursor"] is None
    patched = await client.patch(f"/api/v1/contacts/{contact_id}", headers=headers,
                                 json={"name": "Maria Souza", "custom_attributes": {"plano": "ouro"}})
    assert patched.status_code == 200 and patched.json()["name"] == "Maria Souza"
    assert patched.json()["custom_attributes"] == {"plano": "ouro"} and patched.json()["email"] is None
    found = (await client.get("/api/v1/contacts", params={"q": "MARIA"}, headers=headers)).json()["data"]
    assert [c["name"] for c in found] == ["Maria Souza"]
    assert (await client.get("/api/v1/contacts", params={"q": "joão"}, headers=headers)).json()["data"] == []
    error = _error(await client.patch(f"/api/v1/contacts/{contact_id}", headers=headers, json={"email": "nope"}),
                   422, "validation")
    assert error["details"][0]["field"] == "email"
    read_only = _token(db, world["admin"], scopes=["contacts:read"])
    _error(await client.patch(f"/api/v1/contacts/{contact_id}", headers=read_only, json={"name": "x"}), 403,
           "insufficient_scope")


async def test_users_and_who_is_online(client, db, world):
    headers = _token(db, world["admin"], scopes=["users:read"])
    presence.heartbeat(world["tenant"].id, world["attendant"].user_id, "away")
    listed = (await client.get("/api/v1/users", headers=headers)).json()["data"]
    assert {u["id"]: u["presence"] for u in listed} == {world["admin"].user_id: "offline",
                                                         world["attendant"].user_id: "away"}
    online = (await client.get("/api/v1/users/online", headers=headers)).json()["data"]
    assert online == [{"id": world["attendant"].user_id, "name": world["attendant"].name, "role": "attendant",
                       "status": "away"}]


async def test_unknown_routes_and_methods_keep_the_error_shape(client, db, world):
    headers = _token(db, world["admin"])
    _error(await client.get("/api/v1/nope", headers=headers), 404, "not_found")
    _error(await client.delete("/api/v1/contacts/1", headers=headers), 405, "method_not_allowed")
    assert (await client.get("/api/health")).json() == {"status": "ok"}


async def test_the_docs_cover_every_route_and_load_nothing_from_elsewhere(client):
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert spec["servers"] == [{"url": "/api/v1"}] and "bearerAuth" in spec["components"]["securitySchemes"]
    response = await client.get("/api/docs")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert f"{method.upper()} /api/v1{path}" in page
            for requirement in operation["security"]:
                for scope in requirement["bearerAuth"]:
                    assert f"scope <code>{scope}</code>" in page
    assert len(spec["paths"]) >= 8
    assert "<script" not in page.lower()
    for attribute, url in re.findall(r'(src|href|action)\s*=\s*["\']?([^"\'\s>]+)', page, flags=re.I):
        assert not re.match(r"^(https?:)?//", url), (attribute, url)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page) and "@import" not in page
