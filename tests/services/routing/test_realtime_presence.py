"""Real-time publishing (seq, after commit, the inbound path) and presence with its TTLs."""

import time

import pytest
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.models import Contact, Conversation, Message
from crm_app.queue import get_redis
from crm_app.services import inbox
from crm_app.services.core import realtime
from crm_app.services.routing import presence
from tests.factories import make_user
from tests.support.inbox import (
    Listener,
    customer_writes,
    fresh_tenant,
    no_leftover_jobs,  # noqa: F401  (an autouse fixture)
)
from tests.support.whatsapp import fixture, messages_of


@pytest.fixture
def tenant(db):
    tenant, _ = fresh_tenant(db)
    return tenant


def test_durable_events_count_up_and_ephemeral_ones_have_no_seq(db, tenant):
    listener = Listener(tenant.id)
    start = realtime.current_seq(tenant.id)
    first = realtime.publish(tenant.id, "conversation.updated", conversation_id=7, data={"action": "x"})
    realtime.publish(tenant.id, "typing", conversation_id=7, data={"user_id": 1})
    second = realtime.publish(tenant.id, "message.new", conversation_id=7, data={"message_id": 9})
    assert (first, second) == (start + 1, start + 2) and realtime.current_seq(tenant.id) == start + 2
    assert listener.events() == [
        {"seq": start + 1, "kind": "conversation.updated", "conversation_id": 7, "data": {"action": "x"}},
        {"seq": None, "kind": "typing", "conversation_id": 7, "data": {"user_id": 1}},
        {"seq": start + 2, "kind": "message.new", "conversation_id": 7, "data": {"message_id": 9}},
    ]
    listener.close()


def test_publish_after_commit_waits_for_the_commit_and_drops_on_rollback(db, tenant):
    listener = Listener(tenant.id)
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            realtime.publish_after_commit(session, tenant.id, "conversation.updated", conversation_id=1)
            raise RuntimeError("rolled back")
    assert listener.events(timeout=0.5) == []
    with session_scope() as session:
        realtime.publish_after_commit(session, tenant.id, "conversation.updated", conversation_id=2)
        realtime.publish_after_commit(session, tenant.id, "message.new", conversation_id=2)
        assert listener.events(timeout=0.3) == []  # nothing before the commit
    assert [e["kind"] for e in listener.events()] == ["conversation.updated", "message.new"]
    listener.close()


def test_a_savepoint_neither_runs_nor_drops_the_callbacks_of_its_transaction(db, tenant):
    """SQLAlchemy fires after_commit/after_rollback for a SAVEPOINT too; only the real commit may publish."""
    listener = Listener(tenant.id)
    with session_scope() as session:
        realtime.publish_after_commit(session, tenant.id, "conversation.updated", conversation_id=3)
        with session.begin_nested():
            realtime.publish_after_commit(session, tenant.id, "message.new", conversation_id=3)
        with pytest.raises(RuntimeError), session.begin_nested():
            raise RuntimeError("savepoint rolled back")
        assert listener.events(timeout=0.3) == []  # released and rolled-back savepoints published nothing
    assert [e["kind"] for e in listener.events()] == ["conversation.updated", "message.new"]
    listener.close()


def test_a_publish_never_raises_when_redis_is_down(monkeypatch, tenant):
    from redis import Redis

    broken = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(realtime, "get_redis", lambda: broken)
    assert realtime.publish(tenant.id, "message.new", conversation_id=1) is None
    assert realtime.current_seq(tenant.id) == 0


def test_the_real_inbound_path_fills_search_preview_unread_and_publishes(db, tenant):
    listener = Listener(tenant.id)
    customer_writes(body="Olá, quero uma SUÍTE para o Réveillon", name="Ângela Mendes")
    published = listener.events()
    conversation = db.exec(select(Conversation)).one()
    message = db.exec(select(Message)).one()
    assert [(e["kind"], e["conversation_id"]) for e in published] == [("conversation.new", conversation.id),
                                                                       ("message.new", conversation.id)]
    assert published[1]["data"] == {"message_id": message.id} and published[1]["seq"] == published[0]["seq"] + 1
    assert message.search_text == "ola, quero uma suite para o reveillon"
    assert db.exec(select(Contact.search_text)).one() == "angela mendes 5511981234567"
    assert (conversation.last_message_preview, conversation.unread_count) == (
        "Olá, quero uma SUÍTE para o Réveillon", 1)
    assert conversation.last_customer_message_at == message.created_at
    image = messages_of(fixture("message", "image"))[0]["image"]
    customer_writes({"type": "image", "image": image})
    customer_writes({"type": "reaction", "reaction": {"message_id": message.wa_message_id, "emoji": "🙏"}})
    db.expire_all()
    conversation = db.get(Conversation, conversation.id)
    assert (conversation.last_message_preview, conversation.unread_count) == ("📷", 2)
    assert [e["kind"] for e in listener.events()] == ["message.new", "message.new"]
    admin = make_user(db, tenant.id, "admin")
    assert [r.id for r in inbox.list_conversations(db, actor=admin, tab="bot", query="reveillon").rows] == [
        conversation.id]
    listener.close()


def test_an_older_message_arriving_late_leaves_the_preview(db, tenant):
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    customer_writes(body="Mais nova", sent_at=now)
    customer_writes(body="Mais velha", sent_at=now - dt.timedelta(minutes=5))
    assert db.exec(select(Conversation.last_message_preview)).one() == "Mais nova"


def test_status_webhooks_publish_message_status(db, tenant):
    from crm_app.services.channel import ingest
    from tests.support.whatsapp import encode, signed_headers, statuses_of

    customer_writes(body="Oi")
    conversation = db.exec(select(Conversation)).one()
    outbound = Message(tenant_id=tenant.id, conversation_id=conversation.id, direction="outbound",
                       sender_type="bot", kind="text", body="Olá", status="sent", wa_message_id="wamid.out-rt")
    db.add(outbound)
    db.commit()
    listener = Listener(tenant.id)
    for status in ("delivered", "delivered", "read"):
        body = fixture("message_status", status)
        statuses_of(body)[0]["id"] = "wamid.out-rt"
        raw = encode(body)
        outcome = ingest.store_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"])
        ingest.process_inbound_event(outcome.event_id)
    published = listener.events()
    assert [(e["kind"], e["data"]) for e in published] == [
        ("message.status", {"message_id": outbound.id, "status": "delivered"}),
        ("message.status", {"message_id": outbound.id, "status": "read"})]
    listener.close()


def test_presence_statuses_and_expiry(db, tenant, monkeypatch):
    tenant_id = tenant.id
    ana, bia = make_user(db, tenant_id, "attendant"), make_user(db, tenant_id, "supervisor")
    listener = Listener(tenant_id)
    presence.heartbeat(tenant_id, ana.user_id)
    presence.heartbeat(tenant_id, ana.user_id)  # no change, no event
    presence.heartbeat(tenant_id, bia.user_id, "away")
    assert presence.statuses(tenant_id) == {ana.user_id: "online", bia.user_id: "away"}
    assert [(u["id"], u["status"]) for u in presence.online_users(db, actor=ana)] == [
        (ana.user_id, "online"), (bia.user_id, "away")]
    published = listener.events()
    assert [(e["kind"], e["seq"], e["data"]["user_id"]) for e in published] == [
        ("presence", None, ana.user_id), ("presence", None, bia.user_id)]
    presence.set_offline(tenant_id, bia.user_id)
    assert presence.statuses(tenant_id) == {ana.user_id: "online"}
    real_time = time.time
    monkeypatch.setattr(presence.time, "time", lambda: real_time() + presence.PRESENCE_TTL + 1)
    assert presence.statuses(tenant_id) == {}
    assert presence.online_users(db, actor=ana) == []
    listener.close()


def test_viewers_expire_and_typing_is_throttled(db, tenant, monkeypatch):
    tenant_id = tenant.id
    listener = Listener(tenant_id)
    presence.set_viewing(tenant_id, 5, 1, "Carlos")
    presence.set_viewing(tenant_id, 5, 2, "Ana")
    presence.set_viewing(tenant_id, 5, 1, "Carlos")  # a refresh is no news
    assert presence.viewers(tenant_id, 5) == [{"user_id": 2, "name": "Ana"}, {"user_id": 1, "name": "Carlos"}]
    assert presence.viewers(tenant_id, 6) == []
    assert presence.set_typing(tenant_id, 5, 1, "Carlos") is True
    assert presence.set_typing(tenant_id, 5, 1, "Carlos") is False
    kinds = [(e["kind"], e["seq"]) for e in listener.events()]
    assert kinds == [("viewers", None), ("viewers", None), ("typing", None)]
    assert 0 < get_redis().ttl(f"crm:viewers:{tenant_id}:5") <= presence.VIEWING_TTL
    presence.stop_viewing(tenant_id, 5, 2)
    assert presence.viewers(tenant_id, 5) == [{"user_id": 1, "name": "Carlos"}]
    real_time = time.time
    monkeypatch.setattr(presence.time, "time", lambda: real_time() + presence.VIEWING_TTL + 1)
    assert presence.viewers(tenant_id, 5) == []
    listener.close()
