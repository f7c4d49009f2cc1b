"""REST API v1 metrics: scope, tenancy, roles, the summary equals the series, and documented definitions."""

import datetime as dt

import httpx
import pytest

from crm_app.api.routes import create_api
from crm_app.models import Team
from crm_app.services.access import api_tokens
from crm_app.services.conversations import facts
from tests.factories import make_conversation, make_inbox, make_tenant, make_user, today_start


@pytest.fixture
async def client(redis_client):
    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()),
                                 base_url="http://127.0.0.1") as c:
        yield c


def _token(db, admin, user, scopes=("metrics:read",)) -> dict[str, str]:
    _, secret = api_tokens.create(db, actor=admin, name="m", scopes=list(scopes), user_id=user.user_id)
    db.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    admin, ana, bia = (make_user(db, tenant.id, role) for role in ("admin", "attendant", "attendant"))
    executive = make_user(db, tenant.id, "executive")
    box = make_inbox(db, tenant.id)
    team = Team(tenant_id=tenant.id, name="Vendas")
    db.add(team)
    db.commit()
    start = today_start()
    for i, who in enumerate((ana, ana, bia)):
        c = make_conversation(db, box.id, wa_id=f"5511988800{i:03d}")
        c.created_at = start
        facts.note(db, c, "customer", at=start)
        facts.note(db, c, "handoff", at=start + dt.timedelta(minutes=1), team_id=team.id, reason="menu")
        facts.note(db, c, "assign", at=start + dt.timedelta(minutes=2), user_id=who.user_id)
        facts.note(db, c, "human", at=start + dt.timedelta(minutes=1 + 2 * (i + 1)), user_id=who.user_id)
        facts.note(db, c, "close", at=start + dt.timedelta(minutes=30), by="human")
    db.commit()
    other = make_tenant(db)
    foreign_team = Team(tenant_id=other.id, name="Outra")
    db.add(foreign_team)
    db.commit()
    return dict(tenant=tenant, admin=admin, ana=ana, bia=bia, executive=executive, team=team,
                foreign_team=foreign_team)


async def test_overview_totals_equal_the_timeseries_and_the_frt_by_hand(client, db, world):
    headers = _token(db, world["admin"], world["executive"])
    got = await client.get("/api/v1/metrics/overview?period=today", headers=headers)
    assert got.status_code == 200, got.text
    overview = got.json()
    series = (await client.get("/api/v1/metrics/timeseries?period=today", headers=headers)).json()
    assert overview["totals"]["closed"] == 3 and overview["totals"]["frt_count"] == 3
    for name, value in overview["totals"].items():
        assert value == sum(day[name] for day in series["data"]), name
    frt = overview["durations"]["frt"]  # 120, 240 and 360 s after the handoff
    assert (frt["count"], frt["median"], frt["avg"]) == (3, 240, 240)
    assert overview["frt_buckets"][1] == {"reason": "1-5m", "count": 2}
    assert overview["handoff_reasons"] == [{"reason": "menu", "count": 3}]
    assert (overview["totals"]["first_contact"], overview["first_contact_rate"]) == (3, 1.0)  # none came back
    rows = (await client.get("/api/v1/metrics/attendants?period=today", headers=headers)).json()["data"]
    assert sorted((r["handled"], r["first_contact"], r["first_contact_rate"]) for r in rows) == [(1, 1, 1.0),
                                                                                                 (2, 2, 1.0)]


async def test_attendants_see_only_themselves_and_a_token_needs_the_scope(client, db, world):
    mine = _token(db, world["admin"], world["ana"])
    rows = (await client.get("/api/v1/metrics/attendants?period=7d", headers=mine)).json()["data"]
    assert [r["user_id"] for r in rows] == [world["ana"].user_id] and rows[0]["handled"] == 2
    asked = (await client.get(f"/api/v1/metrics/overview?attendant_id={world['bia'].user_id}", headers=mine)).json()
    assert asked["totals"]["frt_count"] == 2  # still Ana's own figures
    everyone = _token(db, world["admin"], world["executive"])
    rows = (await client.get("/api/v1/metrics/attendants", headers=everyone)).json()["data"]
    assert sorted(r["user_id"] for r in rows) == sorted([world["ana"].user_id, world["bia"].user_id])
    no_scope = _token(db, world["admin"], world["executive"], scopes=("users:read",))
    assert (await client.get("/api/v1/metrics/overview", headers=no_scope)).status_code == 403


async def test_another_tenants_ids_and_bad_periods(client, db, world):
    headers = _token(db, world["admin"], world["admin"])
    got = await client.get(f"/api/v1/metrics/overview?team_id={world['foreign_team'].id}", headers=headers)
    assert got.status_code == 404
    got = await client.get("/api/v1/metrics/timeseries?period=custom&since=2026-01-10&until=2026-01-01",
                           headers=headers)
    assert got.status_code == 422
    ok = await client.get(f"/api/v1/metrics/overview?team_id={world['team'].id}", headers=headers)
    assert ok.json()["totals"]["closed"] == 3


async def test_every_metric_field_has_its_definition_in_openapi(client):
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert {"/metrics/overview", "/metrics/timeseries", "/metrics/attendants"} <= set(spec["paths"])
    counts = spec["components"]["schemas"]["Counts"]["properties"]
    assert all(field.get("description") for field in counts.values())
    overview = spec["components"]["schemas"]["Overview"]["properties"]
    assert "not reopened within 7 days" in overview["first_contact_rate"]["description"]
    assert "bot messages never count" in spec["components"]["schemas"]["Durations"]["properties"]["frt"][
        "description"]
