"""Tenants: created by the CLI and the demo seed, and by platform operators, who also suspend them.

A platform operator is a user with `is_platform_operator` (and the admin role in their own tenant). Operators
act across tenants, so their changes are audited twice: in the tenant they touched (its admins see what the
platform did to it) and in the operator's own tenant (the platform's own trail).

Suspending a tenant switches it off: login and every session check refuse its users (`logins` and `sessions` read
`Tenant.is_active`), its live sessions are revoked now, and its API tokens stop working. Its WhatsApp webhooks
are still verified, stored and processed (messages are not lost while it is suspended); nobody can read them
until it is reactivated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import func
from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.domain.text import is_email, is_slug, normalize_email
from crm_app.errors import Conflict, NotFound, PermissionDenied, ValidationError
from crm_app.models import Role, Tenant, User, UserSession
from crm_app.services.access import invites, passwords, sessions, users
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role


@dataclass(frozen=True)
class TenantRow:
    """A tenant's id, name and slug."""

    id: int
    name: str
    slug: str
    # Set by create_tenant: the first admin's link was e-mailed to them (else only shown to the operator).
    link_emailed: bool = False


@dataclass(frozen=True)
class TenantAdminRow:
    """One line of the operators' tenant list."""

    id: int
    name: str
    slug: str
    users_count: int
    is_active: bool
    created_at: dt.datetime
    suspended_at: dt.datetime | None
    # The operator's own tenant: it cannot be suspended from the page.
    is_own: bool


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


def _validate(name: str, slug: str) -> None:
    if not is_slug(slug):
        raise ValidationError("slug must be lower-case letters, digits and hyphens", field="slug")
    if not name or len(name) > 120:
        raise ValidationError("name must have 1 to 120 characters", field="name")


def ensure_tenant(session: Session, *, name: str, slug: str) -> tuple[TenantRow, bool]:
    """Create the tenant unless its slug exists. Returns (tenant, created).

    Only the system (CLI, seed) calls this; there is no acting user.
    """
    slug = slug.strip().lower()
    name = name.strip()
    _validate(name, slug)
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


def require_operator(actor: Actor | None) -> Actor:
    """The actor, if a platform operator with the admin role; PermissionDenied otherwise."""
    require_role(actor, Role.ADMIN)
    if not actor.is_platform_operator:
        raise PermissionDenied("platform operators only")
    return actor


def _audit_both(session: Session, *, actor: Actor, tenant: Tenant, action: str, before=None, after=None) -> None:
    """The touched tenant's row, and the operator's own trail when that is another tenant."""
    for tenant_id in dict.fromkeys((tenant.id, actor.tenant_id)):
        audit.record(session, actor=actor, tenant_id=tenant_id, action=action, target_type="tenant",
                     target_id=tenant.id, before=before, after={"tenant": tenant.slug, **(after or {})})


def list_tenants(session: Session, *, actor: Actor) -> list[TenantAdminRow]:
    """Every tenant, newest first, with its number of users; operators only."""
    require_operator(actor)
    counts = dict(session.exec(select(User.tenant_id, func.count()).group_by(User.tenant_id)).all())
    tenants = session.exec(select(Tenant).order_by(Tenant.created_at.desc(), Tenant.id.desc())).all()
    return [TenantAdminRow(id=t.id, name=t.name, slug=t.slug, users_count=counts.get(t.id, 0),
                           is_active=t.is_active, created_at=t.created_at, suspended_at=t.suspended_at,
                           is_own=t.id == actor.tenant_id) for t in tenants]


def create_tenant(
    session: Session, *, actor: Actor, name: str, slug: str, admin_name: str, admin_email: str,
) -> tuple[TenantRow, str]:
    """A new tenant with its first admin, who gets a one-time link (72 h) to choose a password.

    Returns (tenant, link token). The link is e-mailed to the admin when the platform can send e-mail
    (`TenantRow.link_emailed`); the operator also sees it once, as a fallback.
    """
    require_operator(actor)
    name, slug = name.strip(), slug.strip().lower()
    admin_name, admin_email = admin_name.strip(), normalize_email(admin_email)
    _validate(name, slug)
    if not admin_name or len(admin_name) > 120:
        raise ValidationError("name must have 1 to 120 characters", field="admin_name")
    if not is_email(admin_email):
        raise ValidationError("invalid e-mail address", field="admin_email")
    if find_tenant_by_slug(session, slug) is not None:
        raise Conflict("slug already in use", field="slug")
    if users.find_user_by_email(session, admin_email) is not None:
        raise Conflict("e-mail already in use", field="admin_email")
    tenant = Tenant(name=name, slug=slug)
    session.add(tenant)
    session.flush()
    admin = User(tenant_id=tenant.id, email=admin_email, name=admin_name, role=Role.ADMIN,
                 password_hash=passwords.unusable_password())
    session.add(admin)
    session.flush()
    token = invites.issue_link(session, user=admin)
    emailed = invites.email_link(session, user=admin, token=token, inviter=actor.name)
    _audit_both(session, actor=actor, tenant=tenant, action="tenant.create",
                after={"name": name, "admin_email": admin_email})
    audit.record(session, actor=actor, tenant_id=tenant.id, action="user.create", target_type="user",
                 target_id=admin.id, after={"name": admin_name, "email": admin_email, "role": "admin",
                                            "method": "invite_link", "link_emailed": emailed})
    return replace(_row(tenant), link_emailed=emailed), token


def _access_tenant(session: Session, tenant_id: int) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("tenant not found")
    return tenant


def suspend_tenant(session: Session, *, actor: Actor, tenant_id: int) -> int:
    """Switch a tenant off and revoke every live session of its users. Returns how many sessions ended.

    An operator cannot suspend their own tenant: that would lock the platform out of this page.
    """
    require_operator(actor)
    tenant = _access_tenant(session, tenant_id)
    if tenant.id == actor.tenant_id:
        raise PermissionDenied("an operator cannot suspend their own tenant")
    if not tenant.is_active:
        return 0
    tenant.is_active, tenant.suspended_at = False, utcnow()
    session.add(tenant)
    user_ids = session.exec(select(UserSession.user_id).where(
        UserSession.tenant_id == tenant.id, UserSession.revoked_at.is_(None)).distinct()).all()
    revoked = sum(sessions.revoke_user_sessions(session, user_id=uid, actor=actor, reason="tenant_suspended")
                  for uid in user_ids)
    _audit_both(session, actor=actor, tenant=tenant, action="tenant.suspend", before={"is_active": True},
                after={"is_active": False, "sessions_revoked": revoked})
    return revoked


def reactivate_tenant(session: Session, *, actor: Actor, tenant_id: int) -> None:
    """Let a suspended tenant's users log in again (their old sessions stay revoked)."""
    require_operator(actor)
    tenant = _access_tenant(session, tenant_id)
    if tenant.is_active:
        return
    tenant.is_active, tenant.suspended_at = True, None
    session.add(tenant)
    _audit_both(session, actor=actor, tenant=tenant, action="tenant.reactivate", before={"is_active": False},
                after={"is_active": True})


def set_platform_operator(session: Session, *, email: str, enabled: bool) -> bool:
    """Grant or withdraw the platform-operator flag; the system only (the CLI), never a web page.

    Only an active admin may hold it, since the page is an admin page. Returns whether anything changed.
    """
    user = users.find_user_by_email(session, email)
    if user is None:
        raise NotFound("user not found")
    if enabled and (user.role != Role.ADMIN or not user.is_active):
        raise ValidationError("platform operators must be active admins")
    if user.is_platform_operator == enabled:
        return False
    user.is_platform_operator = enabled
    session.add(user)
    audit.record(session, actor=None, tenant_id=user.tenant_id, action="user.platform_operator", target_type="user",
                 target_id=user.id, before={"is_platform_operator": not enabled},
                 after={"is_platform_operator": enabled})
    return True
