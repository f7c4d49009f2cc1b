"""The hash chain: sealing, and every kind of tampering the verifier must name."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from crm_app.models import AuditChainHead, AuditDetail, AuditLog
from crm_app.services.audit import anchors, chain, verify
from crm_app.services.core import audit
from tests.factories import make_tenant, make_user

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def _write(db, actor, n: int, start: int = 0) -> list[AuditLog]:
    rows = [audit.record(db, actor=actor, tenant_id=actor.tenant_id, action="user.role_change", target_type="user",
                         target_id=start + i, before={"role": "attendant"}, after={"role": "supervisor"})
            for i in range(n)]
    db.commit()
    return rows


@pytest.fixture
def chained(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    _write(db, admin, 6)
    chain.seal_pending(db)
    return tenant, admin


def _behind_the_trigger(db, statement: str, **params) -> None:
    """What someone with the database's owner rights can still do: switch the trigger off for one statement."""
    db.execute(text("SET LOCAL session_replication_role = replica"))
    db.execute(text(statement), params)
    db.commit()


def _entries(db, tenant_id):
    return db.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id).order_by(AuditLog.seq)).all()


def test_entries_are_written_unsealed_and_chained_in_id_order(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)  # creating the user wrote entries too
    _write(db, admin, 3)
    assert all(r.hash is None for r in _entries(db, tenant.id))
    sealed = chain.seal_pending(db)
    rows = _entries(db, tenant.id)
    assert sealed == len(rows) >= 3
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert rows[0].prev_hash == "0" * 64 and all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert chain.seal_pending(db) == 0  # idempotent
    head = db.get(AuditChainHead, tenant.id)
    assert (head.seq, head.hash) == (rows[-1].seq, rows[-1].hash)
    assert verify.verify_tenant(db, tenant.id, now=NOW).ok


def test_entries_keep_no_personal_values_and_the_old_reads_still_work(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    row = audit.record(db, actor=admin, tenant_id=tenant.id, action="contact.update", target_type="contact",
                       target_id=7, before={"name": None}, after={"name": "Conceição Araújo"})
    db.commit()
    raw = db.execute(text("SELECT * FROM audit_logs WHERE id = :id"), {"id": row.id}).mappings().one()
    assert "Conceição" not in str(dict(raw)) and "before" not in raw and "actor_label" not in raw
    db.expunge_all()
    again = db.get(AuditLog, row.id)
    assert again.after == {"name": "Conceição Araújo"} and again.actor_label == admin.label


def test_each_tenant_has_its_own_chain(db):
    one, two = make_tenant(db), make_tenant(db)
    _write(db, make_user(db, one.id), 2)
    _write(db, make_user(db, two.id), 2)
    chain.seal_pending(db)
    assert _entries(db, one.id)[0].seq == _entries(db, two.id)[0].seq == 1
    assert all(verify.verify_tenant(db, t.id, now=NOW).ok for t in (one, two))


def test_a_plain_update_or_delete_of_a_sealed_entry_is_refused(chained, db):
    tenant, _ = chained
    first = _entries(db, tenant.id)[0]
    for statement in ("UPDATE audit_logs SET action = 'user.create' WHERE id = :id",
                      "DELETE FROM audit_logs WHERE id = :id"):
        with pytest.raises(DBAPIError, match="is sealed|documented purge"):
            db.execute(text(statement), {"id": first.id})
        db.rollback()


def test_a_plain_delete_of_an_unsealed_entry_is_refused_too(db):
    tenant = make_tenant(db)
    row = _write(db, make_user(db, tenant.id), 1)[0]
    assert row.hash is None
    with pytest.raises(DBAPIError, match="documented purge"):
        db.execute(text("DELETE FROM audit_logs WHERE id = :id"), {"id": row.id})
    db.rollback()
    db.execute(text("SET LOCAL crm.audit_purge = 'off'"))
    with pytest.raises(DBAPIError, match="documented purge"):
        db.execute(text("DELETE FROM audit_logs WHERE tenant_id = :t"), {"t": tenant.id})
    db.rollback()
    assert db.get(AuditLog, row.id) is not None


def test_a_plain_truncate_of_the_trail_is_refused(db):
    tenant = make_tenant(db)
    rows = _write(db, make_user(db, tenant.id), 2)
    chain.seal_pending(db)
    for statement in ("TRUNCATE audit_logs", "TRUNCATE audit_logs, audit_details RESTART IDENTITY CASCADE"):
        with pytest.raises(DBAPIError, match="documented purge"):
            db.execute(text(statement))
        db.rollback()
    db.execute(text("SET LOCAL crm.audit_purge = 'off'"))
    with pytest.raises(DBAPIError, match="documented purge"):
        db.execute(text("TRUNCATE audit_logs"))
    db.rollback()
    assert [db.get(AuditLog, row.id) is not None for row in rows] == [True, True]


def test_an_unsealed_entry_may_only_be_sealed(db):
    tenant = make_tenant(db)
    row = _write(db, make_user(db, tenant.id), 1)[0]
    with pytest.raises(DBAPIError, match="only sealing"):
        db.execute(text("UPDATE audit_logs SET target_id = 'x' WHERE id = :id"), {"id": row.id})
    db.rollback()


def test_an_entry_changed_behind_the_triggers_back_is_named(chained, db):
    tenant, _ = chained
    victim = _entries(db, tenant.id)[3]
    _behind_the_trigger(db, "UPDATE audit_logs SET target_id = '999' WHERE id = :id", id=victim.id)
    report = verify.verify_tenant(db, tenant.id, now=NOW)
    assert not report.ok and (report.broken.problem, report.broken.entry_id) == ("entry_changed", victim.id)


def test_a_deleted_entry_in_the_middle_is_named(chained, db):
    tenant, _ = chained
    victim = _entries(db, tenant.id)[2]
    _behind_the_trigger(db, "DELETE FROM audit_logs WHERE id = :id", id=victim.id)
    report = verify.verify_tenant(db, tenant.id, now=NOW)
    assert report.broken.problem == "entry_missing" and report.broken.seq == victim.seq


def test_two_entries_swapped_are_caught(chained, db):
    tenant, _ = chained
    a, b = _entries(db, tenant.id)[1:3]
    _behind_the_trigger(db, "UPDATE audit_logs SET seq = -1 WHERE id = :a", a=a.id)
    _behind_the_trigger(db, "UPDATE audit_logs SET seq = :s WHERE id = :b", s=a.seq, b=b.id)
    _behind_the_trigger(db, "UPDATE audit_logs SET seq = :s WHERE id = :a", s=b.seq, a=a.id)
    report = verify.verify_tenant(db, tenant.id, now=NOW)
    assert not report.ok and report.broken.entry_id == b.id


def test_changed_side_values_are_caught_but_erased_ones_are_not_a_break(chained, db):
    tenant, _ = chained
    row = _entries(db, tenant.id)[4]
    db.execute(text("UPDATE audit_details SET actor_label = 'Someone else' WHERE digest = :d"), {"d": row.digest})
    db.commit()
    report = verify.verify_tenant(db, tenant.id, now=NOW)
    assert (report.broken.problem, report.broken.entry_id) == ("details_changed", row.id)
    db.execute(text("DELETE FROM audit_details WHERE digest = :d"), {"d": row.digest})
    db.commit()
    assert verify.verify_tenant(db, tenant.id, now=NOW).ok


def test_removing_the_newest_entries_is_caught_by_the_head_and_by_the_anchor(chained, db):
    tenant, _ = chained
    assert anchors.write_anchors(db, now=NOW) == 1
    rows = _entries(db, tenant.id)
    _behind_the_trigger(db, "DELETE FROM audit_logs WHERE tenant_id = :t AND seq >= :s", t=tenant.id,
                        s=rows[-2].seq)
    report = verify.verify_tenant(db, tenant.id, now=NOW)
    assert report.broken.problem == "newest_missing" and report.checked == len(rows) - 2
    # and when the head row is fixed up to match, the anchor outside the database still remembers
    db.execute(text("UPDATE audit_chain_heads SET seq = :s, hash = :h WHERE tenant_id = :t"),
               {"s": rows[-3].seq, "h": rows[-3].hash, "t": tenant.id})
    db.commit()
    report = verify.verify_tenant(db, tenant.id, now=NOW)
    assert report.broken.problem == "newest_missing" and report.broken.seq == rows[-1].seq


def test_a_forged_anchor_is_refused(chained, db):
    tenant, _ = chained
    anchors.write_anchors(db, now=NOW)
    storage = anchors.get_storage()
    key = f"{anchors.PREFIX}/{tenant.id}/latest.json"
    storage.put(key, storage.read(key).replace(b'"seq": ', b'"seq": 1'))
    assert verify.verify_tenant(db, tenant.id, now=NOW).broken.problem == "anchor_signature"


def test_the_documented_purge_records_itself_and_the_rest_still_verifies(chained, db):
    tenant, _ = chained
    rows = _entries(db, tenant.id)
    assert chain.purge(db, tenant_id=tenant.id, through_seq=rows[2].seq, reason="retention") == 3
    chain.seal_pending(db)
    left = _entries(db, tenant.id)
    assert left[0].seq == rows[3].seq and left[-1].action == "audit.purge"
    assert left[-1].after == {"from_seq": 1, "through_seq": rows[2].seq, "entries": 3, "reason": "retention"}
    assert verify.verify_tenant(db, tenant.id, now=NOW).ok
    assert db.exec(select(AuditDetail).where(AuditDetail.digest == rows[0].digest)).first() is None


def test_the_cli_exits_non_zero_and_names_the_entry(chained, db):
    tenant, _ = chained
    ok = subprocess.run([sys.executable, "-m", "crm_app", "audit-verify", "--tenant", tenant.slug],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stderr
    victim = _entries(db, tenant.id)[1]
    _behind_the_trigger(db, "UPDATE audit_logs SET ip = '10.9.9.9' WHERE id = :id", id=victim.id)
    broken = subprocess.run([sys.executable, "-m", "crm_app", "audit-verify"], capture_output=True, text=True,
                            timeout=60)
    assert broken.returncode == 1 and f"entry_changed at entry {victim.id}" in broken.stderr
    unknown = subprocess.run([sys.executable, "-m", "crm_app", "audit-verify", "--tenant", "nope"],
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "tenant not found" in unknown.stderr
