"""Retention policies: validation, a dry run that counts first, batched runs that respect legal holds."""

import datetime as dt

import pytest
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import Contact, CsatSurvey, ErasureRecord, Message
from crm_app.services.compliance import holds, retention
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import add_text, quick_conversation

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    dpo = make_user(db, tenant.id, "dpo")
    box = make_inbox(db, tenant.id)
    old = quick_conversation(db, box.id, phone="+5511900000001", name="Antiga Cliente",
                             last_message_at=NOW - dt.timedelta(days=400))
    held = quick_conversation(db, box.id, phone="+5511900000002", name="Sob Bloqueio",
                              last_message_at=NOW - dt.timedelta(days=400))
    fresh = quick_conversation(db, box.id, phone="+5511900000003", name="Cliente Nova",
                               last_message_at=NOW - dt.timedelta(days=2))
    for conversation in (old, held, fresh):
        add_text(db, conversation, "texto antigo", created_at=conversation.last_message_at)
    db.commit()
    holds.place_hold(db, actor=dpo, contact_id=held.contact_id, reason="Processo judicial")
    db.commit()
    return {"tenant": tenant, "dpo": dpo, "old": old, "held": held, "fresh": fresh}


def test_bad_policies_are_refused_with_a_clear_message(db, world):
    with pytest.raises(ValidationError, match="between 1 and"):
        retention.create_policy(db, actor=world["dpo"], action="message_bodies", days=0)
    with pytest.raises(ValidationError, match="action must be"):
        retention.create_policy(db, actor=world["dpo"], action="burn_everything", days=30)
    other = make_inbox(db, make_tenant(db).id)
    with pytest.raises(NotFound, match="number not found"):
        retention.create_policy(db, actor=world["dpo"], action="message_bodies", days=30, inbox_id=other.id)
    with pytest.raises(PermissionDenied):
        retention.create_policy(db, actor=make_user(db, world["tenant"].id, "supervisor"), action="message_bodies",
                                days=30)


def test_dry_run_counts_then_the_run_deletes_old_bodies_except_under_legal_hold(db, world):
    policy = retention.create_policy(db, actor=world["dpo"], action="message_bodies", days=365)
    db.commit()
    assert retention.dry_run(db, actor=world["dpo"], now=NOW) == {policy.id: {"messages": 1}}
    with session_scope() as s:
        assert s.exec(select(Message.body)).all().count("texto antigo") == 3  # the dry run changed nothing
    assert retention.apply_retention(now=NOW) == 1
    with session_scope() as s:
        bodies = {m.conversation_id: m.body for m in s.exec(select(Message)).all()}
        assert bodies == {world["old"].id: None, world["held"].id: "texto antigo", world["fresh"].id: "texto antigo"}
        assert len(s.exec(select(Message)).all()) == 3  # rows stay
    [row] = retention.list_policies(db, actor=world["dpo"])
    assert row.last_report == {"messages": 1} and row.last_run_at is not None
    assert retention.apply_policy(policy.id, now=NOW) == {"messages": 0}  # a second run removes nothing more


def test_inactive_contacts_are_anonymised_through_the_erasure_ledger(db, world):
    retention.create_policy(db, actor=world["dpo"], action="anonymise_contacts", days=180)
    db.commit()
    retention.apply_retention(now=NOW)
    with session_scope() as s:
        assert s.get(Contact, world["old"].contact_id).name is None
        assert s.get(Contact, world["held"].contact_id).name == "Sob Bloqueio"
        assert s.get(Contact, world["fresh"].contact_id).name == "Cliente Nova"
        assert [r.contact_id for r in s.exec(select(ErasureRecord)).all()] == [world["old"].contact_id]


def _elsewhere(db, conversation, inbox_id: int, last_message_at: dt.datetime):
    """The same contact's conversation on another number."""
    from crm_app.models import ContactInbox, Conversation

    link = ContactInbox(tenant_id=conversation.tenant_id, contact_id=conversation.contact_id, inbox_id=inbox_id,
                        wa_id=f"x{conversation.contact_id}")
    db.add(link)
    db.flush()
    other = Conversation(tenant_id=conversation.tenant_id, inbox_id=inbox_id, contact_id=conversation.contact_id,
                         contact_inbox_id=link.id, last_message_at=last_message_at, bot_active=False)
    db.add(other)
    db.flush()
    return other


def test_a_scoped_anonymisation_spares_a_contact_still_active_through_another_number_or_label(db, world):
    from crm_app.models import ConversationLabel, Label

    tenant_id, box = world["tenant"].id, world["old"].inbox_id
    second = make_inbox(db, tenant_id)
    _elsewhere(db, world["old"], second.id, NOW - dt.timedelta(days=3))  # "old" still writes on the other number
    busy = quick_conversation(db, box, phone="+5511900000004", name="Rotulo Antigo",
                              last_message_at=NOW - dt.timedelta(days=400))
    quiet = quick_conversation(db, box, phone="+5511900000005", name="Rotulo Parado",
                               last_message_at=NOW - dt.timedelta(days=400))
    label = Label(tenant_id=tenant_id, name="Campanha 2025")
    db.add(label)
    db.flush()
    for conversation in (busy, quiet):
        db.add(ConversationLabel(tenant_id=tenant_id, conversation_id=conversation.id, label_id=label.id))
    fresh_unlabelled = quick_conversation(db, box, phone="+5511900000006", last_message_at=NOW - dt.timedelta(days=1))
    fresh_unlabelled.contact_id = busy.contact_id  # "busy" is active in a conversation without the label
    db.add(fresh_unlabelled)
    db.commit()
    by_number = retention.create_policy(db, actor=world["dpo"], action="anonymise_contacts", days=180, inbox_id=box)
    by_label = retention.create_policy(db, actor=world["dpo"], action="anonymise_contacts", days=180,
                                       label_id=label.id)
    db.commit()
    assert retention.dry_run(db, actor=world["dpo"], now=NOW) == {by_number.id: {"contacts": 1},
                                                                  by_label.id: {"contacts": 1}}
    assert retention.apply_policy(by_number.id, now=NOW) == {"contacts": 1}
    assert retention.apply_policy(by_label.id, now=NOW) == {"contacts": 0}  # "quiet" went with the first
    with session_scope() as s:
        erased = {r.contact_id for r in s.exec(select(ErasureRecord).where(
            ErasureRecord.tenant_id == tenant_id)).all()}
        assert erased == {quiet.contact_id}
        assert s.get(Contact, world["old"].contact_id).name == "Antiga Cliente"
        assert s.get(Contact, busy.contact_id).name == "Rotulo Antigo"


def test_purge_closed_clears_old_closed_conversations_in_batches_and_the_dry_run_counted_it(db, world, monkeypatch):
    from crm_app.db import utcnow

    monkeypatch.setattr(retention, "BATCH", 2)
    later = utcnow() + dt.timedelta(days=60)  # the run's clock, not the wall clock, decides what is old
    closed = {}
    for key, days_closed in (("old", 70), ("held", 70), ("fresh", 5)):
        conversation = world[key]
        conversation.status, conversation.closed_at = "closed", later - dt.timedelta(days=days_closed)
        db.add(conversation)
        closed[key] = conversation
    for n in range(4):  # five texts in all: three batches of two
        add_text(db, world["old"], f"mensagem {n}")
    still_open = quick_conversation(db, world["old"].inbox_id, phone="+5511900000007", name="Aberta",
                                    last_message_at=later - dt.timedelta(days=400))
    add_text(db, still_open, "conversa aberta")
    db.commit()
    policy = retention.create_policy(db, actor=world["dpo"], action="purge_closed", days=30)
    db.commit()
    assert retention.dry_run(db, actor=world["dpo"], now=later) == {policy.id: {"messages": 5}}
    assert retention.apply_policy(policy.id, now=later) == {"messages": 5}
    with session_scope() as s:
        def bodies(conversation):
            return [m.body for m in s.exec(select(Message).where(Message.conversation_id == conversation.id)
                                           .order_by(Message.id)).all()]
        assert bodies(world["old"]) == [None] * 5
        assert bodies(world["held"]) == ["texto antigo"]  # legal hold
        assert bodies(world["fresh"]) == ["texto antigo"]  # closed 5 days ago
        assert bodies(still_open) == ["conversa aberta"]  # not closed
    [row] = retention.list_policies(db, actor=world["dpo"])
    assert row.last_report == {"messages": 5} and row.last_run_at == later
    assert retention.dry_run(db, actor=world["dpo"], now=later) == {policy.id: {"messages": 0}}
    assert retention.apply_policy(policy.id, now=later) == {"messages": 0}


def _webhook(*messages: tuple[str, str, str, str], statuses: tuple[tuple[str, str], ...] = ()) -> None:
    """One webhook from Meta with (wa_id, name, wamid, text) messages and (wamid, recipient) statuses."""
    from crm_app.db import utcnow
    from crm_app.services.channel import ingest
    from tests.support.whatsapp import encode, fixture, signed_headers

    payload = fixture("message", "text")
    value = payload["entry"][0]["changes"][0]["value"]
    at = str(int(utcnow().timestamp()))
    value["contacts"] = [{"wa_id": wa_id, "profile": {"name": name}} for wa_id, name, _, _ in messages]
    value["messages"] = [{"from": wa_id, "id": wamid, "timestamp": at, "type": "text", "text": {"body": body}}
                         for wa_id, _, wamid, body in messages]
    if statuses:
        value["statuses"] = [{"id": wamid, "status": "delivered", "timestamp": at, "recipient_id": to}
                             for wamid, to in statuses]
    raw = encode(payload)
    outcome = ingest.store_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"])
    ingest.process_inbound_event(outcome.event_id)


def test_old_bodies_leave_the_raw_webhooks_too_and_other_peoples_messages_stay(db):
    import uuid

    from sqlalchemy import text

    from crm_app.models import Conversation, InboundEvent
    from tests.support.inbox import fresh_tenant

    tenant, box = fresh_tenant(db)
    dpo = make_user(db, tenant.id, "dpo")
    alfa, beta, caio = "5511911110001", "5511922220002", "5511933330003"
    ids = {k: f"wamid.{k}{uuid.uuid4().hex}" for k in ("a1", "b1", "a2", "c1", "out")}
    _webhook((alfa, "Alfa Antiga", ids["a1"], "texto velho alfa"), (beta, "Beta Nova", ids["b1"], "texto novo beta"))
    _webhook((alfa, "Alfa Antiga", ids["a2"], "segundo velho alfa"))
    _webhook((caio, "Caio Bloqueado", ids["c1"], "texto velho caio"))
    with session_scope() as s:
        conv = {wa: s.exec(select(Conversation).join(Contact, Contact.id == Conversation.contact_id)
                           .where(Contact.phone_e164 == f"+{wa}")).one() for wa in (alfa, beta, caio)}
        s.add(Message(tenant_id=tenant.id, conversation_id=conv[alfa].id, direction="outbound",
                      sender_type="attendant", kind="text", body="resposta velha", status="sent",
                      wa_message_id=ids["out"]))
    _webhook(statuses=((ids["out"], alfa),))
    db.execute(text("UPDATE messages SET created_at = now() - interval '400 days', "
                    "sent_at = now() - interval '400 days' WHERE conversation_id IN (:a, :c)"),
               {"a": conv[alfa].id, "c": conv[caio].id})
    db.execute(text("UPDATE inbound_events SET received_at = now() - interval '400 days'"))
    db.commit()
    holds.place_hold(db, actor=dpo, contact_id=conv[caio].contact_id, reason="Processo judicial")
    retention.create_policy(db, actor=dpo, action="message_bodies", days=365)
    db.commit()
    retention.apply_retention()
    with session_scope() as s:
        bodies = [e.body for e in s.exec(select(InboundEvent).order_by(InboundEvent.id)).all()]
    both, only_alfa, held, status = bodies
    for gone in ("texto velho alfa", "segundo velho alfa", "Alfa Antiga", alfa, ids["a1"], ids["a2"], ids["out"]):
        assert gone not in "".join(bodies)
    assert "texto novo beta" in both and beta in both and ids["b1"] in both  # the other person's message stays
    assert only_alfa == status == '{"retention": true}'
    assert "texto velho caio" in held  # legal hold


def test_a_file_sent_to_two_contacts_is_deleted_only_with_the_last_message_that_holds_it(db, world):
    import uuid

    from crm_app.integrations.storage import get_storage
    from crm_app.services.compliance import erasure

    storage, tenant_id = get_storage(), world["tenant"].id
    shared, own = (f"{tenant_id}/out/{uuid.uuid4().hex}.pdf" for _ in range(2))  # stored by content: one file
    storage.put(shared, b"catalogo de verao")
    storage.put(own, b"so para a cliente nova")
    sent = {"direction": "outbound", "sender_type": "attendant", "kind": "document", "status": "sent"}
    old = add_text(db, world["old"], "catalogo", media_storage_key=shared, created_at=NOW - dt.timedelta(days=400),
                   **sent)
    fresh = add_text(db, world["fresh"], "catalogo", media_storage_key=shared, **sent)
    add_text(db, world["fresh"], "so seu", media_storage_key=own, **sent)
    db.commit()
    erasure.run_steps(tenant_id, world["fresh"].contact_id)  # the fresh contact asks to be erased
    assert storage.exists(shared) and not storage.exists(own)  # the old contact's message still shows it
    with session_scope() as s:
        assert s.get(Message, old.id).media_storage_key == shared and s.get(Message, fresh.id).media_storage_key is None
    retention.create_policy(db, actor=world["dpo"], action="message_bodies", days=365)
    db.commit()
    retention.apply_retention(now=NOW)
    assert not storage.exists(shared)  # its last holder is gone


def test_a_csat_comment_goes_with_its_message_and_the_rating_stays(db, world):
    old = world["old"]
    comment = add_text(db, old, "comentário antigo", created_at=NOW - dt.timedelta(days=400),
                       wa_message_id="wamid.csat-comment-old")
    db.add(CsatSurvey(tenant_id=old.tenant_id, conversation_id=old.id, contact_id=old.contact_id,
                      contact_inbox_id=old.contact_inbox_id, inbox_id=old.inbox_id, status="done", rating=2,
                      comment="comentário antigo", comment_wa_message_id=comment.wa_message_id,
                      sent_at=NOW - dt.timedelta(days=400)))
    db.commit()
    retention.create_policy(db, actor=world["dpo"], action="message_bodies", days=365)
    db.commit()
    retention.apply_retention(now=NOW)
    with session_scope() as s:
        survey = s.exec(select(CsatSurvey)).one()
        assert (survey.comment, survey.rating) == (None, 2)
