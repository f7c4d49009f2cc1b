"""Inbox actions: who may do what, and that each writes its event, system line and audit row, then publishes."""

import datetime as dt

import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import AuditLog, Conversation, ConversationEvent, Message
from crm_app.services import conversations, inbox
from crm_app.services.channel import outbound, reads
from crm_app.services.core import jobs
from crm_app.services.routing import teams
from tests.factories import make_tenant, make_user
from tests.support.inbox import (
    Listener,
    customer_writes,
    fresh_tenant,
    no_leftover_jobs,  # noqa: F401  (an autouse fixture)
    quick_conversation,
)


@pytest.fixture
def setup(db):
    tenant, box = fresh_tenant(db)
    people = {role: make_user(db, tenant.id, role) for role in ("admin", "supervisor")}
    people["ana"], people["bia"] = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    customer_writes(body="Preciso de ajuda")
    conversation = db.exec(select(Conversation)).one()
    listener = Listener(tenant.id)
    yield {"tenant": tenant, "inbox": box, "conversation_id": conversation.id, **people, "listener": listener}
    listener.close()


def written(db, conversation_id: int) -> tuple[list, list, list]:
    """(events, system lines, audit actions) of a conversation, oldest first."""
    db.expire_all()
    events = db.exec(select(ConversationEvent).where(ConversationEvent.conversation_id == conversation_id)
                     .order_by(ConversationEvent.id)).all()
    lines = db.exec(select(Message).where(Message.conversation_id == conversation_id, Message.kind == "system")
                    .order_by(Message.id)).all()
    audits = db.exec(select(AuditLog.action).where(AuditLog.target_type == "conversation",
                                                   AuditLog.target_id == str(conversation_id))
                     .order_by(AuditLog.id)).all()
    return events, lines, audits


def run(action, **kwargs):
    """One action in its own committed transaction, as the UI runs it."""
    with session_scope() as session:
        return action(session, **kwargs)


def test_take_over_writes_event_line_audit_and_publishes_in_sequence(db, setup):
    cid, ana = setup["conversation_id"], setup["ana"]
    row = run(inbox.take_over, actor=ana, conversation_id=cid)
    assert (row.assignee_id, row.assignee_name, row.bot_active) == (ana.user_id, "attendant user", False)
    events, lines, audits = written(db, cid)
    assert [(e.kind, e.to_value, e.actor_user_id) for e in events] == [("takeover", str(ana.user_id), ana.user_id)]
    assert [(m.sender_type, m.status, m.body) for m in lines] == [
        ("system", "received", "attendant user assumiu a conversa")]
    assert audits == ["conversation.take_over"]
    published = setup["listener"].events()
    assert [(e["kind"], e["conversation_id"]) for e in published] == [("message.new", cid),
                                                                       ("conversation.updated", cid)]
    assert published[0]["data"] == {"message_id": lines[0].id}
    assert published[1]["data"] == {"action": "take_over", "status": "open", "assignee_id": ana.user_id,
                                    "team_id": None, "bot_active": False}
    assert published[1]["seq"] == published[0]["seq"] + 1
    assert "Preciso" not in str(published)  # events never carry bodies


def test_every_action_records_and_publishes(db, setup):
    cid, ana, supervisor = setup["conversation_id"], setup["ana"], setup["supervisor"]
    team = teams.create_team(db, actor=setup["admin"], name="Financeiro")
    db.commit()
    setup["listener"].events(timeout=0.5)  # drop what the setup published
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    steps = [
        (inbox.assign, supervisor, {"user_id": ana.user_id}, "assignment", "conversation.assign"),
        (conversations.add_label, ana, {"name": "Urgente"}, "label", "conversation.label_add"),
        (conversations.remove_label, ana, {"name": "urgente"}, "label", "conversation.label_remove"),
        (inbox.snooze, ana, {"until": until}, "snooze", "conversation.snooze"),
        (inbox.reopen, ana, {}, "status", "conversation.reopen"),
        (inbox.close, ana, {"note": "Resolvido por telefone"}, "status", "conversation.close"),
        (inbox.reopen, supervisor, {}, "status", "conversation.reopen"),
        (inbox.transfer, supervisor, {"team_id": team.id, "reason": "boleto"}, "transfer", "conversation.transfer"),
    ]
    seqs = []
    for action, actor, kwargs, kind, audit_action in steps:
        before = written(db, cid)
        run(action, actor=actor, conversation_id=cid, **kwargs)
        events, lines, audits = written(db, cid)
        assert [e.kind for e in events[len(before[0]):]] == [kind], action.__name__
        assert len(lines) == len(before[1]) + 1 and audits[len(before[2]):][-1] == audit_action
        published = setup["listener"].events()
        assert published[-1]["kind"] == "conversation.updated" and published[-1]["conversation_id"] == cid
        seqs += [e["seq"] for e in published]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    conversation = db.get(Conversation, cid)
    assert (conversation.team_id, conversation.assignee_id, conversation.status) == (team.id, None, "open")
    note = db.exec(select(Message).where(Message.conversation_id == cid, Message.sender_type == "note")).one()
    assert note.body == "Resolvido por telefone" and note.wa_message_id is None
    snooze_line = db.exec(select(Message).where(Message.body.like("%adiou%"))).one()
    assert snooze_line.payload["system"]["params"]["until"] == until.astimezone(dt.UTC).isoformat()


def test_system_lines_read_in_the_readers_language(db, setup):
    cid, ana = setup["conversation_id"], setup["ana"]
    run(inbox.take_over, actor=ana, conversation_id=cid)
    english = ana.__class__(**{**ana.__dict__, "locale": "en"})
    lines = [v.body for v in inbox.list_messages(db, actor=english, conversation_id=cid) if v.kind == "system"]
    assert lines == ["attendant user took over the conversation"]


def test_attendant_cannot_touch_another_attendants_conversation(db, setup):
    cid, ana, bia = setup["conversation_id"], setup["ana"], setup["bia"]
    run(inbox.take_over, actor=ana, conversation_id=cid)
    for action, kwargs in ((inbox.take_over, {}), (inbox.close, {}), (inbox.add_note, {"body": "x"}),
                           (inbox.snooze, {"until": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)}),
                           (conversations.add_label, {"name": "x"})):
        with pytest.raises(PermissionDenied):
            run(action, actor=bia, conversation_id=cid, **kwargs)
    with pytest.raises(PermissionDenied):
        run(inbox.assign, actor=bia, conversation_id=cid, user_id=bia.user_id)
    row = run(inbox.take_over, actor=setup["supervisor"], conversation_id=cid)
    assert row.assignee_id == setup["supervisor"].user_id


def test_an_unassigned_conversation_must_be_taken_before_closing(db, setup):
    with pytest.raises(PermissionDenied):
        run(inbox.close, actor=setup["ana"], conversation_id=setup["conversation_id"])


def test_another_tenant_gets_not_found_for_every_action(db, setup):
    other = make_tenant(db)
    stranger = make_user(db, other.id, "admin")
    for action, kwargs in ((inbox.take_over, {}), (inbox.close, {}), (inbox.reopen, {}),
                           (inbox.add_note, {"body": "x"}), (conversations.add_label, {"name": "x"}),
                           (inbox.assign, {"user_id": stranger.user_id})):
        with pytest.raises(NotFound):
            run(action, actor=stranger, conversation_id=setup["conversation_id"], **kwargs)
    with pytest.raises(NotFound):  # a user of another tenant cannot be the assignee
        run(inbox.assign, actor=setup["admin"], conversation_id=setup["conversation_id"], user_id=stranger.user_id)


def test_send_message_needs_the_conversation(db, setup):
    cid, ana, bia = setup["conversation_id"], setup["ana"], setup["bia"]
    content = {"type": "text", "body": "Olá, tudo bem?"}
    with pytest.raises(PermissionDenied):  # the bot still owns it
        run(outbound.send_message, actor=ana, conversation_id=cid, content=content)
    run(inbox.take_over, actor=ana, conversation_id=cid)
    with pytest.raises(PermissionDenied):
        run(outbound.send_message, actor=bia, conversation_id=cid, content=content)
    setup["listener"].events(timeout=0.5)
    sent = run(outbound.send_message, actor=ana, conversation_id=cid, content=content)
    published = setup["listener"].events()
    assert [(e["kind"], e["data"]) for e in published] == [("message.new", {"message_id": sent.id})]
    run(outbound.send_message, actor=setup["supervisor"], conversation_id=cid, content={"type": "text", "body": "Oi"})
    db.expire_all()
    stored = db.get(Message, sent.id)
    conversation = db.get(Conversation, cid)
    assert stored.search_text == "ola, tudo bem?" and conversation.last_message_preview == "Oi"
    assert conversation.first_reply_at is not None


def test_failed_and_sent_marks_publish_status(db, setup):
    from crm_app.integrations import ExternalServiceError

    cid = setup["conversation_id"]
    run(inbox.take_over, actor=setup["admin"], conversation_id=cid)  # nobody writes while the bot owns it
    first = run(outbound.send_message, actor=setup["admin"], conversation_id=cid, content={"type": "text", "body": "a"})
    second = run(outbound.send_message, actor=setup["admin"], conversation_id=cid,
                 content={"type": "text", "body": "b"})
    setup["listener"].events(timeout=0.5)
    outbound._mark_sent(first.id, cid, "wamid.sent-1")
    outbound._after_error(second.id, ExternalServiceError("nope", code=131026, retryable=False))
    published = setup["listener"].events()
    assert [(e["kind"], e["data"]) for e in published] == [
        ("message.status", {"message_id": first.id, "status": "sent"}),
        ("message.status", {"message_id": second.id, "status": "failed"})]


def test_wake_snoozed_reopens_only_due_conversations(db, setup):
    cid, ana = setup["conversation_id"], setup["ana"]
    run(inbox.take_over, actor=ana, conversation_id=cid)
    run(inbox.snooze, actor=ana, conversation_id=cid, until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    later = quick_conversation(db, setup["inbox"].id, phone="+5511955550000", name="Depois", status="snoozed",
                               snoozed_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    db.commit()
    assert inbox.wake_snoozed() == 0
    setup["listener"].events(timeout=0.5)
    assert inbox.wake_snoozed(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)) == 1
    db.expire_all()
    woken = db.get(Conversation, cid)
    assert (woken.status, woken.snoozed_until, woken.assignee_id) == ("open", None, ana.user_id)
    assert db.get(Conversation, later.id).status == "snoozed"
    events, lines, audits = written(db, cid)
    assert (events[-1].from_value, events[-1].to_value, events[-1].data) == ("snoozed", "open",
                                                                            {"reason": "snooze_expired"})
    assert lines[-1].body == "A conversa voltou do adiamento" and audits[-1] == "conversation.wake"
    assert [e["kind"] for e in setup["listener"].events()] == ["message.new", "conversation.updated"]


def test_a_customer_message_wakes_a_snoozed_conversation(db, setup):
    cid, ana = setup["conversation_id"], setup["ana"]
    run(inbox.take_over, actor=ana, conversation_id=cid)
    run(inbox.snooze, actor=ana, conversation_id=cid, until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=5))
    setup["listener"].events(timeout=0.5)
    customer_writes(body="Ainda estou aqui")
    db.expire_all()
    conversation = db.get(Conversation, cid)
    assert (conversation.status, conversation.snoozed_until, conversation.assignee_id) == ("open", None, ana.user_id)
    assert conversation.last_message_preview == "Ainda estou aqui"
    published = setup["listener"].events()
    assert [e["kind"] for e in published] == ["conversation.new", "message.new"]
    assert published[0]["data"] == {"reason": "reopened"}


def test_snooze_needs_a_future_aware_time(db, setup):
    run(inbox.take_over, actor=setup["ana"], conversation_id=setup["conversation_id"])
    for until in (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), dt.datetime.now() + dt.timedelta(hours=1)):
        with pytest.raises(ValidationError):
            run(inbox.snooze, actor=setup["ana"], conversation_id=setup["conversation_id"], until=until)


def test_notes_are_private_and_searchable(db, setup):
    cid, ana = setup["conversation_id"], setup["ana"]
    run(inbox.take_over, actor=ana, conversation_id=cid)
    view = run(inbox.add_note, actor=ana, conversation_id=cid, body="Cliente pediu reembolso, ver com o Zé")
    assert (view.sender_type, view.sender_name, view.status) == ("note", "attendant user", "received")
    rows = inbox.list_conversations(db, actor=ana, tab="mine", query="ver com o ze").rows
    assert [r.id for r in rows] == [cid]
    queued = db.execute(text("SELECT count(*) FROM messages WHERE status = 'queued'")).scalar()
    assert queued == 0


def test_labels_are_reused_case_insensitively_and_listed(db, setup):
    cid, admin = setup["conversation_id"], setup["admin"]
    assert run(conversations.add_label, actor=admin, conversation_id=cid, name="  Cliente   VIP ") == ["Cliente VIP"]
    assert run(conversations.add_label, actor=admin, conversation_id=cid, name="cliente vip") == ["Cliente VIP"]
    assert [label["name"] for label in conversations.list_labels(db, actor=admin)] == ["Cliente VIP"]
    events, _, _ = written(db, cid)
    assert [e.kind for e in events] == ["label"]  # the second add changed nothing
    other = make_tenant(db)
    assert conversations.list_labels(db, actor=make_user(db, other.id, "admin")) == []


def test_a_failed_message_is_resent_once_by_someone_who_may_write_there(db, setup):
    from crm_app.queue import get_queue

    cid, ana, bia = setup["conversation_id"], setup["ana"], setup["bia"]
    run(inbox.take_over, actor=ana, conversation_id=cid)
    row = run(outbound.send_message, actor=ana, conversation_id=cid, content={"type": "text", "body": "Oi"},
              client_key="resend-1")
    get_queue("high").empty()
    db.execute(text("UPDATE messages SET status = 'failed', error_code = 131026, error_reason = 'undeliverable', "
                    "send_attempts = 3, wa_message_id = 'wamid.old' WHERE id = :id"), {"id": row.id})
    db.commit()
    with pytest.raises(PermissionDenied):
        run(outbound.resend_failed, actor=bia, message_id=row.id)
    with pytest.raises(NotFound):
        run(outbound.resend_failed, actor=make_user(db, make_tenant(db).id, "admin"), message_id=row.id)
    again = run(outbound.resend_failed, actor=ana, message_id=row.id)
    assert (again.status, again.error_code, again.error_reason, again.wa_message_id) == ("queued", None, None, None)
    resend = jobs.job_id("send_outbound_message", row.id, tag="resend-")  # each resend its own job
    assert [j for j in get_queue("high").get_job_ids() if j.startswith(resend)]
    get_queue("high").empty()
    assert run(outbound.resend_failed, actor=ana, message_id=row.id).status == "queued"  # a double click
    assert get_queue("high").get_job_ids() == []
    db.expire_all()
    assert db.get(Message, row.id).send_attempts == 0
    audits = db.exec(select(AuditLog.action).where(AuditLog.target_type == "message",
                                                   AuditLog.target_id == str(row.id))).all()
    assert audits == ["message.resend"]
    customer = db.exec(select(Message).where(Message.conversation_id == cid, Message.direction == "inbound")).first()
    with pytest.raises(ValidationError):
        run(outbound.resend_failed, actor=ana, message_id=customer.id)


def test_unread_total_counts_my_open_conversations_only(db, setup):
    cid, ana, bia = setup["conversation_id"], setup["ana"], setup["bia"]
    run(inbox.take_over, actor=ana, conversation_id=cid)
    customer_writes(body="Mais uma")
    customer_writes(body="E outra")
    assert run(inbox.unread_total, actor=ana) == 3
    assert run(inbox.unread_total, actor=bia) == 0
    run(inbox.close, actor=ana, conversation_id=cid)
    assert run(inbox.unread_total, actor=ana) == 0


def test_nobody_writes_to_the_customer_while_the_bot_owns_the_conversation(db, setup):
    cid = setup["conversation_id"]
    assert db.get(Conversation, cid).bot_active
    for who in ("admin", "supervisor", "ana"):
        with pytest.raises(PermissionDenied):
            run(outbound.send_message, actor=setup[who], conversation_id=cid, content={"type": "text", "body": "oi"})
    run(inbox.take_over, actor=setup["supervisor"], conversation_id=cid)
    sent = run(outbound.send_message, actor=setup["supervisor"], conversation_id=cid,
               content={"type": "text", "body": "Agora é comigo"})
    assert sent.status == "queued"
    with pytest.raises(PermissionDenied):  # the supervisor's now: Ana may not write in it
        run(outbound.send_message, actor=setup["ana"], conversation_id=cid, content={"type": "text", "body": "x"})
    run(outbound.send_message, actor=setup["admin"], conversation_id=cid, content={"type": "text", "body": "y"})


def test_what_an_attendant_may_not_open_they_may_not_read_mark_or_preempt(db, setup):
    from crm_app.services.channel.outbound import IdempotencyKeyReused
    from crm_app.services.conversations import contacts

    cid, ana, bia = setup["conversation_id"], setup["ana"], setup["bia"]
    run(inbox.take_over, actor=bia, conversation_id=cid)
    run(outbound.send_message, actor=bia, conversation_id=cid, content={"type": "text", "body": "Segredo da Bia"},
        client_key="11111111-1111-4111-8111-111111111111")
    customer_writes(body="mais um segredo")
    with pytest.raises(PermissionDenied):  # Bia's unread count and blue ticks are not Ana's to spend
        run(reads.mark_conversation_read, actor=ana, conversation_id=cid)
    assert db.get(Conversation, cid).unread_count == 1
    contact_id = db.get(Conversation, cid).contact_id
    seen_by_ana = run(contacts.get_contact, actor=ana, contact_id=contact_id).past_conversations
    seen_by_sup = run(contacts.get_contact, actor=setup["supervisor"], contact_id=contact_id).past_conversations
    assert [p["preview"] for p in seen_by_ana] == [""] and "egredo" in seen_by_sup[0]["preview"]
    with pytest.raises(IdempotencyKeyReused):  # the same key from someone else is not "the same send"
        run(outbound.send_message, actor=setup["supervisor"], conversation_id=cid,
            content={"type": "text", "body": "outra"}, client_key="11111111-1111-4111-8111-111111111111")
    assert db.exec(select(Message).where(Message.body == "outra")).all() == []
