"""The acting user, as every service call receives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session

from crm_app.errors import NotAuthenticated, NotFound, PermissionDenied

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user of one tenant, re-derived from the session each time."""

    user_id: int
    tenant_id: int
    role: str
    name: str
    email: str
    is_platform_operator: bool = False
    locale: str = "pt-BR"
    ip: str | None = None
    timezone: str = "America/Sao_Paulo"  # the tenant's, for showing times

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>"


def require_role(actor: Actor | None, *roles: str) -> Actor:
    """Return `actor` if it holds one of `roles`, else raise."""
    if actor is None:
        raise NotAuthenticated()
    if actor.role not in roles:
        raise PermissionDenied()
    return actor


def require_admin_of(actor: Actor | None, tenant_id: int) -> None:
    """None is the system (CLI, seed); a user must be an admin of `tenant_id`."""
    if actor is None:
        return
    require_role(actor, "admin")
    if actor.tenant_id != tenant_id:
        raise NotFound("tenant not found")


def fetch_owned(session: Session, model: type[T], object_id: int, *, actor: Actor, what: str) -> T:
    """The row `object_id` of `model` if it belongs to the actor's tenant.

    A missing row and another tenant's row get the same NotFound.
    """
    row = session.get(model, object_id)
    if row is None or row.tenant_id != actor.tenant_id:
        raise NotFound(f"{what} not found")
    return row
