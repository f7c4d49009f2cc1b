"""Reads of personal data are recorded once per user, object and hour; opening a conversation stays as fast."""

from __future__ import annotations

import datetime as dt
import logging
import statistics
import time

from sqlmodel import select

from crm_app.db import session_scope as transaction
from crm_app.models import AuditLog
from crm_app.services import call, conversations, inbox
from crm_app.services.audit import reads
from crm_app.services.inbox.listing import get_conversation
from crm_app.services.inbox.views import list_messages
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import add_text, quick_conversation

log = logging.getLogger(__name__)
T0 = dt.datetime(2026, 12, 5, 10, 15, tzinfo=dt.UTC)


def _reads(db, action: str) -> list[AuditLog]:
    db.expire_all()
    return db.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


def _setup(db, redis_client):
    redis_client.delete(*redis_client.keys("crm:audit:read:*") or ["none"])
    reads.forget_seen()
    tenant = make_tenant(db)
    admin, attendant = make_user(db, tenant.id), make_user(db, tenant.id, "supervisor")
    conversation = quick_conversation(db, make_inbox(db, tenant.id).id, phone="+5511981234567", name="Maria Souza")
    for n in range(30):
        add_text(db, conversation, f"mensagem {n}")
    db.commit()
    return admin, attendant, conversation


def test_opening_a_conversation_is_recorded_once_per_user_and_hour(db, redis_client):
    admin, other, conversation = _setup(db, redis_client)
    for _ in range(3):
        call(inbox.open_conversation, actor=admin, conversation_id=conversation.id)
    call(inbox.open_conversation, actor=other, conversation_id=conversation.id)
    rows = _reads(db, "conversation.view")
    assert [(r.actor_user_id, r.target_id) for r in rows] == [(admin.user_id, str(conversation.id)),
                                                             (other.user_id, str(conversation.id))]
    for when, expected in ((T0, True), (T0 + dt.timedelta(minutes=40), False), (T0 + dt.timedelta(hours=1), True)):
        with transaction() as session:
            assert reads.record_read(session, actor=admin, action="conversation.view", target_type="conversation",
                                     target_id=conversation.id, now=when) is expected
    assert len(_reads(db, "conversation.view")) == 4


def test_opening_a_contact_and_searching_by_phone_are_recorded_but_a_name_search_is_not(db, redis_client):
    admin, _, conversation = _setup(db, redis_client)
    call(conversations.get_contact, actor=admin, contact_id=conversation.contact_id)
    call(conversations.get_contact, actor=admin, contact_id=conversation.contact_id)
    assert len(_reads(db, "contact.view")) == 1
    call(inbox.list_conversations, actor=admin, tab="all", query="Maria")
    assert _reads(db, "contact.search") == []
    call(inbox.list_conversations, actor=admin, tab="all", query="+55 11 98123-4567")
    call(conversations.list_contacts, actor=admin, query="5511981234567")
    [search] = _reads(db, "contact.search")  # the same number twice in the hour
    assert search.after == {"phone": "5511981234567"} and "98123" not in (search.target_id or "")


def test_a_phone_search_is_keyed_by_a_tenant_keyed_hmac_that_no_plain_digest_reproduces(db, redis_client):
    import hashlib

    admin, _, _ = _setup(db, redis_client)
    call(inbox.list_conversations, actor=admin, tab="all", query="+55 11 98123-4567")
    [search] = _reads(db, "contact.search")
    phone = "5511981234567"
    plain = {hashlib.sha256(v.encode()).hexdigest() for v in (phone, f"{admin.tenant_id}:{phone}", f"+{phone}")}
    assert not any(p.startswith(search.target_id) for p in plain)  # not brute-forceable from the chain alone
    assert search.target_id == reads.phone_search_key(admin.tenant_id, phone)
    assert reads.phone_search_key(admin.tenant_id + 1, phone) != search.target_id  # a key per tenant


def _median_ms(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def test_opening_a_conversation_is_not_slower(db, redis_client):
    """Before: the two reads open_conversation made. Now: the same plus the read record (a Redis SET NX, and one
    insert in the first open of the hour). Interleaved rounds, medians compared."""
    admin, _, conversation = _setup(db, redis_client)

    def before():
        with transaction() as session:
            get_conversation(session, actor=admin, conversation_id=conversation.id)
            list_messages(session, actor=admin, conversation_id=conversation.id, limit=50)

    def now():
        call(inbox.open_conversation, actor=admin, conversation_id=conversation.id)

    before(), now()  # warm both paths
    old, new = [], []
    for _ in range(5):
        old.append(_median_ms(before, 20))
        new.append(_median_ms(now, 20))
    old_ms, new_ms = statistics.median(old), statistics.median(new)
    message = f"open_conversation median: before {old_ms:.2f} ms, with read recording {new_ms:.2f} ms"
    log.warning(message)
    print(message)
    assert new_ms <= old_ms * 1.25 + 1.0, message
