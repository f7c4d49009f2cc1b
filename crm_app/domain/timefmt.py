"""Showing times the way Brazilian users read them: dd/mm/aaaa, 24-hour clock, in the tenant's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def format_local(moment: dt.datetime, timezone: str) -> str:
    """`moment` (aware) as "dd/mm/aaaa HH:MM" in `timezone`; UTC when the zone is unknown."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M")
