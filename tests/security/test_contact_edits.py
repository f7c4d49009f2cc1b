"""Issue 15, point 7: attendants edit only contacts of conversations they can open, unless the tenant allows any.

The attack: an attendant edited any contact of the tenant (the REST API's PATCH, or a forged Reflex event naming
another contact id). Replayed over HTTP through the real app and through the real event handler.
"""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from crm_app.api.routes import create_api
from crm_app.models import Contact, User
from crm_app.services import settings
from crm_app.services.access import api_tokens, sessions
from crm_app.state.inbox.conversation import InboxConversationState
from crm_app.state.settings_security import SecuritySettingsState
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import quick_conversation
from tests.support.isolation import fresh_state, run_handler


@pytest.fixture
def desk(db, redis_client):
    for key in redis_client.scan_iter("crm:api-*"):
        redis_client.delete(key)
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    ana, bia = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    inbox = make_inbox(db, tenant.id)
    chats = {"ana": quick_conversation(db, inbox.id, phone="+5511911110001", name="Cliente da Ana",
                                       assignee_id=ana.user_id),
             "bia": quick_conversation(db, inbox.id, phone="+5511911110002", name="Cliente da Bia",
                                       assignee_id=bia.user_id),
             "nobody": quick_conversation(db, inbox.id, phone="+5511911110003", name="Cliente na fila")}
    db.commit()
    _, secret = api_tokens.create(db, actor=admin, name="ana", scopes=["contacts:read", "contacts:write"],
                                  user_id=ana.user_id)
    cookies = {who: sessions.open_session(db, user=db.get(User, actor.user_id), ip="127.0.0.1")
               for who, actor in (("admin", admin), ("ana", ana))}
    db.commit()
    return tenant, chats, {"Authorization": f"Bearer {secret}"}, cookies


async def _patch(headers: dict, contact_id: int, name: str) -> int:
    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.patch(f"/api/v1/contacts/{contact_id}", json={"name": name}, headers=headers)
    return response.status_code


def _names(db) -> dict[int, str]:
    db.expire_all()
    return {c.id: c.name for c in db.exec(select(Contact)).all()}


async def test_an_attendant_cannot_edit_the_contact_of_another_attendants_conversation(db, desk):
    tenant, chats, ana_token, _ = desk
    before = _names(db)
    assert await _patch(ana_token, chats["bia"].contact_id, "pwned") == 403
    assert _names(db) == before
    assert await _patch(ana_token, chats["ana"].contact_id, "Ana's edit") == 200
    assert await _patch(ana_token, chats["nobody"].contact_id, "Queue edit") == 200  # she may open it


async def test_a_forged_event_naming_another_contact_is_refused(db, desk):
    tenant, chats, _, cookies = desk
    _, state = fresh_state(InboxConversationState, cookies["ana"])
    state.selected_id = chats["ana"].id
    state.contact = {"id": str(chats["bia"].contact_id)}
    before = _names(db)
    await run_handler(state, "save_contact", ({"name": "pwned", "email": ""},))
    assert _names(db) == before


async def test_the_tenant_may_let_attendants_edit_any_contact(db, desk):
    tenant, chats, ana_token, cookies = desk
    _, page = fresh_state(SecuritySettingsState, cookies["admin"])
    await run_handler(page, "load", ())
    assert page.any_contact is False
    page.any_contact = True
    await run_handler(page, "save", ())
    db.expire_all()
    assert settings.value(db, "security.attendants_edit_any_contact", tenant_id=tenant.id) is True
    assert settings.source(db, "security.attendants_edit_any_contact", tenant_id=tenant.id) == "tenant"
    assert await _patch(ana_token, chats["bia"].contact_id, "Allowed now") == 200
    assert _names(db)[chats["bia"].contact_id] == "Allowed now"
