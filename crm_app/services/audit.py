"""The audit trail, written in the same transaction as the change it records."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm_app.models import AuditLog
from crm_app.services.actors import Actor


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
    """Add one audit row to `session`; the caller commits it with the change."""
    row = AuditLog(
        tenant_id=tenant_id,
        actor_user_id=actor.user_id if actor else None,
        actor_label=actor.label if actor else "system",
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before or {},
        after=after or {},
        ip=actor.ip if actor else None,
    )
    session.add(row)
    return row
