"""Session lifetime rules (ASVS 4.0.3 3.3.2, level 2: 30 minutes idle, 12 hours absolute by default)."""

from __future__ import annotations

import datetime as dt


def is_session_live(
    *,
    now: dt.datetime,
    last_seen_at: dt.datetime,
    expires_at: dt.datetime,
    revoked_at: dt.datetime | None,
    idle: dt.timedelta,
    created_at: dt.datetime | None = None,
    absolute: dt.timedelta | None = None,
) -> bool:
    """A session lives until revoked, idle for `idle`, or past its absolute expiry.

    The absolute expiry is the earlier of `expires_at` (fixed at login) and `created_at + absolute` (the tenant's
    policy now), so shortening the policy also shortens sessions that are already open.
    """
    if revoked_at is not None:
        return False
    if now >= expires_at:
        return False
    if created_at is not None and absolute is not None and now >= created_at + absolute:
        return False
    return now - last_seen_at < idle


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_user_agent(user_agent: str | None) -> str:
    """A short "Browser · System" for the sessions list; "" when nothing is recognised."""
    ua = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in ua), "")
    system = next((name for marker, name in _SYSTEMS if marker in ua), "")
    return " · ".join(part for part in (browser, system) if part)
