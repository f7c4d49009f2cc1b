"""A customer's edits and deletions, in both of Meta's wire forms: applied once, kept for audit, shown live."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.models import Conversation, Message
from crm_app.services import settings
from crm_app.services.channel import ingest
from crm_app.services.inbox import views
from tests.factories import make_user
from tests.support.inbox import (
    Listener,
    customer_writes,
    fresh_tenant,
    no_leftover_jobs,  # noqa: F401  (an autouse fixture)
)
from tests.support.whatsapp import PHONE_NUMBER_ID, encode, fixture, messages_of, run_burst_worker, signed_headers

WA = "5511981234567"
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(db):
    tenant, box = fresh_tenant(db)
    return {"tenant": tenant, "inbox": box, "admin": make_user(db, tenant.id, "admin")}


def edit_of(original: str | None, body: str) -> dict:
    """An `edit` message naming its original, or Meta's `unsupported` edit that names none."""
    if original is None:
        return {"type": "unsupported", "unsupported": {"type": "edit"},
                "errors": [{"code": 131051, "title": "Message type unknown"}]}
    return {"type": "edit", "edit": {"original_message_id": original,
                                     "message": {"type": "text", "text": {"body": body}}}}


def revoke_of(original: str) -> dict:
    return {"type": "revoke", "revoke": {"original_message_id": original}}


def deliver(*raws: dict, wa_id: str = WA) -> str:
    """One webhook carrying these messages (each with its own id and time), processed now; its summary."""
    body = fixture("message", "text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    value["messages"] = [{"from": wa_id, **raw} for raw in raws]
    raw_body = encode(body)
    outcome = ingest.store_webhook(raw_body, signed_headers(raw_body)["X-Hub-Signature-256"])
    assert outcome.status == 200
    return ingest.process_inbound_event(outcome.event_id)


def stamped(raw: dict, wamid: str, at: dt.datetime) -> dict:
    return {**raw, "id": wamid, "timestamp": str(int(at.timestamp()))}


def message(wamid: str) -> Message:
    with session_scope() as s:
        row = s.exec(select(Message).where(Message.wa_message_id == wamid)).one()
        s.expunge(row)
        return row


def view_of(world, wamid: str) -> views.MessageView:
    with session_scope() as s:
        row = s.exec(select(Message).where(Message.wa_message_id == wamid)).one()
        shown = views.list_messages(s, actor=world["admin"], conversation_id=row.conversation_id)
        return next(v for v in shown if v.id == row.id)


def preview(conversation_id: int) -> str:
    with session_scope() as s:
        return s.get(Conversation, conversation_id).last_message_preview


def test_an_edit_naming_its_original_replaces_the_text_keeps_the_earlier_one_and_is_published(world):
    original = customer_writes(body="Quero 2 pizzas", wa_id=WA, sent_at=T0)
    listener = Listener(world["tenant"].id)
    try:
        assert deliver(stamped(edit_of(original, "Quero 3 pizzas"), "wamid.e1", T0 + dt.timedelta(minutes=1))) \
            .startswith("1 new")
        events = listener.events()
    finally:
        listener.close()
    row = message(original)
    assert (row.body, row.search_text) == ("Quero 3 pizzas", "quero 3 pizzas")
    assert row.edited_at == T0 + dt.timedelta(minutes=1)
    assert [v["body"] for v in row.edit_history] == ["Quero 2 pizzas", "Quero 3 pizzas"]
    assert [(e["kind"], e["data"]) for e in events] == [("message.updated", {"message_id": row.id, "change": "edit"})]
    assert preview(row.conversation_id) == "Quero 3 pizzas"
    shown = view_of(world, original)
    assert (shown.body, shown.edited, shown.earlier_texts, shown.deleted) == ("Quero 3 pizzas", True,
                                                                              ["Quero 2 pizzas"], False)
    with session_scope() as s:  # the edit is no message of its own
        assert s.exec(select(Message.id).where(Message.wa_message_id == "wamid.e1")).first() is None


def test_the_same_edit_delivered_again_changes_nothing(world):
    original = customer_writes(body="Oi", wa_id=WA, sent_at=T0)
    edit = stamped(edit_of(original, "Olá"), "wamid.e1", T0 + dt.timedelta(seconds=30))
    deliver(edit)
    before = message(original)
    listener = Listener(world["tenant"].id)
    try:
        # Meta redelivers it alone (the same body: one stored event) and batched with a new message.
        assert deliver(edit) == "skipped"
        assert deliver(edit, stamped({"type": "text", "text": {"body": "Tudo bem?"}}, "wamid.n1", T0 + dt.timedelta(
            minutes=1))).startswith("1 new")
        kinds = [e["kind"] for e in listener.events()]
    finally:
        listener.close()
    after = message(original)
    assert (after.body, after.edit_history, after.edited_at) == (before.body, before.edit_history, before.edited_at)
    assert "message.updated" not in kinds


def test_edits_arriving_out_of_order_keep_every_text_in_the_order_they_were_sent(world):
    original = customer_writes(body="v1", wa_id=WA, sent_at=T0)
    deliver(stamped(edit_of(original, "v3"), "wamid.e3", T0 + dt.timedelta(minutes=3)))
    deliver(stamped(edit_of(original, "v2"), "wamid.e2", T0 + dt.timedelta(minutes=2)))
    row = message(original)
    assert row.body == "v3" and row.edited_at == T0 + dt.timedelta(minutes=3)
    assert [v["body"] for v in row.edit_history] == ["v1", "v2", "v3"]
    assert view_of(world, original).earlier_texts == ["v1", "v2"]


def test_an_edit_without_its_original_id_adds_a_system_line_once(world):
    customer_writes(body="Oi", wa_id=WA, sent_at=T0)
    edit = stamped(edit_of(None, ""), "wamid.unnamed", T0 + dt.timedelta(minutes=1))
    assert deliver(edit).startswith("1 new")
    assert deliver(edit, stamped({"type": "text", "text": {"body": "?"}}, "wamid.n1", T0 + dt.timedelta(
        minutes=2))).startswith("1 new")  # the redelivered edit adds nothing; the new text is the one
    line = message("wamid.unnamed")
    assert (line.kind, line.sender_type, line.payload["unsupported"]) == ("system", "system", {"type": "edit"})
    assert line.body == "O cliente editou uma mensagem (o WhatsApp não informa qual)"
    with session_scope() as s:
        assert s.get(Conversation, line.conversation_id).unread_count == 2  # a system line is no customer message
        english = dataclasses.replace(world["admin"], locale="en")
        shown = [v.body for v in views.list_messages(s, actor=english, conversation_id=line.conversation_id)]
    assert shown == ["Oi", "The customer edited a message (WhatsApp does not say which)", "?"]


def test_an_edit_or_deletion_of_a_message_we_never_saw_becomes_a_system_line(world):
    assert deliver(stamped(edit_of("wamid.never-seen", "<b>novo</b> texto"), "wamid.e1", T0)).startswith("1 new")
    assert deliver(stamped(revoke_of("wamid.never-seen-2"), "wamid.r1", T0 + dt.timedelta(seconds=5))) \
        .startswith("1 new")
    edited, deleted = message("wamid.e1"), message("wamid.r1")
    assert edited.conversation_id == deleted.conversation_id  # a new customer gets one conversation
    assert edited.body == "O cliente editou uma mensagem que não está neste histórico: <b>novo</b> texto"
    assert deleted.body == "O cliente apagou uma mensagem que não está neste histórico"
    assert deliver(stamped(revoke_of("wamid.never-seen-2"), "wamid.r1", T0 + dt.timedelta(seconds=5)),
                   stamped({"type": "text", "text": {"body": "oi"}}, "wamid.n1", T0)).startswith("1 new")
    with session_scope() as s:
        assert len(s.exec(select(Message.id).where(Message.conversation_id == edited.conversation_id)).all()) == 3


def test_a_customer_cannot_edit_or_delete_another_customers_message(world):
    original = customer_writes(body="Meu pedido", wa_id=WA, sent_at=T0)
    other = "5511987654321"
    deliver(stamped(edit_of(original, "alterado"), "wamid.e1", T0 + dt.timedelta(minutes=1)), wa_id=other)
    deliver(stamped(revoke_of(original), "wamid.r1", T0 + dt.timedelta(minutes=2)), wa_id=other)
    row = message(original)
    assert (row.body, row.edited_at, row.deleted_at) == ("Meu pedido", None, None)
    assert message("wamid.e1").conversation_id != row.conversation_id  # lines in the other customer's chat


def test_a_deletion_marks_the_message_and_keeps_its_text_for_audit_by_default(world):
    original = customer_writes(body="Meu CPF é 123", wa_id=WA, sent_at=T0)
    deliver(stamped(edit_of(original, "Meu CPF é 1234"), "wamid.e1", T0 + dt.timedelta(minutes=1)))
    listener = Listener(world["tenant"].id)
    try:
        deliver(stamped(revoke_of(original), "wamid.r1", T0 + dt.timedelta(minutes=2)))
        events = listener.events()
    finally:
        listener.close()
    row = message(original)
    assert row.deleted_at == T0 + dt.timedelta(minutes=2) and row.body == "Meu CPF é 1234"
    assert [v["body"] for v in row.edit_history] == ["Meu CPF é 123", "Meu CPF é 1234"]
    assert [(e["kind"], e["data"]["change"]) for e in events] == [("message.updated", "revoke")]
    assert preview(row.conversation_id) == "🚫"
    shown = view_of(world, original)
    assert (shown.deleted, shown.body) == (True, "Meu CPF é 1234")
    # Deleted stays deleted: a second deletion and a late edit change nothing.
    deliver(stamped(revoke_of(original), "wamid.r2", T0 + dt.timedelta(minutes=3)),
            stamped(edit_of(original, "de novo"), "wamid.e2", T0 + dt.timedelta(minutes=3)))
    again = message(original)
    assert (again.deleted_at, again.body, again.edit_history) == (row.deleted_at, row.body, row.edit_history)


def test_a_tenant_that_keeps_no_deleted_texts_gets_them_blanked_but_keeps_the_row(world, db):
    settings.update(db, actor=None, tenant_id=world["tenant"].id, changes={"channel.keep_deleted_message_text": False})
    db.commit()
    original = customer_writes(body="Meu CPF é 123", wa_id=WA, sent_at=T0)
    deliver(stamped(edit_of(original, "Meu CPF é 1234"), "wamid.e1", T0 + dt.timedelta(minutes=1)))
    deliver(stamped(revoke_of(original), "wamid.r1", T0 + dt.timedelta(minutes=2)))
    row = message(original)
    assert row.deleted_at is not None and row.body is None and row.search_text is None
    assert set(row.payload) == {"id", "from", "timestamp", "type"} and "CPF" not in str(row.payload)
    assert [v["body"] for v in row.edit_history] == [None, None]
    assert view_of(world, original).body is None


def test_unknown_types_stay_stored_raw(world):
    hologram = stamped({"type": "hologram", "hologram": {"shape": "cube"}}, "wamid.h1", T0)
    poll = stamped({"type": "unsupported", "unsupported": {"type": "poll_creation"}}, "wamid.p1", T0)
    assert deliver(hologram, poll).startswith("2 new")
    for wamid, raw in (("wamid.h1", hologram), ("wamid.p1", poll)):
        row = message(wamid)
        assert (row.kind, row.sender_type, row.body) == ("unsupported", "customer", None)
        assert row.payload == {"from": WA, **raw}


def test_both_wire_forms_from_the_fixtures_through_a_real_worker(world):
    original = customer_writes(body="Foto da nota", wa_id="972987654321", sent_at=T0)
    bodies = []
    for name, case in (("edited_message", "text"), ("edited_message", "unsupported_edit"),
                       ("deleted_message", "revoke")):
        body = fixture(name, case)
        for change in body["entry"][0]["changes"]:
            change["value"]["metadata"]["phone_number_id"] = PHONE_NUMBER_ID
            change["value"]["contacts"][0]["wa_id"] = "972987654321"
        raw = messages_of(body)[0]
        raw.update({"from": "972987654321", "id": f"wamid.{case}.{uuid.uuid4().hex[:6]}",
                    "timestamp": str(int((T0 + dt.timedelta(minutes=len(bodies) + 1)).timestamp()))})
        if case != "unsupported_edit":
            raw[raw["type"]]["original_message_id"] = original
        raw_body = encode(body)
        assert ingest.receive_webhook(raw_body, signed_headers(raw_body)["X-Hub-Signature-256"]).status == 200
        bodies.append(raw)
    result = run_burst_worker("high")
    assert result.returncode == 0, result.stderr[-2000:]
    row = message(original)
    assert (row.body, row.deleted_at is not None) == ("Updated text", True)
    line = message(bodies[1]["id"])
    assert (line.kind, line.conversation_id) == ("system", row.conversation_id)
    with session_scope() as s:
        stored = s.exec(select(Message.wa_message_id).where(Message.conversation_id == row.conversation_id)).all()
    assert set(stored) == {original, line.wa_message_id}  # the edit and the deletion are no messages of their own
