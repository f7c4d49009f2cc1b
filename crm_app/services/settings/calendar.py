"""A tenant's business-day calendar, from its settings: the state, the pontos facultativos and its own days."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm_app.domain.calendar import HolidayCalendar
from crm_app.services.settings.store import value


def tenant_calendar(tenant_id: int, *, team: Any = None, session: Session | None = None) -> HolidayCalendar:
    """The closed days of a tenant, plus the team's own (`team.holidays`, ISO dates) when a team is given.

    Reads three settings (`system.calendar_*`) through the cache; `session` is used only when the cache misses.
    """
    state = value(session, "system.calendar_state", tenant_id=tenant_id) or None
    calendar = HolidayCalendar(state=state,
                               count_optional=bool(value(session, "system.calendar_optional_closed",
                                                         tenant_id=tenant_id)))
    calendar = calendar.with_extra(value(session, "system.calendar_municipal_days", tenant_id=tenant_id) or [],
                                   kind="municipal")
    if team is not None and getattr(team, "holidays", None):
        calendar = calendar.with_extra(team.holidays, kind="team")
    return calendar
