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
