"""Deleting a tenant at the end of its contract: its rows go (foreign keys cascade from `tenants`), and its audit
chain goes through the documented purge, recorded in the operator's own trail and in a signed file.

Only a platform operator (or the system: `python -m crm_app tenant-delete`) may do it, never to their own tenant,
and only once the tenant is suspended (the suspension is the confirmation step, and its sessions are already
revoked). After commit, the tenant's files in the storage go too: media received and uploaded, the monthly
privacy reports, data-subject bundles and the erasure ledger. The audit anchors and the purge record stay: they
are the proof of what was deleted.
"""

from __future__ import annotations

import functools
import logging
import posixpath

from sqlmodel import Session, select

from crm_app.db import after_commit, utcnow
from crm_app.errors import Conflict, NotFound, PermissionDenied
from crm_app.integrations.storage import get_storage
from crm_app.models import Tenant
from crm_app.services.access.tenants import require_operator
from crm_app.services.audit import anchors, chain
from crm_app.services.compliance import bundle, erasure, report
from crm_app.services.core.actors import Actor

log = logging.getLogger(__name__)


def storage_folders(tenant_id: int) -> list[str]:
    """The storage folders that hold only this tenant's files: its media (received, and uploaded under `out/`),
    its monthly privacy reports and its data-subject bundles."""
    return [f"{tenant_id}/", *(posixpath.dirname(key).format(tenant_id=tenant_id) + "/"
                               for key in (report.REPORT_KEY, bundle.BUNDLE_KEY))]


def remove_tenant_files(tenant_id: int) -> int:
    """Remove a deleted tenant's files from the storage (`storage_folders` and its erasure ledger); idempotent.

    Returns:
        How many files were removed.
    """
    storage = get_storage()
    removed = sum(storage.delete_prefix(folder) for folder in storage_folders(tenant_id))
    removed += storage.delete(erasure.LEDGER_KEY.format(tenant_id=tenant_id))
    log.info("tenant %s: %s stored files removed", tenant_id, removed)
    return removed


def delete_tenant(session: Session, *, actor: Actor | None, tenant_id: int) -> chain.TenantPurge:
    """Delete a suspended tenant and purge its audit chain in one transaction; commits, then removes its files.

    Operators only; `actor=None` is the system (the operators' command line), whose purge is recorded in the
    signed purge record only, as there is no operator's chain to record it in.

    Returns:
        What the purge removed and where the chain ended (seq and hash), as the signed record says.
    """
    if actor is not None:
        require_operator(actor)
    # Locked for the whole transaction: a reactivation cannot slip in between the checks and the delete.
    tenant = session.exec(select(Tenant).where(Tenant.id == tenant_id).with_for_update()
                          .execution_options(populate_existing=True)).first()
    if tenant is None:
        raise NotFound("tenant not found")
    if actor is not None and tenant.id == actor.tenant_id:
        raise PermissionDenied("an operator cannot delete their own tenant")
    if tenant.is_active:
        raise Conflict("suspend the tenant before deleting it")
    done = chain.purge_tenant(session, tenant_id=tenant_id, reason=f"tenant_deleted:{tenant.slug}", actor=actor)
    session.expunge(tenant)
    session.execute(Tenant.__table__.delete().where(Tenant.id == tenant_id))
    after_commit(session, functools.partial(
        anchors.write_purge_record, tenant_id=tenant_id, last_seq=done.last_seq, last_hash=done.last_hash,
        entries=done.entries, reason=done.reason, now=utcnow()))
    after_commit(session, functools.partial(remove_tenant_files, tenant_id))
    session.commit()
    return done
