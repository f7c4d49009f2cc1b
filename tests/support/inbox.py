"""Helpers for the inbox service tests: customers writing through the real webhook path, quick rows, events."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import Session

from crm_app.domain.search import contact_search_text, fold
from crm_app.models import Contact, ContactInbox, Conversation, Message
from crm_app.queue import get_redis
from crm_app.services.channel import ingest
from crm_app.services.core import realtime
from tests.factories import make_inbox, make_tenant
from tests.support.whatsapp import APP_SECRET, PHONE_NUMBER_ID, WABA_ID, encode, fixture, messages_of, signed_headers


def fresh_tenant(db: Session, *, webhook_inbox: bool = True):
    """A tenant whose id no parallel test run uses: pub/sub channels are shared by every Redis db."""
    db.execute(text(f"ALTER SEQUENCE tenants_id_seq RESTART WITH {random.randint(10**6, 10**9)}"))
    db.commit()
    tenant = make_tenant(db)
    overrides = dict(phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID, app_secret=APP_SECRET) if webhook_inbox else {}
    return tenant, make_inbox(db, tenant.id, **overrides)


def customer_writes(message: dict | None = None, *, body: str = "Olá", wa_id: str = "5511981234567",
                    name: str | None = "João Silva", sent_at: dt.datetime | None = None) -> str:
    """Push one customer message through the webhook and process it in this process. Returns its wamid.

    `store_webhook` stores without queueing a drainer, so no worker job or drain flag outlives the test.
    """
    payload = fixture("message", "text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update({"wa_id": wa_id, "profile": {"name": name}} if name else {"wa_id": wa_id})
    if not name:
        value["contacts"][0].pop("profile", None)
    wamid = f"wamid.{uuid.uuid4().hex}"
    raw = dict(message or {"type": "text", "text": {"body": body}})
    raw.update({"from": wa_id, "id": wamid,
                "timestamp": str(int((sent_at or dt.datetime.now(dt.UTC)).timestamp()))})
    value["messages"] = [raw]
    assert messages_of(payload)[0]["id"] == wamid
    raw_body = encode(payload)
    outcome = ingest.store_webhook(raw_body, signed_headers(raw_body)["X-Hub-Signature-256"])
    assert outcome.status == 200, outcome.message
    assert ingest.process_inbound_event(outcome.event_id).startswith(("1 new", "0 new"))
    return wamid


def quick_conversation(db: Session, inbox_id: int, *, phone: str, name: str | None = None,
                       last_message_at: dt.datetime | None = None, **fields) -> Conversation:
    """A contact and an open conversation written directly (for list tests that need many rows)."""
    inbox_tenant = db.execute(text("SELECT tenant_id FROM inboxes WHERE id = :id"), {"id": inbox_id}).scalar()
    contact = Contact(tenant_id=inbox_tenant, phone_e164=phone, name=name,
                      search_text=contact_search_text(name, phone, None))
    db.add(contact)
    db.flush()
    link = ContactInbox(tenant_id=inbox_tenant, contact_id=contact.id, inbox_id=inbox_id, wa_id=phone.lstrip("+"))
    db.add(link)
    db.flush()
    values = {"bot_active": False, **fields}
    conversation = Conversation(tenant_id=inbox_tenant, inbox_id=inbox_id, contact_id=contact.id,
                                contact_inbox_id=link.id, last_message_at=last_message_at, **values)
    db.add(conversation)
    db.flush()
    return conversation


def add_text(db: Session, conversation: Conversation, body: str, **fields) -> Message:
    values = {"direction": "inbound", "sender_type": "customer", "kind": "text", "status": "received", **fields}
    message = Message(tenant_id=conversation.tenant_id, conversation_id=conversation.id, body=body,
                      search_text=fold(body) or None, **values)
    db.add(message)
    db.flush()
    return message


class Listener:
    """A subscriber to one tenant's real-time channel."""

    def __init__(self, tenant_id: int) -> None:
        self.pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(realtime.channel(tenant_id))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.pubsub.subscribed:
            self.pubsub.get_message(timeout=0.05)

    def events(self, timeout: float = 2.0, settle: float = 0.3) -> list[dict]:
        """Every event received until `settle` seconds pass without one (or `timeout`)."""
        received: list[dict] = []
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=0.05)
            if message is None:
                if time.monotonic() - quiet_since > settle:
                    break
                continue
            received.append(json.loads(message["data"]))
            quiet_since = time.monotonic()
        return received

    def close(self) -> None:
        self.pubsub.close()


@pytest.fixture(autouse=True)
def no_leftover_jobs():
    """Empty the RQ queues after the test: jobs it enqueued (media downloads) would outlive its rows."""
    yield
    from crm_app.queue import ALL_QUEUES, get_queue

    for name in ALL_QUEUES:
        get_queue(name).empty()
