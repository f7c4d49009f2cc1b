"""CSAT over the REST API: `GET /api/v1/csat` (scope, tenancy, roles, comments only with `messages:read`, pages)
and `GET /api/v1/metrics/csat` (average, distribution, response rate per attendant, team and number; the summary
equals the series; the previous period for the KPI card's change)."""

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from crm_app.models import AuditLog, CsatSurvey, Team
from crm_app.services.access import api_tokens
from tests.factories import make_conversation, make_inbox, make_tenant, make_user, today_start


@pytest.fixture
async def client(redis_client):
    from crm_app.api.routes import create_api

    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()),
                                 base_url="http://127.0.0.1") as c:
        yield c


def _token(db, admin, user, scopes=("csat:read", "metrics:read")) -> dict[str, str]:
    _, secret = api_tokens.create(db, actor=admin, name="c", scopes=list(scopes), user_id=user.user_id)
    db.commit()
    return {"Authorization": f"Bearer {secret}"}


def _yesterday_noon() -> dt.datetime:
    zone = ZoneInfo("America/Sao_Paulo")
    day = today_start().astimezone(zone).date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(12), zone).astimezone(dt.UTC)


def _survey(db, conversation, who, team, rating, *, at, comment=None) -> int:
    row = CsatSurvey(tenant_id=conversation.tenant_id, conversation_id=conversation.id, cycle=0,
                     contact_id=conversation.contact_id, contact_inbox_id=conversation.contact_inbox_id,
                     inbox_id=conversation.inbox_id, team_id=team.id if team else None, attendant_id=who.user_id,
                     closed_by_user_id=who.user_id, status="sent" if rating is None else "done", rating=rating,
                     rated_at=None if rating is None else at + dt.timedelta(minutes=1), comment=comment, sent_at=at)
    db.add(row)
    db.flush()
    return row.id


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    admin, ana, bia = (make_user(db, tenant.id, role) for role in ("admin", "attendant", "attendant"))
    executive, dpo = make_user(db, tenant.id, "executive"), make_user(db, tenant.id, "dpo")
    box, other_box = make_inbox(db, tenant.id), make_inbox(db, tenant.id, name="Loja")
    team = Team(tenant_id=tenant.id, name="Vendas")
    db.add(team)
    db.flush()
    start = today_start()
    rows = [(box, ana, team, 5, "Ótimo atendimento"), (box, ana, team, 4, None), (other_box, bia, None, 1, "Demorou"),
            (box, ana, team, None, None)]
    ids = []
    for i, (inbox, who, in_team, rating, comment) in enumerate(rows):
        conversation = make_conversation(db, inbox.id, wa_id=f"5511977700{i:03d}")
        ids.append(_survey(db, conversation, who, in_team, rating, at=start + dt.timedelta(minutes=i), comment=comment))
    old = make_conversation(db, box.id, wa_id="5511977700999")
    _survey(db, old, bia, team, 3, at=_yesterday_noon())
    other = make_tenant(db)
    stranger = make_user(db, other.id, "admin")
    foreign = make_conversation(db, make_inbox(db, other.id).id, wa_id="5511977700888")
    _survey(db, foreign, stranger, None, 2, at=start, comment="FOREIGN comment")
    foreign_team = Team(tenant_id=other.id, name="Outra")
    db.add(foreign_team)
    db.commit()
    return dict(admin=admin, ana=ana, bia=bia, executive=executive, dpo=dpo, team=team, box=box,
                other_box=other_box, ids=ids, stranger=stranger, foreign_team=foreign_team)


async def test_metrics_average_distribution_and_response_rate_per_attendant_team_and_number(client, db, world):
    got = await client.get("/api/v1/metrics/csat?period=today", headers=_token(db, world["admin"], world["executive"]))
    assert got.status_code == 200, got.text
    body = got.json()
    totals = body["totals"]
    assert (totals["sent"], totals["answered"], totals["distribution"]) == (4, 3, [1, 0, 0, 1, 1])
    assert (totals["average"], totals["response_rate"]) == (3.33, 0.75)
    for name in ("sent", "answered"):
        assert totals[name] == sum(day[name] for day in body["days"]), name
    assert [sum(col) for col in zip(*(d["distribution"] for d in body["days"]), strict=True)] == totals["distribution"]
    previous = body["previous_totals"]  # yesterday: one survey, rated 3
    assert (previous["sent"], previous["average"], previous["response_rate"]) == (1, 3.0, 1.0)
    by_attendant = {r["id"]: r for r in body["by_attendant"]}
    ana, bia = by_attendant[world["ana"].user_id], by_attendant[world["bia"].user_id]
    assert (ana["sent"], ana["answered"], ana["average"], ana["distribution"]) == (3, 2, 4.5, [0, 0, 0, 1, 1])
    assert (bia["sent"], bia["average"], bia["response_rate"]) == (1, 1.0, 1.0)
    assert [(r["id"], r["sent"], r["average"]) for r in body["by_team"]] == [(world["team"].id, 3, 4.5)]
    numbers = {r["id"]: (r["sent"], r["average"]) for r in body["by_number"]}
    assert numbers == {world["box"].id: (3, 4.5), world["other_box"].id: (1, 1.0)}


async def test_an_attendant_reads_only_the_surveys_about_them(client, db, world):
    mine = _token(db, world["admin"], world["bia"])
    body = (await client.get("/api/v1/metrics/csat?period=today", headers=mine)).json()
    assert (body["totals"]["sent"], body["totals"]["average"]) == (1, 1.0)
    assert [r["id"] for r in body["by_attendant"]] == [world["bia"].user_id]
    rows = (await client.get(f"/api/v1/csat?period=today&attendant_id={world['ana'].user_id}",
                             headers=mine)).json()["data"]
    assert [r["rating"] for r in rows] == [1]  # still Bia's own


async def test_answers_need_csat_read_and_show_comments_only_with_messages_read(client, db, world):
    admin = world["admin"]
    assert (await client.get("/api/v1/csat", headers=_token(db, admin, admin, ("metrics:read",)))).status_code == 403
    got = await client.get("/api/v1/csat?period=today", headers=_token(db, admin, admin, ("csat:read",)))
    assert got.status_code == 200, got.text
    rows = got.json()["data"]
    assert [r["rating"] for r in rows] == [1, 4, 5]  # newest first; the unanswered one left out
    assert {r["comment"] for r in rows} == {None}
    full = _token(db, admin, admin, ("csat:read", "messages:read"))
    rows = (await client.get("/api/v1/csat?period=today", headers=full)).json()["data"]
    assert [r["comment"] for r in rows] == ["Demorou", None, "Ótimo atendimento"]
    assert rows[2]["attendant_id"] == world["ana"].user_id and rows[2]["team_id"] == world["team"].id
    assert "FOREIGN" not in str(rows)
    [read] = db.exec(select(AuditLog).where(AuditLog.action == "export.download")).all()  # only the page with them
    assert read.target_id.startswith("csat_answers:") and read.actor_user_id == admin.user_id


async def test_answers_page_by_cursor_filter_and_include_unanswered_on_request(client, db, world):
    headers = _token(db, world["admin"], world["admin"])
    first = (await client.get("/api/v1/csat?period=today&answered=all&limit=3", headers=headers)).json()
    assert [r["id"] for r in first["data"]] == world["ids"][::-1][:3] and first["next_cursor"]
    second = (await client.get(f"/api/v1/csat?period=today&answered=all&limit=3&cursor={first['next_cursor']}",
                               headers=headers)).json()
    assert [r["id"] for r in second["data"]] == [world["ids"][0]] and second["next_cursor"] is None
    assert first["data"][0]["status"] == "sent" and first["data"][0]["rating"] is None
    team = (await client.get(f"/api/v1/csat?period=today&team_id={world['team'].id}", headers=headers)).json()
    assert [r["rating"] for r in team["data"]] == [4, 5]
    week = (await client.get("/api/v1/csat?period=7d", headers=headers)).json()
    assert sorted(r["rating"] for r in week["data"]) == [1, 3, 4, 5]
    bad = await client.get("/api/v1/csat?cursor=nope", headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "cursor"


async def test_another_tenants_filter_is_not_found_and_a_dpo_may_not_read(client, db, world):
    headers = _token(db, world["admin"], world["admin"])
    got = await client.get(f"/api/v1/csat?team_id={world['foreign_team'].id}", headers=headers)
    assert got.status_code == 404
    dpo = _token(db, world["admin"], world["dpo"])
    assert (await client.get("/api/v1/csat", headers=dpo)).status_code == 403
    assert (await client.get("/api/v1/metrics/csat", headers=dpo)).status_code == 403


def test_the_routes_are_documented_in_openapi():
    from crm_app.api.v1 import create_v1

    spec = create_v1().openapi()
    assert spec["paths"]["/csat"]["get"]["summary"].startswith("CSAT answers")
    assert "/metrics/csat" in spec["paths"]
    params = {p["name"] for p in spec["paths"]["/csat"]["get"]["parameters"]}
    assert {"period", "since", "until", "team_id", "inbox_id", "attendant_id", "cursor", "limit"} <= params
