"""/api/v1/sla/policies over HTTP through create_api(): scopes, roles, tenants, 422 for bad input, OpenAPI."""

import httpx
import pytest

from crm_app.api.routes import create_api
from crm_app.services.access import api_tokens
from tests.factories import make_inbox, make_tenant, make_user


@pytest.fixture
async def client(redis_client):
    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()),
                                 base_url="http://127.0.0.1") as c:
        yield c


def bearer(db, actor, *scopes: str) -> dict[str, str]:
    """A token acting as `actor`, made by an admin of its tenant (only admins make tokens)."""
    admin = actor if actor.role == "admin" else make_user(db, actor.tenant_id, "admin")
    _, secret = api_tokens.create(db, actor=admin, name="t", scopes=list(scopes), user_id=actor.user_id)
    db.commit()
    return {"Authorization": f"Bearer {secret}"}


async def test_create_list_change_and_remove_a_policy(client, db):
    tenant = make_tenant(db)
    supervisor = make_user(db, tenant.id, "supervisor")
    inbox = make_inbox(db, tenant.id)
    write = bearer(db, supervisor, "sla:read", "sla:write")
    response = await client.post("/api/v1/sla/policies", headers=write, json={
        "name": "Ouro", "first_response_minutes": 15, "resolution_minutes": 480,
        "conditions": [{"kind": "number", "value": inbox.id}, {"kind": "attribute", "key": "plano", "value": "ouro"}],
        "warn_before_minutes": 5, "escalation": [{"action": "notify_supervisor"},
                                                 {"action": "raise_priority", "after_minutes": 30}]})
    assert response.status_code == 201, response.text
    policy = response.json()
    assert policy["conditions"] == [{"kind": "number", "value": inbox.id},
                                    {"kind": "attribute", "key": "plano", "value": "ouro"}]
    assert policy["escalation"][0] == {"action": "notify_supervisor", "after_minutes": 0}
    response = await client.patch(f"/api/v1/sla/policies/{policy['id']}", headers=write,
                                  json={"first_response_minutes": None, "business_hours_only": False})
    assert response.status_code == 200, response.text
    assert (response.json()["first_response_minutes"], response.json()["business_hours_only"]) == (None, False)
    response = await client.patch(f"/api/v1/sla/policies/{policy['id']}", headers=write, json={"name": None})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "name"
    response = await client.patch(f"/api/v1/sla/policies/{policy['id']}", headers=write, json={"conditions": None})
    assert response.json()["conditions"] == []
    listed = (await client.get("/api/v1/sla/policies", headers=write)).json()
    assert [p["name"] for p in listed] == ["Ouro"]
    assert (await client.delete(f"/api/v1/sla/policies/{policy['id']}", headers=write)).status_code == 204
    assert (await client.get(f"/api/v1/sla/policies/{policy['id']}", headers=write)).status_code == 404


async def test_bad_input_is_422_with_the_field(client, db):
    tenant = make_tenant(db)
    write = bearer(db, make_user(db, tenant.id, "admin"), "sla:read", "sla:write")
    foreign = make_inbox(db, make_tenant(db).id)
    for body, field in (({"name": "x", "resolution_minutes": 0}, "resolution_minutes"),
                        ({"name": "x", "conditions": [{"kind": "number", "value": foreign.id}]}, "conditions"),
                        ({"name": "x", "escalation": [{"action": "reassign_user"}]}, "escalation")):
        response = await client.post("/api/v1/sla/policies", headers=write, json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text


async def test_scopes_roles_and_tenants(client, db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    created = await client.post("/api/v1/sla/policies", headers=bearer(db, admin, "sla:write"), json={"name": "A"})
    assert created.status_code == 201
    policy_id = created.json()["id"]
    read_only = bearer(db, admin, "sla:read")
    assert (await client.post("/api/v1/sla/policies", headers=read_only, json={"name": "B"})).status_code == 403
    assert (await client.get("/api/v1/sla/policies", headers=bearer(db, admin, "metrics:read"))).status_code == 403
    attendant = bearer(db, make_user(db, tenant.id, "attendant"), "sla:read")
    assert (await client.get("/api/v1/sla/policies", headers=attendant)).status_code == 403
    other = bearer(db, make_user(db, make_tenant(db).id, "admin"), "sla:read", "sla:write")
    assert (await client.get(f"/api/v1/sla/policies/{policy_id}", headers=other)).status_code == 404
    assert (await client.delete(f"/api/v1/sla/policies/{policy_id}", headers=other)).status_code == 404
    assert (await client.get("/api/v1/sla/policies", headers=other)).json() == []


async def test_openapi_documents_the_routes(client):
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert {"get", "post"} <= set(spec["paths"]["/sla/policies"])
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/sla/policies/{policy_id}"])
    assert "first match wins" in spec["components"]["schemas"]["Policy"]["properties"]["position"]["description"]


async def test_a_conversations_sla_state_breaches_and_actions_and_who_may_read_them(client, db):
    import datetime as dt

    from crm_app.db import utcnow
    from crm_app.models import Conversation
    from crm_app.services import sla
    from crm_app.services.conversations import facts
    from crm_app.services.sla import tracking
    from tests.factories import make_conversation

    tenant = make_tenant(db)
    supervisor = make_user(db, tenant.id, "supervisor")
    sla.create_policy(db, actor=supervisor, name="Padrão", is_default=True, first_response_minutes=5,
                      resolution_minutes=60, business_hours_only=False,
                      escalation=[{"action": "raise_priority", "after_minutes": 0}])
    conversation = make_conversation(db, make_inbox(db, tenant.id).id)
    start = utcnow().replace(microsecond=0) - dt.timedelta(minutes=30)
    facts.note(db, conversation, "handoff", at=start, reason="menu")
    db.commit()
    tracking.evaluate(conversation.id, start + dt.timedelta(minutes=6))
    response = await client.get(f"/api/v1/conversations/{conversation.id}/sla", headers=bearer(db, supervisor,
                                                                                               "sla:read"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["policy_name"], body["priority"]) == ("Padrão", "low")
    assert body["state"]["first_response"]["status"] == "missed"
    assert body["state"]["resolution"]["status"] == "active"
    assert [b["target"] for b in body["breaches"]] == ["first_response"]
    assert [(a["kind"], a["action"], a["target"]) for a in body["actions"]] == [
        ("escalate", "raise_priority", "first_response")]
    assert dt.datetime.fromisoformat(body["next_due_at"]) == start + dt.timedelta(minutes=5)

    other = make_tenant(db)
    outsider = make_user(db, other.id, "supervisor")
    response = await client.get(f"/api/v1/conversations/{conversation.id}/sla", headers=bearer(db, outsider,
                                                                                               "sla:read"))
    assert response.status_code == 404
    response = await client.get(f"/api/v1/conversations/{conversation.id}/sla",
                                headers=bearer(db, supervisor, "conversations:read"))
    assert response.status_code == 403
    db.expire_all()
    assert db.get(Conversation, conversation.id).priority == 1
