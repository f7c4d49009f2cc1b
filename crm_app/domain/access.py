"""Who may do what. Pure functions over roles."""

from __future__ import annotations

ROLE_RANK = {"attendant": 1, "supervisor": 2, "admin": 3}
# Roles beside the inbox's rank chain: they manage no conversation and see only their own area. One line per role.
LATERAL_ROLES: frozenset[str] = frozenset({
    "dpo",  # the encarregado (LGPD): /compliance
    "executive",  # reads analytics and the inbox for the whole tenant, changes nothing
})

# The sidebar and the page guards read this one table.
PAGE_ROLES: dict[str, frozenset[str]] = {
    "/": frozenset({"admin", "supervisor", "attendant"}),
    # Executives open it read-only (an analytics chart's conversations); "/" still sends them to /analytics.
    "/inbox": frozenset({"admin", "supervisor", "attendant", "executive"}),
    "/analytics": frozenset({"admin", "supervisor", "executive"}),
    "/analytics/exports": frozenset({"admin", "supervisor", "executive"}),
    "/analytics/me": frozenset({"admin", "supervisor", "attendant", "executive"}),
    "/compliance": frozenset({"admin", "dpo"}),
    "/compliance/requests": frozenset({"admin", "dpo"}),
    "/compliance/consents": frozenset({"admin", "dpo"}),
    "/compliance/retention": frozenset({"admin", "dpo"}),
    "/compliance/audit": frozenset({"admin", "dpo"}),
    "/compliance/incidents": frozenset({"admin", "dpo"}),
    "/settings": frozenset({"admin"}),
    "/settings/canned": frozenset({"admin", "supervisor"}),
    "/settings/sla": frozenset({"admin", "supervisor"}),
    "/settings/users": frozenset({"admin"}),
    "/settings/teams": frozenset({"admin"}),
    "/settings/security": frozenset({"admin"}),
    "/settings/sso": frozenset({"admin"}),
    "/settings/audit": frozenset({"admin"}),
    "/settings/bot": frozenset({"admin"}),
    "/settings/knowledge": frozenset({"admin"}),
    "/settings/numbers": frozenset({"admin"}),
    "/settings/email": frozenset({"admin"}),
    "/settings/webhooks": frozenset({"admin"}),
    "/settings/general": frozenset({"admin"}),
    # Every signed-in user: their own 2FA, password and sessions.
    "/account": frozenset({"admin", "supervisor", "attendant", "dpo", "executive"}),
    # Platform operators only; the guard also checks `is_platform_operator`.
    "/platform/tenants": frozenset({"admin"}),
    "/platform/settings": frozenset({"admin"}),
}


def can_open_page(role: str, route: str) -> bool:
    """True when a user with `role` may open `route`; unknown routes are closed."""
    allowed = PAGE_ROLES.get(route)
    return allowed is not None and role in allowed


def home_route(role: str) -> str:
    """Where a user of `role` lands after logging in (and when opening "/")."""
    return {"dpo": "/compliance", "executive": "/analytics"}.get(role, "/inbox")


def can_manage_role(actor_role: str, target_role: str) -> bool:
    """Only admins grant roles, and any role may be granted by them."""
    return actor_role == "admin" and (target_role in ROLE_RANK or target_role in LATERAL_ROLES)
