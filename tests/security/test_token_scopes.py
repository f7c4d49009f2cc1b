"""Issue 15, point 6: objects embedded in a REST answer obey their own scope.

The attack: a token with only `conversations:read` got the contact's e-mail, attributes (CPF) and history from
`GET /api/v1/conversations/{id}`. Replayed over HTTP through the real app with real tokens.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlmodel import Session

from crm_app.api.routes import create_api
from crm_app.models import Contact, ConversationStatus
from crm_app.services.access import api_tokens
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import add_text, quick_conversation

PHONE, EMAIL, CPF = "+5511987650001", "maria.secreta@example.com", "123.456.789-09"
SECRET_TEXT, OLD_TEXT = "meu cartao final 4242", "conversa antiga sobre reembolso"
PRIVATE = (PHONE, PHONE.lstrip("+"), EMAIL, CPF, SECRET_TEXT, OLD_TEXT, "vip")


@pytest.fixture
def shop(db: Session, redis_client):
    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    inbox = make_inbox(db, tenant.id)
    now = dt.datetime.now(dt.UTC)
    old = quick_conversation(db, inbox.id, phone=PHONE, name="Maria", status=ConversationStatus.CLOSED,
                             last_message_preview=OLD_TEXT, last_message_at=now - dt.timedelta(days=30))
    contact = db.get(Contact, old.contact_id)
    contact.email, contact.custom_attributes = EMAIL, {"cpf": CPF, "plano": "vip"}
    db.add(contact)
    current = quick_conversation(db, inbox.id, phone="+5511900000000", name="placeholder", last_message_at=now,
                                 last_message_preview=SECRET_TEXT)
    current.contact_id, current.contact_inbox_id = contact.id, old.contact_inbox_id
    db.add(current)
    add_text(db, current, SECRET_TEXT)
    db.commit()

    def token(*scopes: str) -> dict[str, str]:
        _, secret = api_tokens.create(db, actor=admin, name="t", scopes=list(scopes))
        db.commit()
        return {"Authorization": f"Bearer {secret}"}

    return current, contact, token


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://127.0.0.1")


def _leaks(text: str) -> list[str]:
    return [p for p in PRIVATE if p in text]


async def test_conversations_read_alone_shows_the_contact_as_id_and_name_only(shop):
    conversation, contact, token = shop
    async with _client() as client:
        response = await client.get(f"/api/v1/conversations/{conversation.id}",
                                    headers=token("conversations:read"))
    assert response.status_code == 200, response.text
    assert _leaks(response.text) == []
    body = response.json()
    assert body["contact"] == {"id": contact.id, "name": "Maria"}
    assert body["conversation"]["contact_name"] == "Maria" and body["conversation"]["contact_phone"] is None
    assert body["conversation"]["preview"] is None


async def test_list_endpoints_and_search_obey_the_embedded_scopes(shop):
    conversation, contact, token = shop
    narrow = token("conversations:read")
    async with _client() as client:
        listed = await client.get("/api/v1/conversations", params={"tab": "all"}, headers=narrow)
        assert listed.status_code == 200 and listed.json()["data"], listed.text
        assert _leaks(listed.text) == []
        for query in (EMAIL, PHONE, "cartao"):  # a search is a read of what it matches
            searched = await client.get("/api/v1/conversations", params={"tab": "all", "q": query}, headers=narrow)
            assert searched.status_code == 403 and searched.json()["error"]["code"] == "insufficient_scope"
        half = await client.get("/api/v1/conversations", params={"tab": "all", "q": EMAIL},
                                headers=token("conversations:read", "contacts:read"))
        assert half.status_code == 403


async def test_with_the_contacts_and_messages_scopes_everything_shows(shop):
    conversation, contact, token = shop
    full = token("conversations:read", "contacts:read", "messages:read")
    async with _client() as client:
        detail = await client.get(f"/api/v1/conversations/{conversation.id}", headers=full)
        searched = await client.get("/api/v1/conversations", params={"tab": "all", "q": "Maria"}, headers=full)
    body = detail.json()
    assert body["contact"]["email"] == EMAIL and body["contact"]["custom_attributes"]["cpf"] == CPF
    assert [c["preview"] for c in body["contact"]["past_conversations"]] == [SECRET_TEXT, OLD_TEXT]
    assert body["conversation"]["contact_phone"] == PHONE and body["conversation"]["preview"] == SECRET_TEXT
    assert [row["id"] for row in searched.json()["data"]] == [conversation.id]


async def test_the_openapi_document_says_so(shop):
    async with _client() as client:
        schema = (await client.get("/api/v1/openapi.json")).json()
    detail = schema["components"]["schemas"]["ConversationDetail"]["properties"]["contact"]
    assert "contacts:read" in detail["description"]
    phone = schema["components"]["schemas"]["Conversation"]["properties"]["contact_phone"]
    assert "contacts:read" in phone["description"]


async def test_a_write_only_token_cannot_read_a_contact_through_the_answer_of_its_change(shop):
    conversation, contact, token = shop
    async with _client() as client:
        write_only = await client.patch(f"/api/v1/contacts/{contact.id}", json={}, headers=token("contacts:write"))
        both = await client.patch(f"/api/v1/contacts/{contact.id}", json={},
                                  headers=token("contacts:write", "contacts:read"))
    assert write_only.status_code == 200, write_only.text
    assert _leaks(write_only.text) == [] and write_only.json() == {"id": contact.id, "name": "Maria"}
    assert both.json()["email"] == EMAIL
