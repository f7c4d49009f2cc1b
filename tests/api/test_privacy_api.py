"""REST API v1, privacy: requests with due dates and jobs, the bundle link, consents, holds, scopes and tenants."""

import io
import zipfile

import pytest
from sqlmodel import select

from crm_app.models import Contact, Conversation
from tests.api.test_v1 import _client, _conversation, _error, _token
from tests.factories import make_tenant, make_user
from tests.support.whatsapp import run_burst_worker

PRIVACY = ["privacy:read", "privacy:write"]


@pytest.fixture
async def client(redis_client):
    from crm_app.api.routes import create_api

    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    async with await _client(create_api()) as c:
        yield c


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    admin, dpo = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "dpo")
    mine = _conversation(db, tenant.id)
    other = make_tenant(db)
    foreign = _conversation(db, other.id)
    contact = db.get(Contact, mine.contact_id)
    contact.name = "Maria Apagável"
    db.add(contact)
    db.commit()
    return dict(admin=admin, dpo=dpo, contact_id=mine.contact_id, foreign_contact_id=foreign.contact_id,
                headers=_token(db, admin, PRIVACY, user=dpo))


async def test_an_erasure_request_runs_as_a_job_and_a_second_one_is_409(client, db, world):
    created = await client.post("/api/v1/privacy/requests", headers=world["headers"],
                                json={"contact_id": world["contact_id"], "kind": "erasure"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "in_progress" and body["due_on"] and body["kind"] == "erasure"
    assert run_burst_worker("bulk").returncode == 0
    done = await client.get(f"/api/v1/privacy/requests/{body['id']}", headers=world["headers"])
    assert done.json()["status"] == "done" and done.json()["contact_name"] is None
    again = await client.post("/api/v1/privacy/requests", headers=world["headers"],
                              json={"contact_id": world["contact_id"], "kind": "erasure"})
    assert "already erased" in _error(again, 409, "conflict")["message"]
    listed = await client.get("/api/v1/privacy/requests", headers=world["headers"])
    assert [r["id"] for r in listed.json()["data"]] == [body["id"]]
    db.expire_all()
    assert db.get(Contact, world["contact_id"]).name is None
    assert db.exec(select(Conversation).where(Conversation.contact_id == world["contact_id"])).all()  # rows stay


async def test_an_access_bundle_downloads_through_an_expiring_link(client, world):
    created = await client.post("/api/v1/privacy/requests", headers=world["headers"],
                                json={"contact_id": world["contact_id"], "kind": "access"})
    assert run_burst_worker("bulk").returncode == 0
    link = await client.post(f"/api/v1/privacy/requests/{created.json()['id']}/download_link",
                             headers=world["headers"])
    assert link.status_code == 200, link.text
    got = await client.get(link.json()["url"], headers=world["headers"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(got.content)).namelist()
    assert {"data.json", "manifest.json", "manifest.sig"} <= set(names)
    assert "Maria Apagável" in zipfile.ZipFile(io.BytesIO(got.content)).read("data.json").decode()
    bad = await client.get("/api/v1/privacy/bundles/not-a-token", headers=world["headers"])
    _error(bad, 404, "not_found")


async def test_holds_and_consents_over_the_api(client, world):
    hold = await client.post("/api/v1/privacy/holds", headers=world["headers"],
                             json={"contact_id": world["contact_id"], "reason": "Ação trabalhista 123"})
    assert hold.status_code == 201, hold.text
    refused = await client.post("/api/v1/privacy/requests", headers=world["headers"],
                                json={"contact_id": world["contact_id"], "kind": "erasure"})
    assert "Ação trabalhista 123" in _error(refused, 409, "conflict")["message"]
    assert (await client.delete(f"/api/v1/privacy/holds/{hold.json()['id']}", headers=world["headers"])).status_code \
        == 204
    granted = await client.post(f"/api/v1/privacy/contacts/{world['contact_id']}/consents", headers=world["headers"],
                                json={"purpose": "marketing", "granted": True})
    assert granted.status_code == 201 and granted.json()["source"] == "api"
    ledger = await client.get(f"/api/v1/privacy/contacts/{world['contact_id']}/consents", headers=world["headers"])
    assert [e["granted"] for e in ledger.json()["data"]] == [True]


async def test_unknown_and_foreign_contacts_are_404_bad_input_422_missing_scope_403(client, db, world):
    for contact_id in (999_999, world["foreign_contact_id"]):
        response = await client.post("/api/v1/privacy/requests", headers=world["headers"],
                                     json={"contact_id": contact_id, "kind": "access"})
        _error(response, 404, "not_found")
    bad = await client.post("/api/v1/privacy/requests", headers=world["headers"],
                            json={"contact_id": world["contact_id"], "kind": "forget-me-maybe"})
    assert bad.status_code == 422
    read_only = _token(db, world["admin"], ["privacy:read"], user=world["dpo"])
    response = await client.post("/api/v1/privacy/requests", headers=read_only,
                                 json={"contact_id": world["contact_id"], "kind": "access"})
    _error(response, 403, "insufficient_scope")
    attendant = make_user(db, world["admin"].tenant_id, "attendant")
    as_attendant = _token(db, world["admin"], PRIVACY, user=attendant)
    _error(await client.get("/api/v1/privacy/requests", headers=as_attendant), 403, "permission_denied")
