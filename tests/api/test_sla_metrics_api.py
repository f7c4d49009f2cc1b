"""`GET /api/v1/metrics/sla` over HTTP through create_api(): attainment and breaches per target, day, attendant,
team and number from the clocks we created (by hand: a hit on its `done_at`, a miss on its `due_at`, São Paulo
days); an attendant's own clocks only; another tenant's filter is not found; a DPO may not read; a bad period is
422; the route is documented."""

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest

from crm_app.models import SlaClock, Team, Tenant
from crm_app.services.access import api_tokens
from tests.factories import make_conversation, make_inbox, make_tenant, make_user

SP = ZoneInfo("America/Sao_Paulo")
WEEK = "period=custom&since=2026-11-02&until=2026-11-04"


@pytest.fixture
async def client(redis_client):
    from crm_app.api.routes import create_api

    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()),
                                 base_url="http://127.0.0.1") as c:
        yield c


def _token(db, admin, user, scopes=("metrics:read",)) -> dict[str, str]:
    _, secret = api_tokens.create(db, actor=admin, name="s", scopes=list(scopes), user_id=user.user_id)
    db.commit()
    return {"Authorization": f"Bearer {secret}"}


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SP)


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    db.get(Tenant, tenant.id).timezone = "America/Sao_Paulo"
    admin, ana, bia, dpo = (make_user(db, tenant.id, role) for role in ("admin", "attendant", "attendant", "dpo"))
    box, shop = make_inbox(db, tenant.id), make_inbox(db, tenant.id, name="Loja")
    team = Team(tenant_id=tenant.id, name="Vendas")
    db.add(team)
    db.flush()
    one = make_conversation(db, box.id, wa_id="5511966600001")
    two = make_conversation(db, shop.id, wa_id="5511966600002")
    clocks = [  # conversation, target, status, started, due, done, team, assignee
        (one, "first_response", "hit", _at(2, 9), _at(2, 9, 15), _at(2, 9, 5), team, ana),
        (one, "next_response", "missed", _at(2, 10), _at(2, 23, 50), None, team, ana),  # missed on the 2nd, local
        (one, "next_response", "hit", _at(3, 10), _at(3, 10, 30), _at(3, 10, 20), team, ana),
        (one, "resolution", "missed", _at(2, 9), _at(4, 9), _at(4, 12), team, ana),  # answered late: still missed
        (two, "first_response", "missed", _at(3, 23), _at(4, 0, 10), _at(4, 1), None, bia),
        (two, "resolution", "hit", _at(3, 23), _at(6, 9), _at(4, 20), None, bia),
        (two, "next_response", "active", _at(4, 21), _at(4, 21, 30), None, None, bia),  # running: not counted
        (two, "next_response", "missed", _at(1, 8), _at(1, 23, 59), None, None, bia),  # the day before: previous
        (two, "next_response", "hit", _at(5, 1), _at(5, 2), _at(5, 0, 30), None, bia),  # after the period
    ]
    for conversation, target, status, started, due, done, in_team, who in clocks:
        db.add(SlaClock(tenant_id=tenant.id, conversation_id=conversation.id, target=target, status=status,
                        started_at=started, due_at=due, done_at=done, inbox_id=conversation.inbox_id,
                        team_id=in_team.id if in_team else None, assignee_id=who.user_id))
    other = make_tenant(db)
    stranger = make_user(db, other.id, "admin")
    foreign = make_conversation(db, make_inbox(db, other.id).id, wa_id="5511966600888")
    db.add(SlaClock(tenant_id=other.id, conversation_id=foreign.id, target="first_response", status="missed",
                    started_at=_at(3, 8), due_at=_at(3, 9), inbox_id=foreign.inbox_id))
    foreign_team = Team(tenant_id=other.id, name="Outra")
    db.add(foreign_team)
    db.commit()
    return dict(admin=admin, ana=ana, bia=bia, dpo=dpo, team=team, box=box, shop=shop, stranger=stranger,
                foreign_team=foreign_team)


def _pair(figures: dict) -> tuple[int, int, float | None]:
    return figures["hit"], figures["missed"], figures["attainment"]


async def test_attainment_and_breaches_per_target_day_attendant_team_and_number(client, db, world):
    got = await client.get(f"/api/v1/metrics/sla?{WEEK}", headers=_token(db, world["admin"], world["admin"]))
    assert got.status_code == 200, got.text
    body = got.json()
    totals = body["totals"]
    assert _pair(totals["first_response"]) == (1, 1, 0.5)
    assert _pair(totals["next_response"]) == (1, 1, 0.5)
    assert _pair(totals["resolution"]) == (1, 1, 0.5)
    assert _pair(totals["all"]) == (3, 3, 0.5)
    assert body["period"]["timezone"] == "America/Sao_Paulo"
    breaches = {d["day"]: d["all"]["missed"] for d in body["days"]}
    assert breaches == {"2026-11-02": 1, "2026-11-03": 0, "2026-11-04": 2}
    assert sum(d["all"]["hit"] for d in body["days"]) == totals["all"]["hit"]
    assert _pair(body["previous_totals"]["next_response"]) == (0, 1, 0.0)
    people = {r["id"]: r for r in body["by_attendant"]}
    assert _pair(people[world["ana"].user_id]["all"]) == (2, 2, 0.5)
    assert _pair(people[world["bia"].user_id]["first_response"]) == (0, 1, 0.0)
    assert _pair(people[world["bia"].user_id]["next_response"]) == (0, 0, None)
    assert [(r["id"], _pair(r["all"])) for r in body["by_team"]] == [(world["team"].id, (2, 2, 0.5))]
    numbers = {r["id"]: _pair(r["all"]) for r in body["by_number"]}
    assert numbers == {world["box"].id: (2, 2, 0.5), world["shop"].id: (1, 1, 0.5)}


async def test_an_attendant_reads_only_their_own_clocks(client, db, world):
    mine = _token(db, world["admin"], world["bia"])
    body = (await client.get(f"/api/v1/metrics/sla?{WEEK}&attendant_id={world['ana'].user_id}", headers=mine)).json()
    assert _pair(body["totals"]["all"]) == (1, 1, 0.5)  # still Bia's own
    assert [r["id"] for r in body["by_attendant"]] == [world["bia"].user_id] and body["by_team"] == []


async def test_another_tenants_filter_a_dpo_and_a_bad_period_are_refused(client, db, world):
    headers = _token(db, world["admin"], world["admin"])
    got = await client.get(f"/api/v1/metrics/sla?team_id={world['foreign_team'].id}", headers=headers)
    assert got.status_code == 404
    foreign = _token(db, world["stranger"], world["stranger"])
    body = (await client.get(f"/api/v1/metrics/sla?{WEEK}", headers=foreign)).json()
    assert _pair(body["totals"]["all"]) == (0, 1, 0.0)  # their one clock, none of ours
    dpo = _token(db, world["admin"], world["dpo"])
    assert (await client.get("/api/v1/metrics/sla", headers=dpo)).status_code == 403
    no_scope = _token(db, world["admin"], world["admin"], ("csat:read",))
    assert (await client.get("/api/v1/metrics/sla", headers=no_scope)).status_code == 403
    assert (await client.get("/api/v1/metrics/sla?period=week", headers=headers)).status_code == 422
    bad = await client.get("/api/v1/metrics/sla?period=custom&since=2026-11-04&until=2026-11-01", headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "until"


def test_the_route_and_its_definitions_are_documented_in_openapi():
    from crm_app.api.v1 import create_v1

    spec = create_v1().openapi()
    route = spec["paths"]["/metrics/sla"]["get"]
    assert route["summary"].startswith("SLA attainment") and "due_at" in route["description"]
    params = {p["name"] for p in route["parameters"]}
    assert {"period", "since", "until", "team_id", "inbox_id", "label_id", "attendant_id"} <= params
    figures = spec["components"]["schemas"]["SlaFigures"]["properties"]
    assert "hit / (hit + missed)" in figures["attainment"]["description"]
