"""Deleting a tenant: its rows and its whole audit chain go through the documented purge, which is recorded in
the operator's trail and in a signed file; every chain left still verifies."""

import dataclasses
import datetime as dt

import pytest
from sqlmodel import select

from crm_app.errors import Conflict, PermissionDenied
from crm_app.models import AuditChainHead, AuditDetail, AuditLog, Tenant, User
from crm_app.services.access import tenants
from crm_app.services.audit import anchors, chain, verify
from crm_app.services.compliance.tenant_deletion import delete_tenant
from crm_app.services.core import audit
from tests.factories import make_tenant, make_user

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)


@pytest.fixture
def operator(db):
    platform = make_tenant(db, "platform")
    actor = make_user(db, platform.id, "admin")
    db.get(User, actor.user_id).is_platform_operator = True
    db.commit()
    return dataclasses.replace(actor, is_platform_operator=True)


@pytest.fixture
def customer(db):
    tenant = make_tenant(db, "pousada")
    admin = make_user(db, tenant.id, "admin")
    for n in range(5):
        audit.record(db, actor=admin, tenant_id=tenant.id, action="contact.update", target_type="contact",
                     target_id=n, after={"name": f"Cliente {n}"})
    db.commit()
    chain.seal_pending(db)
    audit.record(db, actor=admin, tenant_id=tenant.id, action="contact.view", target_type="contact", target_id=1)
    db.commit()  # one entry left unsealed: the purge seals it first, so the recorded hash covers it
    return tenant, admin


def test_a_suspended_tenant_is_deleted_with_its_chain_and_the_purge_is_recorded(db, operator, customer):
    tenant, _ = customer
    tenants.suspend_tenant(db, actor=operator, tenant_id=tenant.id)
    db.commit()
    done = delete_tenant(db, actor=operator, tenant_id=tenant.id)
    assert done.entries >= 7 and done.last_seq == done.entries
    db.expire_all()
    assert db.get(Tenant, tenant.id) is None
    assert db.exec(select(User).where(User.tenant_id == tenant.id)).all() == []
    for model in (AuditLog, AuditDetail, AuditChainHead):
        assert db.exec(select(model).where(model.tenant_id == tenant.id)).all() == []
    recorded = db.exec(select(AuditLog).where(AuditLog.tenant_id == operator.tenant_id,
                                              AuditLog.action == "audit.purge")).one()
    assert (recorded.target_type, recorded.target_id) == ("tenant", str(tenant.id))
    assert recorded.after["last_hash"] == done.last_hash and recorded.after["entries"] == done.entries
    record = anchors.read_purge_record(tenant.id)
    assert record["valid"] and record["hash"] == done.last_hash and record["purged_entries"] == done.entries
    reports = verify.verify_all(db, now=NOW)
    assert [r.tenant_id for r in reports] == [operator.tenant_id] and all(r.ok for r in reports)


def test_only_an_operator_deletes_and_only_a_suspended_tenant_not_their_own(db, operator, customer):
    tenant, admin = customer
    with pytest.raises(PermissionDenied):
        delete_tenant(db, actor=admin, tenant_id=tenant.id)
    with pytest.raises(Conflict):
        delete_tenant(db, actor=operator, tenant_id=tenant.id)  # still active
    db.rollback()
    with pytest.raises(PermissionDenied):
        delete_tenant(db, actor=operator, tenant_id=operator.tenant_id)
    db.rollback()
    assert db.exec(select(AuditLog).where(AuditLog.tenant_id == tenant.id)).first() is not None


def test_a_chain_with_more_unsealed_entries_than_one_seal_batch_is_covered_by_the_purge(db, operator, customer,
                                                                                       monkeypatch):
    """The purge seals everything in its own transaction (one batch used to be sealed, and committed)."""
    tenant, admin = customer
    monkeypatch.setattr(chain, "SEAL_BATCH", 3)
    for n in range(8):
        audit.record(db, actor=admin, tenant_id=tenant.id, action="contact.view", target_type="contact",
                     target_id=100 + n)
    db.commit()
    tenants.suspend_tenant(db, actor=operator, tenant_id=tenant.id)
    db.commit()
    done = delete_tenant(db, actor=operator, tenant_id=tenant.id)
    assert done.last_seq == done.entries >= 15


def test_removing_a_tenants_folders_never_reaches_another_tenant_or_the_whole_storage(tmp_path):
    from crm_app.integrations.storage import LocalStorage
    from crm_app.services.compliance.tenant_deletion import storage_folders

    storage = LocalStorage(tmp_path)
    for key in ("7/a.jpg", "7/out/b.png", "77/c.jpg", "privacy/reports/7/2026-01.pdf", "privacy/reports/77/x.pdf"):
        storage.put(key, b"x")
    assert sum(storage.delete_prefix(folder) for folder in storage_folders(7)) == 3
    assert [storage.exists(k) for k in ("7/a.jpg", "77/c.jpg", "privacy/reports/77/x.pdf")] == [False, True, True]
    assert storage.delete_prefix("7/") == 0  # twice is harmless
    for root in ("", "/", "./"):
        with pytest.raises(ValueError):
            storage.delete_prefix(root)


def test_a_deleted_tenants_csat_surveys_go_with_it(db, operator, customer):
    from crm_app.models import CsatSurvey
    from tests.factories import make_conversation, make_inbox

    tenant, _ = customer
    conversation = make_conversation(db, make_inbox(db, tenant.id).id)
    db.add(CsatSurvey(tenant_id=tenant.id, conversation_id=conversation.id, contact_id=conversation.contact_id,
                      contact_inbox_id=conversation.contact_inbox_id, inbox_id=conversation.inbox_id, rating=5,
                      comment="ótimo"))
    db.commit()
    tenants.suspend_tenant(db, actor=operator, tenant_id=tenant.id)
    db.commit()
    delete_tenant(db, actor=operator, tenant_id=tenant.id)
    db.expire_all()
    assert db.exec(select(CsatSurvey)).all() == []
