"""The webhook route: handshake, signature over raw bytes, store before ack, limits."""

import httpx
import pytest
from sqlalchemy import text

from crm_app.api.routes import create_api
from crm_app.queue import get_queue
from crm_app.services.channel import ingest
from crm_app.services.core import jobs
from tests.factories import make_inbox, make_tenant
from tests.support.whatsapp import APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, WABA_ID, encode, fixture, signed_headers


@pytest.fixture
def inbox(db):
    tenant = make_tenant(db)
    return make_inbox(db, tenant.id, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID, app_secret=APP_SECRET,
                      verify_token=VERIFY_TOKEN)


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


def _count(db, table="inbound_events"):
    return db.execute(text(f"SELECT count(*) FROM {table}")).scalar()


async def test_handshake_echoes_the_challenge_only_for_our_token(client, inbox):
    ok = await client.get("/api/whatsapp/webhook", params={
        "hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN})
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await client.get("/api/whatsapp/webhook", params={
        "hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "guess"})
    assert wrong.status_code == 403 and "1158201444" not in wrong.text
    assert (await client.get("/api/whatsapp/webhook")).status_code == 400


async def test_signed_event_is_stored_then_enqueued(client, inbox, db):
    raw = encode(fixture("message", "text"))
    response = await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw))
    assert response.status_code == 200 and response.json() == {"status": "ok", "duplicate": False}
    row = db.execute(text("SELECT id, status, body, tenant_id FROM inbound_events")).one()
    assert row.status == "pending" and row.body.encode() == raw
    _assert_one_drain_queued(row.id)


def _assert_one_drain_queued(first_event_id: int) -> None:
    """The first webhook of a burst queues one drain job for its slot and raises the slot's flag."""
    slot = first_event_id % ingest.drain_slots()
    ids = [j for j in get_queue("high").job_ids if j.startswith(f"inbound-drain-{slot}-{first_event_id}-")]
    assert len(ids) == 1  # the id also carries a time, so that a redelivery never reuses a queued job's hash
    job = get_queue("high").fetch_job(ids[0])
    assert job.func_name == jobs.spec("drain_inbound_events").func and job.args == [slot]
    assert job.get_status() == "queued"
    assert get_queue("high").connection.get(ingest.drain_flag(slot)) is not None


async def test_bad_or_missing_signature_gets_403_and_stores_nothing(client, inbox, db):
    raw = encode(fixture("message", "text"))
    for headers in (signed_headers(raw, "wrong-secret"), {"X-Hub-Signature-256": "sha256=00"}, {}):
        response = await client.post("/api/whatsapp/webhook", content=raw, headers=headers)
        assert response.status_code == 403
    tampered = raw.replace(b'"body": "', b'"body": "!', 1)
    assert tampered != raw
    response = await client.post("/api/whatsapp/webhook", content=tampered, headers=signed_headers(raw))
    assert response.status_code == 403
    assert _count(db) == 0


async def test_unknown_number_is_refused(client, inbox, db):
    body = fixture("message", "text")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999999"
    body["entry"][0]["id"] = "888888888888"
    raw = encode(body)
    assert (await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw))).status_code == 403
    assert _count(db) == 0


async def test_non_json_and_oversized_bodies(client, inbox, db):
    raw = b"not json{"
    response = await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw))
    assert response.status_code == 400
    big = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    response = await client.post("/api/whatsapp/webhook", content=big, headers=signed_headers(big))
    assert response.status_code == 413
    assert _count(db) == 0


async def test_the_same_body_twice_is_one_event(client, inbox, db):
    raw = encode(fixture("message", "text"))
    first = await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw))
    second = await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw))
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    assert _count(db) == 1


async def test_template_events_route_by_waba_id(client, inbox, db):
    body = fixture("template_status_update", "approved")
    body["entry"][0]["id"] = WABA_ID
    raw = encode(body)
    response = await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw))
    assert response.status_code == 200 and _count(db) == 1


async def test_postgresql_webhooks_are_stored_on_the_event_loop_and_enqueued_as_real_rq_jobs(inbox, db):
    first = encode(fixture("message", "text"))
    learned = await ingest.receive_webhook_async(first, signed_headers(first)["X-Hub-Signature-256"])
    assert learned.status == 200 and not learned.duplicate  # no cached route yet: one query finds it
    body = fixture("message", "text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.fast.path"
    raw = encode(body)
    outcome = await ingest.receive_webhook_async(raw, signed_headers(raw)["X-Hub-Signature-256"])
    assert outcome is not None and outcome.status == 200 and not outcome.duplicate
    row = db.execute(text("SELECT id, status, body, inbox_id FROM inbound_events WHERE id = :i"),
                     {"i": outcome.event_id}).one()
    assert row.status == "pending" and row.body.encode() == raw and row.inbox_id == inbox.id
    _assert_one_drain_queued(learned.event_id)
    _assert_one_drain_queued(outcome.event_id)  # the next id falls in the other slot: a second drainer
    again = await ingest.receive_webhook_async(raw, signed_headers(raw)["X-Hub-Signature-256"])
    assert again.duplicate and again.event_id == row.id and _count(db) == 2
    assert len(get_queue("high").job_ids) == 2  # both flags are up: the redelivery queued nothing more
    forged = await ingest.receive_webhook_async(raw, signed_headers(raw, "wrong-secret")["X-Hub-Signature-256"])
    assert forged.status == 403 and _count(db) == 2


async def test_a_rotated_app_secret_is_accepted_at_once(client, inbox, db):
    raw = encode(fixture("message", "text"))
    assert (await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw))).status_code == 200
    from crm_app.models import Inbox

    row = db.get(Inbox, inbox.id)
    row.app_secret = "rotated-secret"  # the route cache still holds the old secret
    db.add(row)
    db.commit()
    body = fixture("message", "text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.after.rotation"
    raw = encode(body)
    new = await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw, "rotated-secret"))
    assert new.status_code == 200 and _count(db) == 2
    ingest.forget_routes()  # the old secret is trusted until the cached route expires (30 s), then refused
    old = await client.post("/api/whatsapp/webhook", content=raw, headers=signed_headers(raw))
    assert old.status_code == 403


async def test_the_fast_path_survives_postgresql_dropping_its_connections(client, inbox, db):
    from crm_app.db import ASYNC_APPLICATION_NAME, async_pool

    def webhook(wamid: str) -> tuple[bytes, str]:
        body = fixture("message", "text")
        body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = wamid
        raw = encode(body)
        return raw, signed_headers(raw)["X-Hub-Signature-256"]

    raw, signature = webhook("wamid.a")
    await client.post("/api/whatsapp/webhook", content=raw, headers={"X-Hub-Signature-256": signature})
    assert (await ingest.receive_webhook_async(*webhook("wamid.b"))).status == 200
    assert len(async_pool()._idle) == 1  # the connection the next call will find dead
    killed = db.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND application_name = :name"),
                        {"name": ASYNC_APPLICATION_NAME}).scalar()
    db.commit()
    assert killed == 1
    outcome = await ingest.receive_webhook_async(*webhook("wamid.c"))
    assert outcome is not None and outcome.status == 200 and not outcome.duplicate
    assert _count(db) == 3
