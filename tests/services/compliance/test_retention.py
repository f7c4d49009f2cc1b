"""Retention policies: validation, a dry run that counts first, batched runs that respect legal holds."""

import datetime as dt

import pytest
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import Contact, ErasureRecord, Message
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

