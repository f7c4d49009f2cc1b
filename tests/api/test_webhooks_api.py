"""/api/v1/webhooks over HTTP through create_api(): subscribe, read the event types with their schemas, the secret
shown once, 422 for bad input, the delivery log, and a real delivery verified with `standardwebhooks`."""

import httpx
import pytest

from crm_app.api.routes import create_api
from crm_app.domain import webhooks as rules
from crm_app.services.access import api_tokens
from tests.factories import make_tenant, make_user
from tests.support.sandbox import sandbox_in_thread
from tests.support.waiting import wait_for
from tests.support.webhooks import Receiver, default_worker, verify


@pytest.fixture(scope="module")
def receiver():
    with sandbox_in_thread() as base:
        yield Receiver(base)


@pytest.fixture
async def client(redis_client):
    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()),
                                 base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def token(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")

    def make(*scopes: str) -> dict[str, str]:
        _, secret = api_tokens.create(db, actor=admin, name="t", scopes=list(scopes))
        db.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


async def test_event_types_list_every_registered_type_with_schema_and_example(client, token):
    response = await client.get("/api/v1/webhooks/event-types", headers=token("webhooks:read"))
    assert response.status_code == 200
    types = {t["name"]: t for t in response.json()}
    assert set(types) == {*rules.EVENT_TYPES, "ping"}
    closed = types["conversation.closed"]
    assert closed["schema"]["properties"]["type"] == {"const": "conversation.closed"}
    assert closed["example"]["type"] == "conversation.closed" and "conversation_id" in closed["example"]["data"]


async def test_subscribe_then_a_real_action_arrives_signed(client, token, receiver, db):
    receiver.reset()
    write = token("webhooks:read", "webhooks:write", "users:read")
    response = await client.post("/api/v1/webhooks", headers=write, json={
        "url": receiver.url("api"), "description": "ERP", "event_types": ["ping"], "timeout_seconds": 5})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "event_types"
    response = await client.post("/api/v1/webhooks", headers=write, json={
        "url": receiver.url("api"), "description": "ERP", "event_types": ["user.created"], "timeout_seconds": 5,
        "headers": {"X-Erp-Key": "s3cr3t"}})
    assert response.status_code == 201, response.text
    secret, endpoint = response.json()["secret"], response.json()["endpoint"]
    assert secret.startswith("whsec_") and endpoint["headers"] == {"X-Erp-Key": "***"}
    listed = (await client.get("/api/v1/webhooks", headers=write)).json()
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]
    response = await client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=write)
    assert response.status_code == 202
    with default_worker():
        wait_for(lambda: receiver.requests("api"), timeout=60)
        [request] = receiver.requests("api")
        assert verify(secret, request)["type"] == "ping" and request["headers"]["x-erp-key"] == "s3cr3t"
        log = (await client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=write)).json()
        assert log[0]["event_type"] == "ping" and log[0]["msg_id"] == request["headers"]["webhook-id"]
    for bad in ({"timeout_seconds": 31}, {"url": "ftp://x"}, {"headers": {"webhook-signature": "x"}}):
        response = await client.patch(f"/api/v1/webhooks/{endpoint['id']}", headers=write, json=bad)
        assert response.status_code == 422, (bad, response.text)
    response = await client.patch(f"/api/v1/webhooks/{endpoint['id']}", headers=write, json={"enabled": False})
    assert response.json()["enabled"] is False


async def test_refused_addresses_are_422_with_the_reason(client, token, db):
    from crm_app.services import settings

    settings.update(db, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": False})
    db.commit()
    try:
        response = await client.post("/api/v1/webhooks", headers=token("webhooks:write"),
                                     json={"url": "http://169.254.169.254/latest/meta-data"})
        assert response.status_code == 422
        assert response.json()["error"]["details"] == [{"field": "url", "message": "the address is not allowed: "
                                                        "use a public address"}]
    finally:
        settings.update(db, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": None})
        db.commit()
