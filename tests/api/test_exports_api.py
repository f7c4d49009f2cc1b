"""REST API v1 exports: ask, follow, download (audited), 410 once expired, contacts:read for contacts' data."""

import datetime as dt

import httpx
import pytest
from sqlmodel import select

from crm_app.api.routes import create_api
from crm_app.db import utcnow
from crm_app.models import AuditLog, Export
from crm_app.services.access import api_tokens
from crm_app.services.conversations import facts
from crm_app.services.exports import run
from tests.factories import make_conversation, make_inbox, make_tenant, make_user, today_start


@pytest.fixture
async def client(redis_client):
    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()),
                                 base_url="http://127.0.0.1") as c:
        yield c


def _token(db, admin, user, scopes) -> dict[str, str]:
    _, secret = api_tokens.create(db, actor=admin, name="x", scopes=list(scopes), user_id=user.user_id)
    db.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    admin, boss = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "executive")
    box = make_inbox(db, tenant.id)
    start = today_start()
    c = make_conversation(db, box.id, wa_id="5511988811122")
    facts.note(db, c, "customer", at=start)
    facts.note(db, c, "close", at=start + dt.timedelta(minutes=3), by="bot")
    db.commit()
    return {"tenant": tenant, "admin": admin, "boss": boss}


async def test_ask_follow_and_download_an_export(client, db, world):
    full = _token(db, world["admin"], world["boss"], ("exports:read", "exports:write", "contacts:read"))
    asked = await client.post("/api/v1/exports", headers=full, json={"kind": "conversations", "period": "7d"})
    assert asked.status_code == 202, asked.text
    body = asked.json()
    assert body["status"] == "queued" and body["download_url"] is None
    assert run.run_export(body["id"]) == "done"  # what the bulk worker runs
    status = (await client.get(f"/api/v1/exports/{body['id']}", headers=full)).json()
    assert (status["status"], status["rows_done"], status["rows_total"]) == ("done", 1, 1)
    got = await client.get(status["download_url"], headers=full)
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    assert "+55 11 98881-1122" in got.content.decode("utf-8-sig")
    assert got.headers["cache-control"] == "private, no-store"
    entries = db.exec(select(AuditLog).where(AuditLog.action == "export.download")).all()
    assert [(e.actor_user_id, e.target_id) for e in entries] == [(world["boss"].user_id, str(body["id"]))]
    # Without contacts:read the contacts' phones stay out of reach, as everywhere in the API.
    narrow = _token(db, world["admin"], world["boss"], ("exports:read",))
    refused = await client.get(status["download_url"], headers=narrow)
    assert refused.status_code == 403 and "contacts:read" in refused.text
    # 24 hours later the link is gone.
    row = db.get(Export, body["id"])
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.commit()
    expired = await client.get(status["download_url"], headers=full)
    assert expired.status_code == 410 and "24 hours" in expired.text


async def test_attendants_and_bad_input_are_refused_and_it_is_documented(client, db, world):
    attendant = make_user(db, world["tenant"].id, "attendant")
    token = _token(db, world["admin"], attendant, ("exports:read", "exports:write"))
    assert (await client.post("/api/v1/exports", headers=token, json={})).status_code == 403
    full = _token(db, world["admin"], world["admin"], ("exports:read", "exports:write"))
    bad = await client.post("/api/v1/exports", headers=full, json={"kind": "messages"})
    assert bad.status_code == 422
    foreign = make_user(db, make_tenant(db).id, "admin")
    stranger = _token(db, foreign, foreign, ("exports:read",))
    mine = (await client.post("/api/v1/exports", headers=full, json={"kind": "daily"})).json()
    assert (await client.get(f"/api/v1/exports/{mine['id']}", headers=stranger)).status_code == 404
    schema = (await client.get("/api/v1/openapi.json")).json()
    assert {"/exports", "/exports/{export_id}", "/exports/{export_id}/download"} <= set(schema["paths"])
    assert "exports:write" in str(schema["paths"]["/exports"]["post"]["security"])
