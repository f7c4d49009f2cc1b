"""The acting user, as every service call receives it."""

from __future__ import annotations

from dataclasses import dataclass

from crm_app.errors import NotAuthenticated, PermissionDenied


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
