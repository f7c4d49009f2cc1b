"""RQ jobs: importable, context-free, ids only, idempotent."""

from __future__ import annotations

import datetime as dt

from sqlmodel import delete

from crm_app.db import session_scope, utcnow
from crm_app.models import UserSession

EXPIRED_SESSION_RETENTION = dt.timedelta(days=7)


def purge_expired_sessions() -> int:
    """Delete sessions that ended more than a week ago. Returns how many."""
    cutoff = utcnow() - EXPIRED_SESSION_RETENTION
    with session_scope() as session:
        result = session.exec(delete(UserSession).where(UserSession.expires_at < cutoff))
        revoked = session.exec(delete(UserSession).where(UserSession.revoked_at < cutoff))
    return (result.rowcount or 0) + (revoked.rowcount or 0)


def process_inbound_event(event_id: int) -> str:
    """Apply one stored webhook (idempotent: a processed event is skipped)."""
    from crm_app.services import inbound

    return inbound.process_inbound_event(event_id)


def sweep_inbound_events() -> int:
    """Re-enqueue webhooks that were stored but never processed (Redis down, worker killed)."""
    from crm_app.services import inbound

    return inbound.sweep_inbound_events()
