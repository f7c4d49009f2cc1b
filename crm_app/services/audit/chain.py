"""Sealing, verifying and purging each tenant's hash chain.

Writers insert entries unsealed (`hash` NULL). `seal_pending` (a job every few seconds) takes each tenant's
chain head under a row lock, chains that tenant's unsealed entries in id order and moves the head: only the
sealer waits on the lock, never a request. On PostgreSQL a trigger refuses any UPDATE of a sealed entry and
any DELETE (and any TRUNCATE of the table), sealed or not, outside `purge` and `purge_tenant` (the only code
that sets `crm.audit_purge`), which record themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import text as sql
from sqlmodel import Session, func, select

from crm_app.db import utcnow
from crm_app.domain.audit_chain import GENESIS, ChainFields, details_digest, entry_hash
from crm_app.models import AuditChainHead, AuditDetail, AuditLog
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor

SEAL_BATCH = 2000


def _fields(row: AuditLog, seq: int) -> ChainFields:
    return ChainFields(id=row.id, tenant_id=row.tenant_id, seq=seq, actor_user_id=row.actor_user_id,
                       action=row.action, target_type=row.target_type, target_id=row.target_id, ip=row.ip,
                       created_at=row.created_at, digest=row.digest)


def _head(session: Session, tenant_id: int) -> AuditChainHead:
    """The tenant's chain head, created on first use, locked until the caller's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql("INSERT INTO audit_chain_heads (tenant_id, seq, hash, purged_seq, purged_hash, "
                            "updated_at) VALUES (:t, 0, '', 0, '', now()) ON CONFLICT (tenant_id) DO NOTHING"),
                        {"t": tenant_id})
    elif session.get(AuditChainHead, tenant_id) is None:
        session.add(AuditChainHead(tenant_id=tenant_id))
        session.flush()
    return session.exec(select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id)
                        .with_for_update()).one()


def seal_tenant(session: Session, tenant_id: int, *, limit: int = SEAL_BATCH, commit: bool = True) -> int:
    """Chain up to `limit` of the tenant's unsealed entries, oldest id first; commits unless told not to.
    Idempotent.

    Returns:
        How many entries were sealed.
    """
    head = _head(session, tenant_id)
    rows = session.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id, AuditLog.hash.is_(None))
                        .order_by(AuditLog.id).limit(limit).with_for_update(skip_locked=True)).all()
    prev, seq, now = head.hash or GENESIS, head.seq, utcnow()
    for row in rows:
        seq += 1
        row.seq, row.prev_hash, row.sealed_at = seq, prev, now
        row.hash = prev = entry_hash(prev, _fields(row, seq))
        session.add(row)
    if rows:
        head.seq, head.hash, head.updated_at = seq, prev, now
        session.add(head)
    if commit:
        session.commit()
    else:
        session.flush()
    return len(rows)


def pending_tenants(session: Session) -> list[int]:
    """The tenants that have unsealed entries."""
    return list(session.exec(select(AuditLog.tenant_id).where(AuditLog.hash.is_(None)).distinct()).all())


def seal_pending(session: Session) -> int:
    """Seal every tenant's unsealed entries (the periodic job's body); returns how many were sealed."""
    total = 0
    for tenant_id in pending_tenants(session):
        while (sealed := seal_tenant(session, tenant_id)) == SEAL_BATCH:
            total += sealed
        total += sealed
    return total


@dataclass(frozen=True)
class ChainBreak:
    """The first thing wrong in a chain: the entry (when there is one) and a code from `PROBLEMS`."""

    problem: str
    entry_id: int | None = None
    seq: int | None = None


PROBLEMS = ("entry_changed", "link_broken", "entry_missing", "details_changed", "head_mismatch",
            "newest_missing", "anchor_mismatch", "anchor_signature")


@dataclass(frozen=True)
class ChainReport:
    """What verification found for one tenant."""

    tenant_id: int
    checked: int
    last_seq: int
    unsealed: int
    broken: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _sealed(session: Session, tenant_id: int, after_seq: int) -> Iterator[AuditLog]:
    """The sealed entries in chain order, read in pages so a long chain never sits in memory."""
    while True:
        rows = session.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id, AuditLog.seq > after_seq)
                            .order_by(AuditLog.seq).limit(5000)
                            .execution_options(populate_existing=True)).all()
        if not rows:
            return
        yield from rows
        after_seq = rows[-1].seq
        session.expunge_all()


def _details(session: Session, digests: list[str]) -> dict[str, AuditDetail]:
    query = select(AuditDetail).where(AuditDetail.digest.in_(digests)).execution_options(populate_existing=True)
    return {d.digest: d for d in session.exec(query).all()}


PROGRESS_EVERY = 5000


def _walk(session: Session, tenant_id: int, start_seq: int, start_hash: str,
          progress: Callable[[int], None] | None = None) -> tuple[int, int, str, ChainBreak | None]:
    """Recompute every link from (start_seq, start_hash); returns (checked, last seq, last hash, first break).

    `progress(checked)` is told every PROGRESS_EVERY entries (the button's job shows it on the page)."""
    checked, seq, prev = 0, start_seq, start_hash
    batch: list[AuditLog] = []
    for row in _sealed(session, tenant_id, start_seq):
        if row.seq != seq + 1:
            return checked, seq, prev, ChainBreak("entry_missing", row.id, seq + 1)
        if row.prev_hash != prev:
            return checked, seq, prev, ChainBreak("link_broken", row.id, row.seq)
        if row.hash != entry_hash(prev, _fields(row, row.seq)):
            return checked, seq, prev, ChainBreak("entry_changed", row.id, row.seq)
        batch.append(row)
        checked, seq, prev = checked + 1, row.seq, row.hash
        if progress is not None and checked % PROGRESS_EVERY == 0:
            progress(checked)
        if len(batch) >= 1000:
            if broken := _check_details(session, batch):
                return checked, seq, prev, broken
            batch = []
    return checked, seq, prev, _check_details(session, batch)


def _check_details(session: Session, rows: list[AuditLog]) -> ChainBreak | None:
    """A side row may be gone (erasure), never different from what the entry's digest promises."""
    found = _details(session, [r.digest for r in rows])
    for row in rows:
        d = found.get(row.digest)
        if d and details_digest(d.salt, d.actor_label, dict(d.before or {}), dict(d.after or {})) != row.digest:
            return ChainBreak("details_changed", row.id, row.seq)
    return None


def verify_tenant(session: Session, tenant_id: int, *, anchors: list[tuple[int, str]] | None = None,
                  progress: Callable[[int], None] | None = None) -> ChainReport:
    """Check the tenant's whole chain, its head row and the anchors given (seq, hash) from outside the table.

    Args:
        session: A session; nothing is written.
        tenant_id: The chain.
        anchors: The newest (seq, hash) pairs written outside the database, already checked for signature.
        progress: Told how many entries were checked so far, now and then.

    Returns:
        The report, naming the first broken entry.
    """
    head = session.get(AuditChainHead, tenant_id, populate_existing=True)
    start_seq, start_hash = (head.purged_seq, head.purged_hash or GENESIS) if head else (0, GENESIS)
    checked, last_seq, last_hash, broken = _walk(session, tenant_id, start_seq, start_hash, progress)
    unsealed = session.exec(select(func.count()).select_from(AuditLog)
                            .where(AuditLog.tenant_id == tenant_id, AuditLog.hash.is_(None))).one()
    if broken is None and head is not None and (head.seq, head.hash or GENESIS) != (last_seq, last_hash):
        broken = ChainBreak("newest_missing" if head.seq > last_seq else "head_mismatch", None, head.seq)
    for seq, digest in anchors or []:
        if broken is not None:
            break
        if seq > last_seq:
            broken = ChainBreak("newest_missing", None, seq)
        elif seq > start_seq:
            row = session.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id, AuditLog.seq == seq)
                               .execution_options(populate_existing=True)).first()
            if row is None or row.hash != digest:
                broken = ChainBreak("anchor_mismatch", row.id if row else None, seq)
    return ChainReport(tenant_id, checked, last_seq, int(unsealed), broken)


def _purging(session: Session, on: bool) -> None:
    """Open (or close) the one door the PostgreSQL guard leaves for DELETE; only this module calls it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql(f"SET LOCAL crm.audit_purge = '{'on' if on else 'off'}'"))


def purge(session: Session, *, tenant_id: int, through_seq: int, reason: str) -> int:
    """The documented purge (retention): delete the tenant's sealed entries up to `through_seq`; commits.

    The chain's new start (seq and hash) is kept on its head, so what remains still verifies, and the purge
    records itself as a new entry (`audit.purge`, with the range and the reason). Deleting a whole tenant goes
    through `purge_tenant` instead.

    Returns:
        How many entries were deleted.
    """
    seal_tenant(session, tenant_id)
    head = _head(session, tenant_id)
    through_seq = min(through_seq, head.seq)
    if through_seq <= head.purged_seq:
        session.commit()
        return 0
    boundary = session.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id,
                                                   AuditLog.seq == through_seq)).one()
    digests = select(AuditLog.digest).where(AuditLog.tenant_id == tenant_id, AuditLog.seq <= through_seq)
    _purging(session, True)
    session.execute(AuditDetail.__table__.delete().where(AuditDetail.digest.in_(digests)))
    deleted = session.execute(AuditLog.__table__.delete().where(AuditLog.tenant_id == tenant_id,
                                                                AuditLog.seq <= through_seq)).rowcount
    _purging(session, False)
    first = head.purged_seq + 1
    head.purged_seq, head.purged_hash = through_seq, boundary.hash
    session.add(head)
    audit.record(session, actor=None, tenant_id=tenant_id, action="audit.purge", target_type="audit",
                 after={"from_seq": first, "through_seq": through_seq, "entries": deleted, "reason": reason})
    session.commit()
    return deleted


@dataclass(frozen=True)
class TenantPurge:
    """What deleting a tenant's whole chain removed, and where that chain ended (its last seq and hash)."""

    tenant_id: int
    last_seq: int
    last_hash: str
    entries: int
    reason: str


def purge_tenant(session: Session, *, tenant_id: int, reason: str, actor: Actor | None = None) -> TenantPurge:
    """The documented purge of a deleted tenant: its whole chain, side rows and head go; the caller commits.

    The chain cannot record its own end, so the purge is recorded in the chain that survives: an `audit.purge`
    entry in the acting operator's tenant (range, last hash, reason), and, after commit, a signed anchor file
    (`anchors.write_purge_record`) that outlives every table. Sealing first makes the last hash cover everything.
    """
    while seal_tenant(session, tenant_id, limit=SEAL_BATCH, commit=False) == SEAL_BATCH:  # all, in this transaction
        pass
    head = _head(session, tenant_id)
    _purging(session, True)
    session.execute(AuditDetail.__table__.delete().where(AuditDetail.tenant_id == tenant_id))
    deleted = session.execute(AuditLog.__table__.delete().where(AuditLog.tenant_id == tenant_id)).rowcount
    _purging(session, False)
    done = TenantPurge(tenant_id, head.seq, head.hash or GENESIS, int(deleted or 0), reason)
    session.delete(head)
    if actor is not None and actor.tenant_id != tenant_id:
        audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="audit.purge", target_type="tenant",
                     target_id=tenant_id, after={"tenant_id": tenant_id, "through_seq": done.last_seq,
                                                 "last_hash": done.last_hash, "entries": done.entries,
                                                 "reason": reason})
    return done


def created_before(session: Session, tenant_id: int, cutoff: dt.datetime) -> int:
    """The highest sealed seq created before `cutoff` (0 if none): what a retention purge passes on."""
    return session.exec(select(func.coalesce(func.max(AuditLog.seq), 0)).where(
        AuditLog.tenant_id == tenant_id, AuditLog.created_at < cutoff, AuditLog.seq.is_not(None))).one()
