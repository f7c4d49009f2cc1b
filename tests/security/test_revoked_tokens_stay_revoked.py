"""Issue 15, point 7: reactivating a user does not revive their old API tokens.

The attack: an admin deactivates someone (whose token leaked, or who left), later reactivates the account, and
every token acting as them, or made by them, works again. Checked over HTTP through the real app.
"""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from crm_app.api.routes import create_api
from crm_app.models import ApiToken, AuditLog
from crm_app.services.access import api_tokens, users
from tests.factories import make_tenant, make_user


@pytest.fixture
def office(db, redis_client):
    for key in redis_client.scan_iter("crm:api-*"):
        redis_client.delete(key)
    tenant = make_tenant(db)
    boss, other_admin = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "admin")
    attendant = make_user(db, tenant.id, "attendant")
    _, as_attendant = api_tokens.create(db, actor=boss, name="acts as the attendant", scopes=["conversations:read"],
                                        user_id=attendant.user_id)
    _, made_by_other = api_tokens.create(db, actor=other_admin, name="made by the other admin",
                                         scopes=["conversations:read"])
    _, unrelated = api_tokens.create(db, actor=boss, name="the boss's own", scopes=["conversations:read"])
    db.commit()
    return boss, other_admin, attendant, {"as_attendant": as_attendant, "made_by_other": made_by_other,
                                          "unrelated": unrelated}


async def _status(secret: str) -> int:
    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {secret}"})
    return response.status_code


async def test_reactivated_users_do_not_get_their_tokens_back(db, office):
    boss, other_admin, attendant, secrets = office
    assert {name: await _status(s) for name, s in secrets.items()} == dict.fromkeys(secrets, 200)
    for person in (attendant, other_admin):
        users.set_active(db, actor=boss, user_id=person.user_id, active=False)
        db.commit()
    assert await _status(secrets["as_attendant"]) == 401 and await _status(secrets["made_by_other"]) == 401
    for person in (attendant, other_admin):
        users.set_active(db, actor=boss, user_id=person.user_id, active=True)
        db.commit()
    assert await _status(secrets["as_attendant"]) == 401
    assert await _status(secrets["made_by_other"]) == 401
    assert await _status(secrets["unrelated"]) == 200
    db.expire_all()
    revoked = db.exec(select(ApiToken).where(ApiToken.revoked_at.is_not(None))).all()
    assert sorted(t.name for t in revoked) == ["acts as the attendant", "made by the other admin"]
    audits = db.exec(select(AuditLog).where(AuditLog.action == "api_token.revoke")).all()
    assert sorted(a.target_id for a in audits) == sorted(str(t.id) for t in revoked)
    assert all(a.after == {"reason": "user_deactivated"} for a in audits)
