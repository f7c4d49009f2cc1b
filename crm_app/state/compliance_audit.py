"""/compliance/audit: the tenant's audit trail as sentences, searchable, paged by keyset, with the integrity check
and a CSV export."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import CRMError
from crm_app.services import call
from crm_app.services.audit import trail, verify
from crm_app.services.audit.roles import READERS
from crm_app.services.core.actors import Actor
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState

ALL = "all"
PAGE_SIZE = 50
MAX_VALUE = 160
VERIFY_WATCH_SECONDS = 1.5
VERIFY_WATCH_ROUNDS = 2400  # an hour: the job's timeout


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
    sentence: str = ""
    target: str = ""
    erased: bool = False
    sealed: bool = False
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
    filter_type: str = ALL
    filter_id: str = ""
    filter_ip: str = ""
    date_from: str = ""
    date_to: str = ""
    period_error: str = ""
    action_options: list[dict[str, str]] = []
    user_options: list[dict[str, str]] = []
    type_options: list[dict[str, str]] = []
    verify_message: str = ""
    verify_ok: bool = True
    verifying: bool = False
    verify_watching: bool = False

    @rx.event
    def moved(self):
        """/settings/audit: the trail moved to /compliance/audit."""
        return rx.redirect("/compliance/audit")

    @rx.event
    def open_page(self):
        """on_load: start from the newest entries with no filter."""
        self.filter_action = self.filter_user = self.filter_type = ALL
        self.filter_id = self.filter_ip = self.date_from = self.date_to = self.period_error = ""
        self.verify_message = ""
        return [AuditLogState.load, AuditLogState.watch_verification]  # the last check, or the one running

    @rx.event
    @toast_errors
    def load(self):
        """The first page for the current filters, with the filter choices; readers only, checked here too."""
        self.entries, self.next_before_id = [], ""  # a failed load shows no stale entries
        actor = self._require(*READERS)
        filters = self._filters(actor)
        overview = call(trail.trail_overview, actor=actor, filters=filters, locale=self.lang, limit=PAGE_SIZE)
        page = overview.page if not self.period_error else trail.TrailPage([], None)
        self.action_options = [{"value": a, "label": self._action_label(a)} for a in overview.actions]
        self.user_options = [{"value": str(uid), "label": label} for uid, label in overview.users]
        self.type_options = [{"value": t, "label": t} for t in overview.object_types]
        self.entries = [self._view(e, actor) for e in page.rows]
        self.next_before_id = str(page.next_before_id or "")
        self.audit_loaded = True
        return None

    @rx.event
    @toast_errors
    def load_more(self):
        """The next older page, after the last entry shown (keyset, so new rows never shift it)."""
        if not self.next_before_id.isdigit():
            return None
        actor = self._require(*READERS)
        filters = self._filters(actor)
        page = trail.TrailPage([], None) if self.period_error else \
            call(trail.search, actor=actor, filters=filters, before_id=int(self.next_before_id), limit=PAGE_SIZE)
        self.entries = [*self.entries, *[self._view(e, actor) for e in page.rows]]
        self.next_before_id = str(page.next_before_id or "")
        return None

    @rx.event
    @toast_errors
    def verify_chain(self):
        """Verificar integridade: queue the check of the whole chain; this tab then watches its status."""
        actor = self._require(*READERS)
        self._show_verification(call(verify.request_verification, actor=actor, now=dt.datetime.now(dt.UTC)))
        return AuditLogState.watch_verification

    @rx.event(background=True)
    async def watch_verification(self):
        """Show the check's progress, then its result, polling its status row (up to the job's hour)."""
        async with self:
            if self.verify_watching:
                return
            self.verify_watching = True
        try:
            for _ in range(VERIFY_WATCH_ROUNDS):
                async with self:
                    try:
                        pending = self._refresh_verification()
                    except CRMError:  # logged out or the role changed: stop, the page guard decides
                        pending = False
                if not pending:
                    break
                await asyncio.sleep(VERIFY_WATCH_SECONDS)
        finally:
            async with self:
                self.verify_watching = False

    def _refresh_verification(self) -> bool:
        """Read the tenant's check status into the page; True while it is queued or running."""
        status = call(verify.verification_status, actor=self._require(*READERS))
        self._show_verification(status)
        return self.verifying

    def _show_verification(self, status: verify.VerifyStatus) -> None:
        self.verifying = status.state in ("queued", "running")
        self.verify_ok = status.ok
        if status.state == "none":
            self.verify_message = ""
        elif status.state == "queued":
            self.verify_message = self.t["audit.verify.queued"]
        elif status.state == "running":
            self.verify_message = self.t["audit.verify.running"].format(checked=status.checked)
        elif status.ok:
            self.verify_message = self.t["audit.verify.ok"].format(checked=status.checked)
        else:
            self.verify_message = self.t["audit.verify.broken"].format(
                problem=self.t.get(f"audit.problem.{status.problem}", status.problem),
                entry=status.entry_id or "—", seq=status.seq or "—")

    @rx.event
    @toast_errors
    def export_csv(self):
        """The filtered trail as a CSV download (the download is recorded in the trail)."""
        actor = self._require(*READERS)
        text = call(trail.export_csv, actor=actor, filters=self._filters(actor), locale=self.lang)
        return rx.download(data=text, filename="auditoria.csv")

    def _filters(self, actor: Actor) -> trail.TrailFilter:
        """The service's filter; sets `period_error` when the period ends before it starts."""
        since = parse_day(self.date_from, actor.timezone)
        until = parse_day(self.date_to, actor.timezone, next_day=True)
        bad_period = bool(since and until and until <= since)
        self.period_error = self.t["admin.audit.error.period"] if bad_period else ""
        return trail.TrailFilter(
            actor_user_id=int(self.filter_user) if self.filter_user.isdigit() else None,
            action=self.filter_action if self.filter_action != ALL else None,
            target_type=self.filter_type if self.filter_type != ALL else None,
            target_id=self.filter_id.strip() or None, since=since, until=until, ip=self.filter_ip.strip() or None)

    @rx.event
    def set_filter_action(self, value: str):
        self.filter_action = value or ALL
        return AuditLogState.load

    @rx.event
    def set_filter_user(self, value: str):
        self.filter_user = value or ALL
        return AuditLogState.load

    @rx.event
    def set_filter_type(self, value: str):
        self.filter_type = value or ALL
        return AuditLogState.load

    @rx.event
    def set_filter_id(self, value: str):
        self.filter_id = value

    @rx.event
    def set_filter_ip(self, value: str):
        self.filter_ip = value

    @rx.event
    def search(self):
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

    def _view(self, row: trail.TrailRow, actor: Actor) -> EntryView:
        who = row.actor_name or self.t["admin.audit.system"]
        target = row.object_name or (f"{row.target_type} #{row.target_id}" if row.target_id else row.target_type)
        return EntryView(id=str(row.id), when=format_local(row.created_at, actor.timezone), who=who,
                         ip=row.ip or "", action=row.action, action_label=self._action_label(row.action),
                         sentence=trail.sentence(self.lang, row), target=target, erased=row.erased,
                         sealed=row.sealed, changes=self._changes(row.before, row.after, actor))

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
