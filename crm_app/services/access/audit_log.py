"""The audit-log page's read model: its filter choices and the first page of entries, from one snapshot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from crm_app.services.access.users import UserRow, list_users
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor


@dataclass(frozen=True)
class AuditLogOverview:
    """The actions and users to filter by, and the newest entries matching the filters."""

    actions: list[str]
    users: list[UserRow]
    page: audit.AuditPage


def audit_log_overview(session: Session, *, actor: Actor, action: str | None = None, user_id: int | None = None,
                       since: dt.datetime | None = None, until: dt.datetime | None = None,
                       limit: int = 50) -> AuditLogOverview:
    """What /settings/audit shows when it (re)loads; admins only (checked by `audit.list_entries`).

    Args:
        session: The caller's session.
        actor: The admin reading their tenant's log.
        action: One action, or a family with a trailing dot; None for all.
        user_id: Only what this user did; None for everyone.
        since: Inclusive lower bound of `created_at`.
        until: Exclusive upper bound of `created_at`.
        limit: The page size.

    Returns:
        The filter choices and the first (newest) page.
    """
    page = audit.list_entries(session, actor=actor, action=action, user_id=user_id, since=since, until=until,
                              limit=limit)
    return AuditLogOverview(audit.list_actions(session, actor=actor), list_users(session, actor=actor), page)
