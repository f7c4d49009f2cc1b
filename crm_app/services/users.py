"""Users of a tenant: created by admins or the CLI, listed and managed by admins."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import bcrypt
from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.domain.access import can_manage_role
from crm_app.domain.text import is_email, normalize_email, password_problem
from crm_app.errors import PermissionDenied, ValidationError
from crm_app.models import Role, User
from crm_app.services import audit
from crm_app.services.actors import Actor, fetch_owned, require_admin_of, require_role


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    role: str
    is_active: bool
    last_login_at: dt.datetime | None


def _row(user: User) -> UserRow:
    return UserRow(user.id, user.name, user.email, str(user.role), user.is_active, user.last_login_at)


def hash_password(password: str) -> str:
    """bcrypt with the configured cost. Slow by design: call it off the event loop."""
    rounds = get_settings().bcrypt_rounds
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, password_hash: str) -> bool:
    """Constant-time bcrypt check."""
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with `email` across tenants, or None."""
    return session.exec(select(User).where(User.email == normalize_email(email))).first()


def access_user(session: Session, *, actor: Actor, user_id: int) -> User:
    """The user `user_id` of the actor's tenant; NotFound otherwise."""
    return fetch_owned(session, User, user_id, actor=actor, what="user")


def _validate_new_user(email: str, name: str, role: str, password: str) -> None:
    if not is_email(email):
        raise ValidationError("invalid e-mail address")
    if not name.strip() or len(name) > 120:
        raise ValidationError("name must have 1 to 120 characters")
    if role not in {r.value for r in Role}:
        raise ValidationError("role must be admin, supervisor or attendant")
    problem = password_problem(password)
    if problem:
        raise ValidationError(problem)


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

    An acting user must be an admin of `tenant_id`; None is the system (CLI, seed).
    """
    require_admin_of(actor, tenant_id)
    email = normalize_email(email)
    _validate_new_user(email, name, role, password)
    existing = find_user_by_email(session, email)
    if existing is not None:
        if existing.tenant_id != tenant_id:
            raise ValidationError("e-mail already used by another account")
        return _row(existing), False
    user = User(tenant_id=tenant_id, email=email, name=name.strip(), role=Role(role),
                password_hash=hash_password(password), is_platform_operator=is_platform_operator)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, tenant_id=tenant_id, action="user.create", target_type="user",
                 target_id=user.id, after={"email": email, "role": role})
    return _row(user), True


def list_users(session: Session, *, actor: Actor) -> list[UserRow]:
    """Every user of the actor's tenant; admins and supervisors only."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    query = select(User).where(User.tenant_id == actor.tenant_id).order_by(User.name)
    return [_row(u) for u in session.exec(query)]


def get_user(session: Session, *, actor: Actor, user_id: int) -> UserRow:
    """One user of the actor's tenant."""
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    return _row(access_user(session, actor=actor, user_id=user_id))


def change_role(session: Session, *, actor: Actor, user_id: int, role: str) -> UserRow:
    """Give a user of the actor's tenant another role; admins only."""
    require_role(actor, Role.ADMIN)
    user = access_user(session, actor=actor, user_id=user_id)
    if not can_manage_role(actor.role, role):
        raise ValidationError("role must be admin, supervisor or attendant")
    if user.id == actor.user_id and role != Role.ADMIN:
        raise PermissionDenied("you cannot remove your own admin role")
    before = {"role": str(user.role)}
    user.role = Role(role)
    session.add(user)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="user.role_change",
                 target_type="user", target_id=user.id, before=before, after={"role": role})
    return _row(user)


def set_active(session: Session, *, actor: Actor, user_id: int, active: bool) -> UserRow:
    """Deactivate or reactivate a user; deactivation ends their sessions."""
    from crm_app.services import auth

    require_role(actor, Role.ADMIN)
    user = access_user(session, actor=actor, user_id=user_id)
    if user.id == actor.user_id and not active:
        raise PermissionDenied("you cannot deactivate yourself")
    before = {"is_active": user.is_active}
    user.is_active = active
    session.add(user)
    if not active:
        auth.revoke_user_sessions(session, user_id=user.id)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="user.set_active",
                 target_type="user", target_id=user.id, before=before, after={"is_active": active})
    return _row(user)
