"""/settings/audit: the tenant's audit log, newest first, filtered, paged by keyset."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.services import access, call
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState

ALL = "all"
PAGE_SIZE = 50
MAX_VALUE = 160


@dataclasses.dataclass
class ChangeView:
    """One field of an entry: `kind` is "changed", "added" or "removed"."""

    field: str = ""
    before: str = ""
    after: str = ""
    kind: str = "changed"


@dataclasses.dataclass
class EntryView:
    id: str = ""
    when: str = ""
    who: str = ""
    ip: str = ""
    action: str = ""
    action_label: str = ""
    target: str = ""
    changes: list[ChangeView] = dataclasses.field(default_factory=list)


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def parse_day(value: str, timezone: str, *, next_day: bool = False) -> dt.datetime | None:
    """Local midnight of a "YYYY-MM-DD" day (or of the day after), as an aware datetime; None if blank or bad."""
    try:
        day = dt.date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None
    if day is None:
        return None
    day = day + dt.timedelta(days=1) if next_day else day
    return dt.datetime.combine(day, dt.time(), tzinfo=_zone(timezone))


class AuditLogState(SessionState):
    """Filters and the entries shown so far, as plain view rows."""

    entries: list[EntryView] = []
    audit_loaded: bool = False
    next_before_id: str = ""
    filter_action: str = ALL
    filter_user: str = ALL
    date_from: str = ""
    date_to: str = ""
    period_error: str = ""
    action_options: list[dict[str, str]] = []
    user_options: list[dict[str, str]] = []
    _user_names: dict[int, str] = {}

    @rx.event
    def open_page(self):
        """on_load: start from the newest entries with no filter."""
        self.filter_action = self.filter_user = ALL
        self.date_from = self.date_to = self.period_error = ""
        return AuditLogState.load

    @rx.event
    @toast_errors
    def load(self):
        """The first page for the current filters, with the filter choices; admins only, checked here too."""
        self.entries, self.next_before_id = [], ""  # a failed load shows no stale entries
        actor = self._require("admin")
        overview = call(access.audit_log_overview, actor=actor, **self._filters(actor))
        page = overview.page if not self.period_error else audit.AuditPage([], None)
        self._user_names = {u.id: u.name for u in overview.users}
        self.action_options = [{"value": a, "label": self._action_label(a)} for a in overview.actions]
        self.user_options = [{"value": str(u.id), "label": f"{u.name} · {u.email}"} for u in overview.users]
        self.entries = [self._view(e, actor) for e in page.entries]
        self.next_before_id = str(page.next_before_id or "")
        self.audit_loaded = True
        return None

    @rx.event
    @toast_errors
    def load_more(self):
        """The next older page, after the last entry shown (keyset, so new rows never shift it)."""
        if not self.next_before_id.isdigit():
            return None
        actor = self._require("admin")
        filters = self._filters(actor)
        page = audit.AuditPage([], None) if self.period_error else \
            call(audit.list_entries, actor=actor, before_id=int(self.next_before_id), **filters)
        self.entries = [*self.entries, *[self._view(e, actor) for e in page.entries]]
        self.next_before_id = str(page.next_before_id or "")
        return None

    def _filters(self, actor: Actor) -> dict[str, Any]:
        """The service's filter arguments; sets `period_error` when the period ends before it starts."""
        since = parse_day(self.date_from, actor.timezone)
        until = parse_day(self.date_to, actor.timezone, next_day=True)
        bad_period = bool(since and until and until <= since)
        self.period_error = self.t["admin.audit.error.period"] if bad_period else ""
        return {"action": self.filter_action if self.filter_action != ALL else None,
                "user_id": int(self.filter_user) if self.filter_user.isdigit() else None,
                "since": since, "until": until, "limit": PAGE_SIZE}

    @rx.event
    def set_filter_action(self, value: str):
        self.filter_action = value or ALL
        return AuditLogState.load

    @rx.event
    def set_filter_user(self, value: str):
        self.filter_user = value or ALL
        return AuditLogState.load

    @rx.event
    def set_date_from(self, value: str):
        self.date_from = value
        return AuditLogState.load

    @rx.event
    def set_date_to(self, value: str):
        self.date_to = value
        return AuditLogState.load

    @rx.event
    def clear_filters(self):
        return AuditLogState.open_page

    def _action_label(self, action: str) -> str:
        return self.t.get(f"audit.action.{action}", action)

    def _view(self, entry: audit.AuditEntry, actor: Actor) -> EntryView:
        who = self.t["admin.audit.system"] if entry.actor_label == "system" else entry.actor_label
        return EntryView(id=str(entry.id), when=format_local(entry.created_at, actor.timezone), who=who,
                         ip=entry.ip or "", action=entry.action, action_label=self._action_label(entry.action),
                         target=self._target(entry), changes=self._changes(entry.before, entry.after, actor))

    def _target(self, entry: audit.AuditEntry) -> str:
        if entry.target_type == "user" and entry.target_id and entry.target_id.isdigit():
            name = self._user_names.get(int(entry.target_id))
            if name:
                return name
        return f"{entry.target_type} #{entry.target_id}" if entry.target_id else entry.target_type

    def _changes(self, before: dict[str, Any], after: dict[str, Any], actor: Actor) -> list[ChangeView]:
        """Before and after, field by field, in words: unchanged fields are left out."""
        views = []
        for key in dict.fromkeys([*before, *after]):
            old = self._value(key, before[key], actor) if key in before else ""
            new = self._value(key, after[key], actor) if key in after else ""
            if key in before and key in after and old == new:
                continue
            kind = "changed" if key in before and key in after else ("added" if key in after else "removed")
            views.append(ChangeView(field=self.t.get(f"audit.field.{key}", key), before=old, after=new, kind=kind))
        return views

    def _value(self, key: str, value: Any, actor: Actor) -> str:
        if isinstance(value, bool):
            return self.t["admin.audit.yes" if value else "admin.audit.no"]
        if value is None:
            return "—"
        if key == "role" and isinstance(value, str):
            return self.t.get(f"role.{value}", value)
        if isinstance(value, str) and key.endswith("_at"):
            try:
                return format_local(dt.datetime.fromisoformat(value), actor.timezone)
            except ValueError:
                pass
        if isinstance(value, str):
            text = self.t.get(f"audit.value.{value}", value)
        else:
            text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"
