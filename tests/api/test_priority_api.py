"""REST API v1: a conversation's priority and SLA deadline in its representation, and setting the priority."""

import datetime as dt

from crm_app.models import Conversation
from tests.api.test_v1 import _error, _token, client, redis_clean, world  # noqa: F401  (fixtures)
from tests.factories import make_user


async def test_staff_set_the_priority_and_every_representation_names_it(client, db, world):  # noqa: F811
    cid = world["conversation"].id
    due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=30)
    conversation = db.get(Conversation, cid)
    conversation.sla_due_at, conversation.sla_started_at = due, due - dt.timedelta(hours=1)
    db.add(conversation)
    db.commit()
    supervisor = make_user(db, world["tenant"].id, "supervisor")
    headers = _token(db, world["admin"], user=supervisor)
    response = await client.post(f"/api/v1/conversations/{cid}/priority", headers=headers, json={"priority": "high"})
    assert response.status_code == 200, response.text
    assert response.json()["priority"] == "high"
    db.expire_all()
    assert db.get(Conversation, cid).priority == 3
    detail = (await client.get(f"/api/v1/conversations/{cid}", headers=headers)).json()["conversation"]
    assert detail["priority"] == "high"
    assert dt.datetime.fromisoformat(detail["sla_due_at"]) == due
    assert dt.datetime.fromisoformat(detail["sla_started_at"]) == due - dt.timedelta(hours=1)
    listed = (await client.get("/api/v1/conversations", headers=headers,
                               params={"tab": "all", "sort": "due", "at_risk": "true"})).json()["data"]
    assert listed == []  # 30 of 60 minutes left: not at risk yet
    listed = (await client.get("/api/v1/conversations", headers=headers,
                               params={"tab": "all", "sort": "priority"})).json()["data"]
    assert [(r["id"], r["priority"]) for r in listed] == [(cid, "high")]
    back = await client.post(f"/api/v1/conversations/{cid}/priority", headers=headers, json={"priority": "none"})
    assert back.json()["priority"] == "none"


async def test_attendants_other_tenants_bad_values_and_missing_scopes_are_refused(client, db, world):  # noqa: F811
    cid, url = world["conversation"].id, f"/api/v1/conversations/{world['conversation'].id}/priority"
    attendant = _token(db, world["admin"], user=world["attendant"])
    _error(await client.post(url, headers=attendant, json={"priority": "urgent"}), 403, "permission_denied")
    admin = _token(db, world["admin"])
    foreign = f"/api/v1/conversations/{world['foreign'].id}/priority"
    _error(await client.post(foreign, headers=admin, json={"priority": "urgent"}), 404, "not_found")
    for body in ({"priority": "critical"}, {"priority": 9}, {}, {"priority": "high", "extra": 1}):
        _error(await client.post(url, headers=admin, json=body), 422, "validation")
    read_only = _token(db, world["admin"], scopes=["conversations:read"])
    _error(await client.post(url, headers=read_only, json={"priority": "high"}), 403, "insufficient_scope")
    db.expire_all()
    assert db.get(Conversation, cid).priority == 0
    assert db.get(Conversation, world["foreign"].id).priority == 0
