"""Deleting a tenant at the end of its contract: its rows go (foreign keys cascade from `tenants`), and its audit
chain goes through the documented purge, recorded in the operator's own trail and in a signed file.

Only a platform operator may do it, never to their own tenant, and only once the tenant is suspended (the
suspension is the confirmation step, and its sessions are already revoked). Files in the storage (media,
bundles, backups) are not removed here.
"""

from __future__ import annotations

import functools

from sqlmodel import Session, select

from crm_app.db import after_commit, utcnow
from crm_app.errors import Conflict, NotFound, PermissionDenied
from crm_app.models import Tenant
from crm_app.services.access.tenants import require_operator
from crm_app.services.audit import anchors, chain
from crm_app.services.core.actors import Actor


def delete_tenant(session: Session, *, actor: Actor, tenant_id: int) -> chain.TenantPurge:
    """Delete a suspended tenant and purge its audit chain in one transaction; commits. Operators only.

    Returns:
        What the purge removed and where the chain ended (seq and hash), as the signed record says.
    """
    require_operator(actor)
    # Locked for the whole transaction: a reactivation cannot slip in between the checks and the delete.
    tenant = session.exec(select(Tenant).where(Tenant.id == tenant_id).with_for_update()
                          .execution_options(populate_existing=True)).first()
    if tenant is None:
        raise NotFound("tenant not found")
    if tenant.id == actor.tenant_id:
        raise PermissionDenied("an operator cannot delete their own tenant")
    if tenant.is_active:
        raise Conflict("suspend the tenant before deleting it")
    done = chain.purge_tenant(session, tenant_id=tenant_id, reason=f"tenant_deleted:{tenant.slug}", actor=actor)
    session.expunge(tenant)
    session.execute(Tenant.__table__.delete().where(Tenant.id == tenant_id))
    after_commit(session, functools.partial(
        anchors.write_purge_record, tenant_id=tenant_id, last_seq=done.last_seq, last_hash=done.last_hash,
        entries=done.entries, reason=done.reason, now=utcnow()))
    session.commit()
    return done
