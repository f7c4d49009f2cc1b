"""Users of a tenant: created by admins or the CLI, listed and managed by admins.

Every change here checks the actor's role and tenant, and writes its audit row in the same transaction.
A tenant always keeps at least one active admin: the admin rows are serialised on the tenant row, so two
admins demoting each other at the same moment cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import func
from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain.access import can_manage_role
from crm_app.domain.text import is_email, normalize_email, password_problem
from crm_app.errors import Conflict, CRMError, PermissionDenied, ValidationError
from crm_app.models import Role, Tenant, User
from crm_app.services.access import api_tokens, invites, passwords, sessions
from crm_app.services.core import audit, outbox
from crm_app.services.core.actors import Actor, fetch_owned, require_admin_of, require_role

MAX_CAPACITY = 100


class LastAdmin(PermissionDenied):
    """The change would leave the tenant without an active admin."""

    code = "last_admin"


class OwnAccount(CRMError):
    """An admin tried on themselves what only makes sense for someone else (e.g. a reset link)."""

    code = "own_account"
    status = 409


@dataclass(frozen=True)
class UserRow:
    """A user as admins see them on the users page (never the password hash)."""

    id: int
    name: str
    email: str
    role: str
    is_active: bool
    last_login_at: dt.datetime | None
    two_factor: bool = False
    # A live invite or reset link is waiting to be used.
    link_pending: bool = False
    capacity: int = 10
    created_at: dt.datetime | None = None
    # Set by create_user and reset_password: the new link was e-mailed to the person (else only shown).
    link_emailed: bool = False


def _row(user: User) -> UserRow:
    expires = user.password_token_expires_at
    return UserRow(user.id, user.name, user.email, str(user.role), user.is_active, user.last_login_at,
                   two_factor=user.totp_enabled_at is not None,
                   link_pending=user.password_token_hash is not None and expires is not None and expires > utcnow(),
                   capacity=user.capacity, created_at=user.created_at)


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with `email` across tenants, or None."""
    return session.exec(select(User).where(User.email == normalize_email(email))).first()


def access_user(session: Session, *, actor: Actor, user_id: int) -> User:
    """The user `user_id` of the actor's tenant; NotFound otherwise."""
    return fetch_owned(session, User, user_id, actor=actor, what="user")


def _validate_identity(email: str, name: str, role: str) -> None:
    if not name.strip() or len(name.strip()) > 120:
        raise ValidationError("name must have 1 to 120 characters", field="name")
    if not is_email(email):
        raise ValidationError("invalid e-mail address", field="email")
    if role not in {r.value for r in Role}:
        raise ValidationError("role must be admin, supervisor or attendant", field="role")


def _validate_new_user(email: str, name: str, role: str, password: str) -> None:
    _validate_identity(email, name, role)
    problem = password_problem(password)
    if problem:
        raise ValidationError(problem, field="password")


def ensure_user(
    session: Session,
    *,
    actor: Actor | None,
    tenant_id: int,
    email: str,
    name: str,
    role: str,
    password: str,
    is_platform_operator: bool = False,
) -> tuple[UserRow, bool]:
    """Create a user unless the e-mail exists. Returns (user, created).

    An acting user must be an admin of `tenant_id`, and their password must pass the full policy; None is the
    system (CLI, seed, tests), which only gets the length check, so the demo's known password keeps working.
    """
    require_admin_of(actor, tenant_id)
    email = normalize_email(email)
    _validate_new_user(email, name, role, password)
    if actor is not None:
        passwords.check_strength(password, email=email, name=name)
    existing = find_user_by_email(session, email)
    if existing is not None:
        if existing.tenant_id != tenant_id:
            raise ValidationError("e-mail already used by another account")
        return _row(existing), False
    user = User(tenant_id=tenant_id, email=email, name=name.strip(), role=Role(role),
                password_hash=passwords.hash_password(password), is_platform_operator=is_platform_operator)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, tenant_id=tenant_id, action="user.create", target_type="user",
                 target_id=user.id, after={"email": email, "role": role})
    outbox.emit(session, tenant_id, "user.created", {"user_id": user.id, "role": str(user.role)})
    return _row(user), True


def create_user(
    session: Session, *, actor: Actor, email: str, name: str, role: str, password: str | None = None,
) -> tuple[UserRow, str | None]:
    """An admin adds someone to their tenant. Returns (user, invite token or None).

    With a password, it must pass the policy and the person can log in at once. Without one, the person gets a
    one-time link (72 h) to choose it, e-mailed when the tenant can send e-mail (`UserRow.link_emailed`); the
    caller also shows it once, as a fallback.
    """
    require_role(actor, Role.ADMIN)
    email, name = normalize_email(email), name.strip()
    _validate_identity(email, name, role)
    if password:
        passwords.check_strength(password, email=email, name=name)
    if find_user_by_email(session, email) is not None:  # one answer whichever tenant has it
        raise Conflict("e-mail already in use", field="email")
    user = User(tenant_id=actor.tenant_id, email=email, name=name, role=Role(role),
                password_hash=passwords.hash_password(password) if password else passwords.unusable_password(),
                password_changed_at=utcnow() if password else None)
    session.add(user)
    session.flush()
    token = None if password else invites.issue_link(session, user=user)
    emailed = token is not None and invites.email_link(session, user=user, token=token, inviter=actor.name)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="user.create", target_type="user",
                 target_id=user.id, after={"name": name, "email": email, "role": role,
                                           "method": "password" if password else "invite_link",
                                           **({"link_emailed": emailed} if token else {})})
    outbox.emit(session, actor.tenant_id, "user.created", {"user_id": user.id, "role": str(user.role)})
    return replace(_row(user), link_emailed=emailed), token


def list_users(session: Session, *, actor: Actor) -> list[UserRow]:
    """Every user of the actor's tenant; admins and supervisors only."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    query = select(User).where(User.tenant_id == actor.tenant_id).order_by(User.name, User.id)
    return [_row(u) for u in session.exec(query)]


def get_user(session: Session, *, actor: Actor, user_id: int) -> UserRow:
    """One user of the actor's tenant."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    return _row(access_user(session, actor=actor, user_id=user_id))


def another_active_admin(session: Session, *, tenant_id: int, leaving_id: int) -> bool:
    """Whether an active admin other than `leaving_id` remains (for demotions from anywhere, SSO included).

    Locks the tenant row first, so concurrent admin changes in one tenant run one after the other.
    """
    session.exec(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update()).first()
    others = session.exec(select(func.count()).select_from(User).where(
        User.tenant_id == tenant_id, User.role == Role.ADMIN, User.is_active.is_(True),
        User.id != leaving_id)).one()
    return others > 0


def _keep_an_admin(session: Session, *, tenant_id: int, leaving_id: int) -> None:
    """Raise LastAdmin unless an active admin other than `leaving_id` remains."""
    if not another_active_admin(session, tenant_id=tenant_id, leaving_id=leaving_id):
        raise LastAdmin("the tenant must keep at least one active admin")


def change_role(session: Session, *, actor: Actor, user_id: int, role: str) -> UserRow:
    """Give a user of the actor's tenant another role; admins only. The last active admin keeps theirs."""
    require_role(actor, Role.ADMIN)
    user = access_user(session, actor=actor, user_id=user_id)
    if not can_manage_role(actor.role, role):
        raise ValidationError("role must be admin, supervisor or attendant", field="role")
    if str(user.role) == role:
        return _row(user)
    if user.role == Role.ADMIN and user.is_active:
        _keep_an_admin(session, tenant_id=actor.tenant_id, leaving_id=user.id)
    before = {"role": str(user.role)}
    user.role = Role(role)
    session.add(user)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="user.role_change",
                 target_type="user", target_id=user.id, before=before, after={"role": role})
    return _row(user)


def set_active(session: Session, *, actor: Actor, user_id: int, active: bool) -> UserRow:
    """Deactivate or reactivate a user. Deactivation ends every session, revokes the API tokens acting as the
    user or made by them (for good: reactivation does not revive them) and kills a pending link; the last
    active admin cannot be deactivated."""
    require_role(actor, Role.ADMIN)
    user = access_user(session, actor=actor, user_id=user_id)
    if user.is_active == active:
        return _row(user)
    if not active and user.role == Role.ADMIN:
        _keep_an_admin(session, tenant_id=actor.tenant_id, leaving_id=user.id)
    before = {"is_active": user.is_active}
    user.is_active = active
    if not active:
        invites.clear_link(user)
    session.add(user)
    if not active:
        sessions.revoke_user_sessions(session, user_id=user.id, actor=actor, reason="user_deactivated")
        api_tokens.revoke_user_tokens(session, actor=actor, user_id=user.id, reason="user_deactivated")
        outbox.emit(session, actor.tenant_id, "user.deactivated", {"user_id": user.id, "role": str(user.role)})
    audit.record(session, actor=actor, tenant_id=actor.tenant_id,
                 action="user.reactivate" if active else "user.deactivate",
                 target_type="user", target_id=user.id, before=before, after={"is_active": active})
    return _row(user)


def reset_password(session: Session, *, actor: Actor, user_id: int) -> tuple[UserRow, str]:
    """Lock a user out of their old password and sessions; returns (user, one-time link token to choose a new one).

    The old password stops working at once (the account may be compromised). The link is e-mailed when the
    tenant can send e-mail (`UserRow.link_emailed`). Admins change their own password on their account page.
    """
    require_role(actor, Role.ADMIN)
    user = access_user(session, actor=actor, user_id=user_id)
    if user.id == actor.user_id:
        raise OwnAccount("change your own password on your account page")
    if not user.is_active:
        raise ValidationError("reactivate the user first", field="active")
    user.password_hash = passwords.unusable_password()
    token = invites.issue_link(session, user=user)
    emailed = invites.email_link(session, user=user, token=token)
    revoked = sessions.revoke_user_sessions(session, user_id=user.id, actor=actor, reason="password_reset")
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="user.password_reset", target_type="user",
                 target_id=user.id, after={"sessions_revoked": revoked, "link_emailed": emailed,
                                           "link_expires_at": user.password_token_expires_at.isoformat()})
    return replace(_row(user), link_emailed=emailed), token


def set_capacity(session: Session, *, actor: Actor, user_id: int, capacity: int) -> UserRow:
    """How many conversations auto-assignment may give this person at once (0 to 100); admins only."""
    require_role(actor, Role.ADMIN)
    user = access_user(session, actor=actor, user_id=user_id)
    if not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
        raise ValidationError("capacity must be 0 to 100", field="capacity")
    if user.capacity == capacity:
        return _row(user)
    before = {"capacity": user.capacity}
    user.capacity = capacity
    session.add(user)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="user.capacity_change",
                 target_type="user", target_id=user.id, before=before, after={"capacity": capacity})
    return _row(user)
