"""Verification: the whole chain, its head and its anchors, for one tenant or all; the button, the CLI and the
daily job all come here."""

from __future__ import annotations

import datetime as dt
import logging

from sqlmodel import Session, select

from crm_app.errors import NotFound
from crm_app.models import AuditChainHead, AuditLog, Tenant
from crm_app.services.audit import anchors, chain
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role

log = logging.getLogger(__name__)


def verify_tenant(session: Session, tenant_id: int, *, now: dt.datetime) -> chain.ChainReport:
    """Seal what is pending, then check the tenant's chain against its head and its anchors.

    Args:
        session: A session (sealing commits).
        tenant_id: The chain to check.
        now: The clock, for which anchor files to read.

    Returns:
        The report; `broken` names the first broken entry or the anchor that disagrees.
    """
    chain.seal_tenant(session, tenant_id)
    found = anchors.read_anchors(tenant_id, today=now.astimezone(dt.UTC).date())
    if any(not a.valid or a.tenant_id != tenant_id for a in found):
        report = chain.verify_tenant(session, tenant_id)
        return chain.ChainReport(tenant_id, report.checked, report.last_seq, report.unsealed,
                                 report.broken or chain.ChainBreak("anchor_signature"))
    return chain.verify_tenant(session, tenant_id, anchors=[(a.seq, a.hash) for a in found])


def tenants_with_chains(session: Session) -> list[int]:
    """Every tenant that has entries or a chain head (a deleted newest entry still leaves its head)."""
    ids = set(session.exec(select(AuditChainHead.tenant_id)).all())
    ids |= set(session.exec(select(AuditLog.tenant_id).distinct()).all())
    return sorted(ids)


def verify_all(session: Session, *, now: dt.datetime, tenant_slug: str | None = None) -> list[chain.ChainReport]:
    """Check one tenant (by slug) or every chain; NotFound for an unknown slug."""
    if tenant_slug:
        tenant = session.exec(select(Tenant).where(Tenant.slug == tenant_slug)).first()
        if tenant is None:
            raise NotFound("tenant not found")
        return [verify_tenant(session, tenant.id, now=now)]
    return [verify_tenant(session, tenant_id, now=now) for tenant_id in tenants_with_chains(session)]


def verify_for_actor(session: Session, *, actor: Actor, now: dt.datetime) -> chain.ChainReport:
    """The Verificar integridade button: the actor's tenant's chain; admins only (the DPO once that role exists).

    The check itself is recorded (`audit.verify`), so the trail shows who checked it and what was found.
    """
    require_role(actor, "admin")
    report = verify_tenant(session, actor.tenant_id, now=now)
    record_result(session, report, actor=actor)
    return report


def record_result(session: Session, report: chain.ChainReport, *, actor: Actor | None) -> None:
    """One `audit.verify` entry with the outcome; a break is also logged as an error (the alert, until the
    alerts area exists)."""
    broken = report.broken
    audit.record(session, actor=actor, tenant_id=report.tenant_id, action="audit.verify", target_type="audit",
                 after={"ok": report.ok, "checked": report.checked, "last_seq": report.last_seq,
                        "problem": broken.problem if broken else None,
                        "entry_id": broken.entry_id if broken else None})
    session.commit()
    if broken:
        log.error("audit chain of tenant %s is broken: %s at entry %s (seq %s)", report.tenant_id, broken.problem,
                  broken.entry_id, broken.seq)
