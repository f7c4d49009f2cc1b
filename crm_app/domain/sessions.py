"""Session lifetime rules."""

from __future__ import annotations

import datetime as dt


def is_session_live(
    *,
    now: dt.datetime,
    last_seen_at: dt.datetime,
    expires_at: dt.datetime,
    revoked_at: dt.datetime | None,
    idle: dt.timedelta,
) -> bool:
    """A session lives until revoked, idle for `idle`, or past its absolute expiry."""
    if revoked_at is not None:
        return False
    if now >= expires_at:
        return False
    return now - last_seen_at < idle
