"""The compliance score (0-100) on /compliance: each factor measured from the tenant's data, weighed, and linked
to the page where it is fixed.

A factor that cannot apply yet (backups, until that area exists) is left out and the others are scaled to 100,
so a tenant is never marked down for something the product cannot do. The weights are ours: what most often
goes wrong in an LGPD audit of a service desk weighs most.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.models import AuditDetail, AuditLog, ConsentEvent, Contact, ErasureRecord, RetentionPolicy, User
from crm_app.services.compliance import consent, requests
from crm_app.services.core.actors import Actor, require_role

# A verification older than this no longer vouches for the chain (the daily job runs every 24 h).
VERIFY_FRESH = dt.timedelta(hours=48)


@dataclass(frozen=True)
class Factor:
    """One factor: `share` of it met (0-1), the points it gives out of `weight`, the numbers the page puts in
    its sentence, and where it is fixed."""

    code: str
    weight: int
    share: float
    href: str
    params: dict[str, int | str] = field(default_factory=dict)

    @property
    def points(self) -> float:
        return self.weight * self.share


@dataclass(frozen=True)
class Score:
    """The score (0-100, rounded) and its factors, weakest first."""

    value: int
    factors: list[Factor]


def compliance_score(session: Session, *, actor: Actor) -> Score:
    """The tenant's score for an admin or the DPO."""
    require_role(actor, *consent.PRIVACY_ROLES)
    tenant_id = actor.tenant_id
    factors = [_legal_basis(session, tenant_id), _requests(session, actor), _retention(session, tenant_id),
               _two_factor(session, tenant_id), _audit_chain(session, tenant_id), _dpo(session, tenant_id)]
    total = sum(f.weight for f in factors)
    value = round(100 * sum(f.points for f in factors) / total) if total else 100
    return Score(value, sorted(factors, key=lambda f: (f.share, -f.weight)))


def _legal_basis(session: Session, tenant_id: int) -> Factor:
    """Contacts (not erased) with at least one ledger row: a recorded legal basis for holding their data."""
    erased = select(ErasureRecord.contact_id).where(ErasureRecord.tenant_id == tenant_id)
    contacts = session.exec(select(sa.func.count()).select_from(Contact).where(
        Contact.tenant_id == tenant_id, Contact.id.not_in(erased))).one()
    covered = session.exec(select(sa.func.count(sa.distinct(ConsentEvent.contact_id))).where(
        ConsentEvent.tenant_id == tenant_id, ConsentEvent.contact_id.not_in(erased))).one()
    share = covered / contacts if contacts else 1.0
    return Factor("legal_basis", 25, min(share, 1.0), "/compliance/consents",
                  {"covered": covered, "contacts": contacts})


def _requests(session: Session, actor: Actor) -> Factor:
    """Open data-subject requests: any past due scores nothing, any due within the warning days half."""
    rows = [r for r in requests.list_requests(session, actor=actor) if r.status in requests.OPEN_STATUSES]
    overdue = sum(r.overdue for r in rows)
    near = sum(r.due_soon and not r.overdue for r in rows)
    share = 0.0 if overdue else 0.5 if near else 1.0
    return Factor("requests", 20, share, "/compliance/requests", {"overdue": overdue, "near": near})


def _retention(session: Session, tenant_id: int) -> Factor:
    enabled = session.exec(select(sa.func.count()).select_from(RetentionPolicy).where(
        RetentionPolicy.tenant_id == tenant_id, RetentionPolicy.enabled.is_(True))).one()
    return Factor("retention", 15, 1.0 if enabled else 0.0, "/compliance/retention", {"policies": enabled})


def _two_factor(session: Session, tenant_id: int) -> Factor:
    """Active admins (and DPOs: they read everything about everyone) with a second factor."""
    people = session.exec(select(User.totp_enabled_at).where(
        User.tenant_id == tenant_id, User.is_active.is_(True), User.role.in_(["admin", "dpo"]))).all()
    with_2fa = sum(at is not None for at in people)
    share = with_2fa / len(people) if people else 1.0
    return Factor("two_factor", 15, share, "/settings/users", {"with": with_2fa, "people": len(people)})


def _audit_chain(session: Session, tenant_id: int) -> Factor:
    """The latest verification of the audit trail: intact and no older than VERIFY_FRESH."""
    row = session.exec(select(AuditLog.created_at, AuditDetail.after)
                       .join(AuditDetail, AuditDetail.digest == AuditLog.digest, isouter=True)
                       .where(AuditLog.tenant_id == tenant_id, AuditLog.action == "audit.verify")
                       .order_by(AuditLog.id.desc()).limit(1)).first()
    if row is None:
        return Factor("audit_chain", 15, 0.0, "/compliance/audit", {"state": "never"})
    at, after = row
    if not (after or {}).get("ok"):
        return Factor("audit_chain", 15, 0.0, "/compliance/audit", {"state": "broken"})
    fresh = at.replace(tzinfo=at.tzinfo or dt.UTC) >= utcnow() - VERIFY_FRESH
    return Factor("audit_chain", 15, 1.0 if fresh else 0.5, "/compliance/audit", {"state": "ok" if fresh else "old"})


def _dpo(session: Session, tenant_id: int) -> Factor:
    named = session.exec(select(sa.func.count()).select_from(User).where(
        User.tenant_id == tenant_id, User.is_active.is_(True), User.role == "dpo")).one()
    return Factor("dpo", 10, 1.0 if named else 0.0, "/settings/users", {"named": named})
