"""The Verificar integridade button queues the check as a job: one per tenant at a time, its progress and result
in a status the page polls, recorded as the admin who asked; idempotent; the trail answers when Redis forgot."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_app.db import utcnow
from crm_app.errors import PermissionDenied
from crm_app.models import AuditLog
from crm_app.queue import QUEUE_BULK, get_queue, get_redis
from crm_app.services.audit import chain, tasks, verify
from crm_app.services.core import audit, jobs
from tests.factories import make_tenant, make_user
from tests.support.whatsapp import run_burst_worker


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    admin = dataclasses.replace(make_user(db, tenant.id, "admin"), ip="198.51.100.9")
    for n in range(12):
        audit.record(db, actor=admin, tenant_id=tenant.id, action="user.update", target_type="user", target_id=n)
    db.commit()
    get_redis().delete(f"crm:audit:verify:{tenant.id}")
    return tenant, admin


def _verifications(db, tenant_id):
    db.expire_all()
    return db.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id, AuditLog.action == "audit.verify")).all()


def test_the_button_queues_one_job_per_tenant_and_the_job_answers_through_the_status(db, world):
    tenant, admin = world
    first = verify.request_verification(db, actor=admin, now=utcnow())
    again = verify.request_verification(db, actor=admin, now=utcnow())
    assert first.state == "queued" and again.token == first.token
    queue = get_queue(QUEUE_BULK)
    assert queue.job_ids == [jobs.job_id("verify_audit_chain", tenant.id, tag=first.token)]
    assert _verifications(db, tenant.id) == []  # nothing ran inside the request
    assert tasks.verify_audit_chain(tenant.id, admin.user_id, admin.ip, first.token) is True
    status = verify.verification_status(db, actor=admin)
    assert (status.state, status.ok, status.problem) == ("done", True, None) and status.checked >= 12
    [entry] = _verifications(db, tenant.id)
    assert (entry.actor_user_id, entry.ip) == (admin.user_id, admin.ip) and entry.after["ok"] is True
    # The same job run twice (a redelivery) does nothing more; a new request after it is a new job.
    assert tasks.verify_audit_chain(tenant.id, admin.user_id, admin.ip, first.token) is None
    assert len(_verifications(db, tenant.id)) == 1
    assert verify.request_verification(db, actor=admin, now=utcnow()).token != first.token


def test_a_real_bulk_worker_runs_it_and_a_broken_chain_is_reported(db, world):
    tenant, admin = world
    chain.seal_pending(db)
    victim = db.exec(select(AuditLog).where(AuditLog.tenant_id == tenant.id).order_by(AuditLog.seq)).all()[4]
    db.execute(text("SET LOCAL session_replication_role = replica"))
    db.execute(text("UPDATE audit_logs SET target_id = '999' WHERE id = :id"), {"id": victim.id})
    db.commit()
    get_queue(QUEUE_BULK).empty()
    verify.request_verification(db, actor=admin, now=utcnow())
    result = run_burst_worker(QUEUE_BULK)
    assert result.returncode == 0, result.stderr[-2000:]
    status = verify.verification_status(db, actor=admin)
    assert (status.state, status.ok, status.problem, status.entry_id) == ("done", False, "entry_changed", victim.id)
    # Redis forgot: the page still shows the last check, from the trail.
    get_redis().delete(f"crm:audit:verify:{tenant.id}")
    from_trail = verify.verification_status(db, actor=admin)
    assert (from_trail.state, from_trail.ok, from_trail.problem) == ("done", False, "entry_changed")


def test_progress_is_published_while_the_chain_is_walked(db, world, monkeypatch):
    tenant, admin = world
    seen = []
    real_put = verify._put_status
    monkeypatch.setattr(chain, "PROGRESS_EVERY", 5)
    monkeypatch.setattr(verify, "_put_status", lambda t, s, **kw: (seen.append((s.state, s.checked)),
                                                                    real_put(t, s, **kw))[1])
    status = verify.request_verification(db, actor=admin, now=utcnow())
    verify.run_requested(db, tenant.id, admin.user_id, admin.ip, status.token, now=utcnow())
    assert ("running", 5) in seen and ("running", 10) in seen and seen[-1][0] == "done"


def test_admins_ask_readers_see_and_each_tenant_only_its_own(db, world):
    tenant, admin = world
    dpo, attendant = make_user(db, tenant.id, "dpo"), make_user(db, tenant.id, "attendant")
    with pytest.raises(PermissionDenied):
        verify.request_verification(db, actor=attendant, now=utcnow())
    with pytest.raises(PermissionDenied):
        verify.verification_status(db, actor=attendant)
    assert verify.verification_status(db, actor=dpo).state == "none"
    verify.request_verification(db, actor=admin, now=utcnow())
    assert verify.verification_status(db, actor=dpo).state == "queued"
    neighbour = make_user(db, make_tenant(db).id, "admin")
    get_redis().delete(f"crm:audit:verify:{neighbour.tenant_id}")
    assert verify.verification_status(db, actor=neighbour).state == "none"


def test_a_check_that_fails_frees_the_button(db, world, monkeypatch):
    tenant, admin = world
    status = verify.request_verification(db, actor=admin, now=utcnow())

    def broken_database(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(verify, "verify_tenant", broken_database)
    with pytest.raises(RuntimeError):
        verify.run_requested(db, tenant.id, admin.user_id, None, status.token, now=utcnow())
    assert verify.verification_status(db, actor=admin).state == "none"
    assert verify.request_verification(db, actor=admin, now=utcnow()).token != status.token


def test_a_check_that_could_not_be_queued_does_not_hold_the_button(db, world):
    tenant, admin = world
    queue = get_queue(QUEUE_BULK)
    queue.empty()
    get_redis().set(queue.key, "not a list")  # a real refusal by Redis: the push of the job id fails (WRONGTYPE)
    try:
        with pytest.raises(verify.VerificationUnavailable):
            verify.request_verification(db, actor=admin, now=utcnow())
    finally:
        get_redis().delete(queue.key)
    assert verify.verification_status(db, actor=admin).state == "none"  # not "queued" with no job behind it
    status = verify.request_verification(db, actor=admin, now=utcnow())  # asking again queues a check at once
    assert status.state == "queued"
    assert queue.job_ids == [jobs.job_id("verify_audit_chain", tenant.id, tag=status.token)]
