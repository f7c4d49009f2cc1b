"""A customer message racing a close (an attendant's, or the bot's for inactivity), forced in both orders.

A third connection holds the conversation's row lock while the two sides line up behind it, in a chosen
order (PostgreSQL serves row-lock waiters first come, first served); releasing it lets them run in that
order. Real threads, real connections, no sleeps: we poll `pg_stat_activity` for the waiters, with a deadline.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_app.db import get_engine, session_scope, utcnow
from crm_app.models import Conversation, ConversationEvent, Message
from crm_app.services import bot, inbox
from crm_app.services.channel import ingest
from tests.factories import make_user
from tests.services.bot.test_bot import hotel
from tests.support.inbox import customer_writes, fresh_tenant, no_leftover_jobs  # noqa: F401  (autouse)
from tests.support.waiting import wait_for
from tests.support.whatsapp import encode, fixture, signed_headers

WA = "5511981234567"
DEADLINE = 20.0


@pytest.fixture
def world(db):
    tenant, box = fresh_tenant(db)
    bot.seed_flow(db, tenant_id=tenant.id, inbox_id=box.id, definition=hotel())
    db.commit()
    customer_writes(body="Oi", wa_id=WA)
    with session_scope() as s:
        cid = s.exec(select(Conversation.id)).one()
    yield {"tenant": tenant, "supervisor": make_user(db, tenant.id, "supervisor"), "cid": cid}
    bot.forget_scheduled_turns()


class Side(threading.Thread):
    """One side of the race in its own thread and connection; its error, if any, is re-raised by `result`."""

    def __init__(self, fn) -> None:
        super().__init__(daemon=True)
        self.fn, self.error = fn, None

    def run(self) -> None:
        try:
            self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc

    def result(self) -> None:
        self.join(DEADLINE)
        assert not self.is_alive(), "a side of the race never finished"
        if self.error is not None:
            raise self.error


def lock_waiters() -> int:
    with get_engine().connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock'")).scalar()


def race(conversation_id: int, first, second) -> None:
    """Hold the row, queue `first` then `second` behind it, release, and wait for both."""
    holder = get_engine().connect()
    holder.begin()
    holder.execute(text("SELECT id FROM conversations WHERE id = :id FOR UPDATE"), {"id": conversation_id})
    sides = [Side(first), Side(second)]
    try:
        for waiting, side in enumerate(sides, start=1):
            side.start()
            wait_for(lambda waiting=waiting: lock_waiters() >= waiting, DEADLINE)
    finally:
        holder.commit()
        holder.close()
    for side in sides:
        side.result()


def stored_message() -> tuple[str, Callable[[], str]]:
    """A customer message stored as the webhook leaves it; its wamid, and how to process it."""
    body = fixture("message", "text")
    wamid = f"wamid.{uuid.uuid4().hex}"
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = WA
    value["messages"] = [{"from": WA, "id": wamid, "timestamp": str(int(utcnow().timestamp())), "type": "text",
                          "text": {"body": "Ainda estou aqui!"}}]
    raw = encode(body)
    event_id = ingest.store_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"]).event_id
    return wamid, lambda: ingest.process_inbound_event(event_id)


def human_close(world):
    def close() -> None:
        with session_scope() as s:
            inbox.close(s, actor=world["supervisor"], conversation_id=world["cid"])
    return close


def inactivity_close(world):
    bot.run_turn(world["cid"])  # the bot greets and waits for an answer: its session expires later
    return lambda: bot.expire_bot_sessions(utcnow() + dt.timedelta(minutes=6))


def where(wamid: str) -> tuple[Message, Conversation, list[ConversationEvent]]:
    with session_scope() as s:
        message = s.exec(select(Message).where(Message.wa_message_id == wamid)).one()
        conversation = s.get(Conversation, message.conversation_id)
        events = s.exec(select(ConversationEvent).where(ConversationEvent.conversation_id == conversation.id,
                                                        ConversationEvent.kind == "status")
                        .order_by(ConversationEvent.id)).all()
        for row in (message, conversation, *events):
            s.expunge(row)
    return message, conversation, events


@pytest.mark.parametrize("close", [human_close, inactivity_close], ids=["human", "inactivity"])
def test_a_message_behind_a_close_reopens_the_conversation(world, close):
    closing = close(world)
    wamid, process = stored_message()
    race(world["cid"], closing, process)
    message, conversation, events = where(wamid)
    assert conversation.status == "open", "the message landed in a closed conversation"
    assert [(e.from_value, e.to_value) for e in events][-2:] == [("open", "closed"), ("closed", "open")]
    assert events[-1].data == {"reason": "customer_message"} and message.conversation_id == world["cid"]


def test_a_message_ahead_of_an_attendants_close_lands_before_it(world):
    wamid, process = stored_message()
    race(world["cid"], process, human_close(world))
    message, conversation, events = where(wamid)
    assert conversation.status == "closed" and events[-1].to_value == "closed"
    with session_scope() as s:  # the close's own line comes after the message: the attendant closed over it
        close_line = s.exec(select(Message.id).where(Message.conversation_id == conversation.id,
                                                     Message.kind == "system").order_by(Message.id.desc())).first()
    assert message.id < close_line


def test_a_message_ahead_of_the_inactivity_close_keeps_the_conversation_open(world):
    closing = inactivity_close(world)
    wamid, process = stored_message()
    race(world["cid"], process, closing)
    _, conversation, events = where(wamid)
    assert conversation.status == "open" and all(e.to_value != "closed" for e in events)
