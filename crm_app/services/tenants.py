"""Tenants: created by operators and by the demo seed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.db import session_scope
from crm_app.domain.text import is_slug
from crm_app.errors import NotFound, ValidationError
from crm_app.models import Tenant
from crm_app.services import audit
from crm_app.services.actors import Actor


@dataclass(frozen=True)
class TenantRow:
    id: int
    name: str
    slug: str


def _row(tenant: Tenant) -> TenantRow:
    return TenantRow(id=tenant.id, name=tenant.name, slug=tenant.slug)


def find_tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    """The tenant with `slug`, or None."""
    return session.exec(select(Tenant).where(Tenant.slug == slug)).first()


def get_tenant_by_slug(session: Session, slug: str) -> Tenant:
    """The tenant with `slug`; raises NotFound."""
    tenant = find_tenant_by_slug(session, slug)
    if tenant is None:
        raise NotFound(f"tenant {slug!r} not found")
    return tenant


def ensure_tenant(session: Session, *, name: str, slug: str) -> tuple[TenantRow, bool]:
    """Create the tenant unless its slug exists. Returns (tenant, created).

    Only the system (CLI, seed) calls this; there is no acting user.
    """
    slug = slug.strip().lower()
    name = name.strip()
    if not is_slug(slug):
        raise ValidationError("slug must be lower-case letters, digits and hyphens")
    if not name or len(name) > 120:
        raise ValidationError("name must have 1 to 120 characters")
    existing = find_tenant_by_slug(session, slug)
    if existing is not None:
        return _row(existing), False
    tenant = Tenant(name=name, slug=slug)
    session.add(tenant)
    session.flush()
    audit.record(session, actor=None, tenant_id=tenant.id, action="tenant.create",
                 target_type="tenant", target_id=tenant.id, after={"name": name, "slug": slug})
    return _row(tenant), True


def tenant_name(actor: Actor) -> str:
    """The display name of the actor's tenant."""
    with session_scope() as session:
        tenant = session.get(Tenant, actor.tenant_id)
        return tenant.name if tenant else ""
