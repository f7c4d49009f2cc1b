"""GET/PATCH /api/v1/settings over HTTP through create_api(): values with their source, secrets write-only,
per-field 422s that change nothing, and 403 without the scope or the role."""

import httpx
import pytest
from sqlalchemy import text

from crm_app.api.routes import create_api
from crm_app.services import settings
from crm_app.services.access import api_tokens
from tests.factories import make_tenant, make_user

IDLE = "security.session_idle_minutes"


@pytest.fixture
async def client(redis_client):
    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()),
                                 base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def shop(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")

    def token(*scopes: str, user=None) -> dict[str, str]:
        _, secret = api_tokens.create(db, actor=admin, name="t", scopes=list(scopes),
                                      user_id=user.user_id if user else None)
        db.commit()
        return {"Authorization": f"Bearer {secret}"}

    return tenant, admin, token


async def test_get_shows_values_and_sources_and_a_secret_only_as_configured(client, db, shop):
    tenant, admin, token = shop
    settings.update(db, actor=None, tenant_id=None, changes={"channel.keep_deleted_message_text": False})
    settings.update(db, actor=None, tenant_id=tenant.id, changes={IDLE: 45, "ai.api_key": "sk-never-shown"})
    db.commit()
    response = await client.get("/api/v1/settings", headers=token("settings:read"))
    assert response.status_code == 200, response.text
    body = response.json()["settings"]
    assert "sk-never-shown" not in response.text
    assert body[IDLE] == {"value": 45, "source": "tenant", "category": "security", "editable": True, "secret": False}
    assert body["channel.keep_deleted_message_text"]["value"] is False
    assert body["channel.keep_deleted_message_text"]["source"] == "global"
    assert body["ai.model"]["source"] == "default"
    assert body["ai.api_key"]["value"] == {"configured": True} and body["ai.api_key"]["secret"]
    assert "system.trusted_proxies" not in body


async def test_patch_changes_values_with_a_reason_and_answers_the_new_view(client, db, shop):
    tenant, admin, token = shop
    response = await client.patch("/api/v1/settings", headers=token("settings:write"), json={
        "values": {IDLE: 50, "ai.api_key": "sk-from-the-api"}, "reason": "Turno da noite"})
    assert response.status_code == 200, response.text
    assert response.json()["settings"][IDLE]["value"] == 50
    assert response.json()["settings"]["ai.api_key"]["value"] == {"configured": True}
    assert "sk-from-the-api" not in response.text
    assert settings.value(None, "ai.api_key", tenant_id=tenant.id) == "sk-from-the-api"
    rows = settings.history(db, actor=admin, tenant_id=tenant.id)
    assert {r.reason for r in rows} == {"Turno da noite"} and {r.actor_user_id for r in rows} == {admin.user_id}
    response = await client.patch("/api/v1/settings", headers=token("settings:write"), json={"values": {IDLE: None}})
    assert response.json()["settings"][IDLE] == {"value": 30, "source": "default", "category": "security",
                                                 "editable": True, "secret": False}


async def test_patch_with_bad_values_is_422_per_field_and_changes_nothing(client, db, shop):
    tenant, admin, token = shop
    response = await client.patch("/api/v1/settings", headers=token("settings:write"), json={
        "values": {IDLE: 2, "ai.model": "ok-model", "ai.min_confidence": "muito", "nope": 1}})
    assert response.status_code == 422, response.text
    details = {d["field"]: d["message"] for d in response.json()["error"]["details"]}
    assert set(details) == {IDLE, "ai.min_confidence", "nope"}
    assert "5" in details[IDLE]
    assert db.exec(text("SELECT count(*) FROM setting_values")).one()[0] == 0
    response = await client.patch("/api/v1/settings", headers=token("settings:write"),
                                  json={"values": {"system.trusted_proxies": "10.0.0.0/8"}})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "system.trusted_proxies"


async def test_without_the_scope_or_the_role_it_is_403(client, db, shop):
    tenant, admin, token = shop
    assert (await client.get("/api/v1/settings", headers=token("users:read"))).status_code == 403
    response = await client.patch("/api/v1/settings", headers=token("settings:read"), json={"values": {IDLE: 45}})
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"
    attendant = make_user(db, tenant.id, "attendant")
    as_attendant = token("settings:read", "settings:write", user=attendant)
    assert (await client.get("/api/v1/settings", headers=as_attendant)).status_code == 403
    response = await client.patch("/api/v1/settings", headers=as_attendant, json={"values": {IDLE: 45}})
    assert response.status_code == 403
    assert db.exec(text("SELECT count(*) FROM setting_values")).one()[0] == 0
