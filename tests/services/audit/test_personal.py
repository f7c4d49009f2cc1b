"""Erasure removes the side values about a contact; the chain still verifies."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from crm_app.models import AuditDetail, AuditLog
from crm_app.services.audit import chain, personal, verify
from crm_app.services.core import audit
from tests.factories import make_conversation, make_inbox, make_tenant, make_user

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def test_forget_contact_deletes_its_side_values_and_the_chain_still_verifies(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    conversation = make_conversation(db, make_inbox(db, tenant.id).id)
    other = make_conversation(db, conversation.inbox_id, wa_id="5511977776666")
    db.commit()
    mine = [audit.record(db, actor=admin, tenant_id=tenant.id, action="contact.update", target_type="contact",
                         target_id=conversation.contact_id, after={"name": "Maria Souza"}),
            audit.record(db, actor=admin, tenant_id=tenant.id, action="conversation.close",
                         target_type="conversation", target_id=conversation.id, after={"note": "Maria pediu"})]
    theirs = audit.record(db, actor=admin, tenant_id=tenant.id, action="contact.update", target_type="contact",
                          target_id=other.contact_id, after={"name": "João"})
    db.commit()
    chain.seal_pending(db)
    assert verify.verify_tenant(db, tenant.id, now=NOW).ok

    assert personal.forget_contact(db, tenant.id, conversation.contact_id) == 2
    db.commit()
    left = {d.digest for d in db.exec(select(AuditDetail)).all()}
    assert not {r.digest for r in mine} & left and theirs.digest in left
    db.expunge_all()
    assert db.get(AuditLog, mine[0].id).after == {} and db.get(AuditLog, theirs.id).after == {"name": "João"}
    report = verify.verify_tenant(db, tenant.id, now=NOW)
    assert report.ok and report.checked >= 3


def test_forget_contact_stays_inside_its_tenant(db):
    one, two = make_tenant(db), make_tenant(db)
    a1, a2 = make_user(db, one.id), make_user(db, two.id)
    for actor in (a1, a2):  # the same contact id in two tenants
        audit.record(db, actor=actor, tenant_id=actor.tenant_id, action="contact.update", target_type="contact",
                     target_id=5, after={"name": "X"})
    db.commit()
    assert personal.forget_contact(db, one.id, 5) == 1
    db.commit()
    assert len(db.exec(select(AuditDetail).where(AuditDetail.tenant_id == two.id)).all()) >= 2
