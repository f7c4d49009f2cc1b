"""The audit trail, written in the same transaction as the change it records."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from crm_app.domain.audit_chain import details_digest
from crm_app.models import AuditDetail, AuditLog
from crm_app.services.core.actors import Actor, require_role


def record(
    session: Session,
    *,
    actor: Actor | None,
    tenant_id: int,
    action: str,
    target_type: str,
    target_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit entry to `session`; the caller commits it with the change.

    The entry keeps ids and codes; the actor's name and the before/after values go to `audit_details` under
    the entry's digest. The entry is inserted unsealed: the sealing job chains it within seconds, so writers
    never wait on one another for the chain.
    """
    label = (actor.label if actor else "system")[:160]
    before, after = _plain(before or {}), _plain(after or {})
    salt = secrets.token_hex(16)
    detail = AuditDetail(digest=details_digest(salt, label, before, after), tenant_id=tenant_id, salt=salt,
                         actor_label=label, before=before, after=after)
    row = AuditLog(
        tenant_id=tenant_id,
        actor_user_id=actor.user_id if actor else None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=actor.ip if actor else None,
        digest=detail.digest,
    )
    row.details = detail
    session.add(detail)
    session.add(row)
    return row


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """The values as JSON gives them back, so the digest computed now matches the one recomputed later."""
    return json.loads(json.dumps(values, ensure_ascii=False, default=str))


@dataclass(frozen=True)
class AuditEntry:
    """One audit row as the audit page shows it."""

    id: int
    created_at: dt.datetime
    actor_user_id: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    ip: str | None


@dataclass(frozen=True)
class AuditPage:
    """Newest first; `next_before_id` asks for the next (older) page, None at the end."""

    entries: list[AuditEntry]
    next_before_id: int | None


MAX_PAGE = 100


def list_entries(
    session: Session,
    *,
    actor: Actor,
    action: str | None = None,
    user_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """The actor's tenant's audit rows, newest first, filtered, by keyset on the id; admins only.

    `action` matches exactly, or a whole family with a trailing dot ("user."). `until` is exclusive.
    """
    require_role(actor, "admin")
    limit = max(1, min(int(limit), MAX_PAGE))
    query = select(AuditLog).where(AuditLog.tenant_id == actor.tenant_id)
    if action:
        query = query.where(AuditLog.action.startswith(action, autoescape=True) if action.endswith(".")
                            else AuditLog.action == action)
    if user_id is not None:
        query = query.where(AuditLog.actor_user_id == user_id)
    if since is not None:
        query = query.where(AuditLog.created_at >= since)
    if until is not None:
        query = query.where(AuditLog.created_at < until)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    rows = session.exec(query.order_by(AuditLog.id.desc()).limit(limit + 1)).all()
    entries = [_entry(r) for r in rows[:limit]]
    return AuditPage(entries, entries[-1].id if len(rows) > limit else None)


def list_actions(session: Session, *, actor: Actor) -> list[str]:
    """The distinct actions in the actor's tenant's log, for the filter; admins only."""
    require_role(actor, "admin")
    query = select(AuditLog.action).where(AuditLog.tenant_id == actor.tenant_id).distinct()
    return sorted(session.exec(query).all())


def _entry(row: AuditLog) -> AuditEntry:
    return AuditEntry(id=row.id, created_at=row.created_at, actor_user_id=row.actor_user_id,
                      actor_label=row.actor_label, action=row.action, target_type=row.target_type,
                      target_id=row.target_id, before=dict(row.before or {}), after=dict(row.after or {}), ip=row.ip)
