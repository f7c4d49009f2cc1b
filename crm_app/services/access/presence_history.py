"""Presence history: attendants' online and away stretches, for online hours and busy share.

Live presence stays in Redis (`routing.presence`); this keeps its history in PostgreSQL. A change of status
closes the open stretch and opens another; heartbeats move the open stretch's `last_seen_at` at most once a
minute; a stretch whose heartbeats stopped ends at its `last_seen_at`.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.models import PresenceInterval
from crm_app.queue import get_redis

log = logging.getLogger(__name__)

TOUCH_EVERY = 60
# A stretch not seen for this long is over: the next heartbeat starts a new one.
STALE = dt.timedelta(seconds=150)


def record_presence(tenant_id: int, user_id: int, status: str, *, changed: bool,
                    now: dt.datetime | None = None) -> None:
    """Note a heartbeat ("online", "away") or a logout ("offline"); never raises (history must not block presence).

    Args:
        tenant_id: The user's tenant.
        user_id: The user.
        status: "online", "away" or "offline".
        changed: Whether the live status just changed (or the user just came back).
        now: The moment (default: now).
    """
    now = now or utcnow()
    try:
        if not changed and not get_redis().set(f"crm:presence:touch:{tenant_id}:{user_id}", 1, nx=True,
                                               ex=TOUCH_EVERY):
            return
        with session_scope() as session:
            _apply(session, tenant_id, user_id, status, changed, now)
    except Exception as exc:  # the live presence already changed; history catches up at the next heartbeat
        log.warning("presence history of user %s not kept: %s", user_id, type(exc).__name__)


def _apply(session: Session, tenant_id: int, user_id: int, status: str, changed: bool, now: dt.datetime) -> None:
    current = session.exec(select(PresenceInterval).where(
        PresenceInterval.tenant_id == tenant_id, PresenceInterval.user_id == user_id,
        PresenceInterval.ended_at.is_(None)).order_by(PresenceInterval.started_at.desc()).with_for_update()).first()
    if current is not None and (changed or current.status != status or now - current.last_seen_at > STALE):
        current.ended_at = now if now - current.last_seen_at <= STALE else current.last_seen_at
        session.add(current)
        current = None
    if current is not None:
        current.last_seen_at = now
        session.add(current)
    elif status != "offline":
        session.add(PresenceInterval(tenant_id=tenant_id, user_id=user_id, status=status, started_at=now,
                                     last_seen_at=now))
