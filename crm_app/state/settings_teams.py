"""/settings/teams: admins keep teams, their members and capacities, assignment mode and business hours.

Every handler re-derives the actor from the cookie and lets the service check role and tenant again.
Vars are plain strings, lists and dicts (what the page shows); the services own the rules.
"""

from __future__ import annotations

import reflex as rx

from crm_app.domain.business_hours import WEEKDAYS
from crm_app.errors import Conflict, ValidationError
from crm_app.services import access, call, routing
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState

ROLES = ("admin",)
TIMEZONES = ("America/Sao_Paulo", "America/Bahia", "America/Fortaleza", "America/Recife", "America/Belem",
             "America/Manaus", "America/Cuiaba", "America/Campo_Grande", "America/Porto_Velho",
             "America/Rio_Branco", "America/Noronha", "Europe/Lisbon", "UTC")
_DAY_FIELDS = ("open", "s1", "e1", "s2", "e2")


def _empty_day(day: str) -> dict[str, str]:
    return {"day": day, "open": "", "s1": "09:00", "e1": "18:00", "s2": "", "e2": "", "two": "", "error": ""}


def days_from_hours(hours: dict) -> list[dict[str, str]]:
    """The seven editable rows of the weekly schedule (a day with no interval is closed)."""
    rows = []
    for day in WEEKDAYS:
        row = _empty_day(day)
        intervals = hours.get(day) or []
        if intervals:
            row.update(open="1", s1=intervals[0][0], e1=intervals[0][1])
        if len(intervals) > 1:
            row.update(two="1", s2=intervals[1][0], e2=intervals[1][1])
        rows.append(row)
    return rows


def hours_from_days(rows: list[dict[str, str]]) -> dict[str, list[list[str]]]:
    """The schedule as the service takes it; validation happens there."""
    hours: dict[str, list[list[str]]] = {}
    for row in rows:
        if not row.get("open"):
            continue
        intervals = [[row.get("s1", ""), row.get("e1", "")]]
        if row.get("two"):
            intervals.append([row.get("s2", ""), row.get("e2", "")])
        hours[row["day"]] = intervals
    return hours


class TeamsSettingsState(ConfirmMixin, SessionState):
    """The list of teams, the selected team's members and schedule, and the dialogs."""

    team_rows: list[dict[str, str]] = []
    teams_loaded: bool = False
    selected_id: str = ""
    team_name: str = ""
    team_mode: str = "round_robin"
    team_waiting: str = "0"
    member_rows: list[dict[str, str]] = []
    candidate_rows: list[dict[str, str]] = []
    add_user_id: str = ""
    day_rows: list[dict[str, str]] = []
    holiday_list: list[str] = []
    new_holiday: str = ""
    team_tz: str = ""
    tenant_tz: str = "America/Sao_Paulo"
    ooh_message: str = ""
    hours_error: str = ""
    holidays_error: str = ""
    ooh_error: str = ""
    schedule_dirty: bool = False
    assigned_message: str = ""
    assigned_error: str = ""
    # dialogs
    new_open: bool = False
    new_name: str = ""
    new_error: str = ""
    rename_open: bool = False
    rename_name: str = ""
    rename_error: str = ""

    @rx.var(cache=True)
    def timezone_options(self) -> list[str]:
        return list(TIMEZONES)

    @rx.var(cache=True)
    def shown_tz(self) -> str:
        return self.team_tz or self.tenant_tz

    @rx.var(cache=True)
    def holiday_chips(self) -> list[dict[str, str]]:
        """Holidays as Brazilians read them (dd/mm/aaaa), keeping the ISO date to remove them by."""
        return [{"iso": d, "shown": "/".join(reversed(d.split("-")))} for d in self.holiday_list]

    # ---- loading ---------------------------------------------------------------------------------------------

    @rx.event
    @toast_errors
    def load(self):
        """Fetch the teams again and show the selected one (the first when none is chosen)."""
        self.team_rows = []  # a failed load shows no stale rows
        team_id = int(self.selected_id) if self.selected_id.isdigit() else None
        overview = call(routing.teams_overview, actor=self._require(*ROLES), team_id=team_id)
        self.team_rows = [{"id": str(r.id), "name": r.name, "members": str(r.member_count)} for r in overview.teams]
        self.teams_loaded = True
        self._show_team(overview.selected)
        return None

    def _show_team(self, view: routing.TeamView | None) -> None:
        """Show one team with the users who could join it, or nothing when there is no team."""
        if view is None:
            self.selected_id = ""
            self.member_rows, self.candidate_rows, self.day_rows = [], [], []
            return
        self.selected_id = str(view.detail.id)
        self._show(view.detail)
        self.candidate_rows = [{"id": str(i), "name": n} for i, n in view.candidates]
        self.add_user_id = ""

    def _show(self, detail: routing.TeamDetail) -> None:
        self.team_name, self.team_mode, self.team_waiting = detail.name, detail.assignment_mode, str(detail.waiting)
        self.member_rows = [{"user_id": str(m.user_id), "name": m.name, "email": m.email, "role": m.role,
                             "capacity": str(m.capacity), "load": str(m.load)} for m in detail.members]
        self.day_rows = days_from_hours(detail.business_hours)
        self.holiday_list = list(detail.holidays)
        self.team_tz, self.tenant_tz = detail.timezone or "", detail.tenant_timezone
        self.ooh_message = detail.out_of_hours_message
        self.hours_error = self.holidays_error = self.ooh_error = self.new_holiday = ""
        self.schedule_dirty = False
        self.assigned_message, self.assigned_error = detail.assigned_message, ""

    @rx.event
    @toast_errors
    def select_team(self, team_id: str):
        """Show another team (unsaved schedule edits are dropped)."""
        self.selected_id = team_id
        view = call(routing.team_view, actor=self._require(*ROLES), team_id=int(team_id)) if team_id else None
        self._show_team(view)

    # ---- create, rename, delete ----------------------------------------------------------------------------

    @rx.event
    def open_new(self):
        self.new_open, self.new_name, self.new_error = True, "", ""

    @rx.event
    def set_new_open(self, is_open: bool):
        self.new_open = is_open

    @rx.event
    def set_new_name(self, value: str):
        self.new_name, self.new_error = value, ""

    @rx.event
    @toast_errors
    def create(self):
        """Create the team named in the dialog and select it."""
        actor = self._require(*ROLES)
        try:
            row = call(routing.create_team, actor=actor, name=self.new_name)
        except Conflict:
            self.new_error = self.t["teams.error.taken"]
            return None
        except ValidationError:
            self.new_error = self.t["teams.error.name"]
            return None
        self.new_open, self.selected_id = False, str(row.id)
        return [rx.toast.success(self.t["teams.created"]), TeamsSettingsState.load]

    @rx.event
    def open_rename(self):
        self.rename_open, self.rename_name, self.rename_error = True, self.team_name, ""

    @rx.event
    def set_rename_open(self, is_open: bool):
        self.rename_open = is_open

    @rx.event
    def set_rename_name(self, value: str):
        self.rename_name, self.rename_error = value, ""

    @rx.event
    @toast_errors
    def rename(self):
        actor = self._require(*ROLES)
        try:
            call(routing.rename_team, actor=actor, team_id=int(self.selected_id or 0), name=self.rename_name)
        except Conflict:
            self.rename_error = self.t["teams.error.taken"]
            return None
        except ValidationError:
            self.rename_error = self.t["teams.error.name"]
            return None
        self.rename_open = False
        return [rx.toast.success(self.t["teams.saved"]), TeamsSettingsState.load]

    @rx.event
    @toast_errors
    def confirm_delete(self):
        """Delete the team on screen, which the confirmation names."""
        self._take_confirm()
        call(routing.delete_team, actor=self._require(*ROLES), team_id=int(self.selected_id or 0))
        self.selected_id = ""
        return [rx.toast.success(self.t["teams.deleted"]), TeamsSettingsState.load]

    # ---- members, capacity, mode ----------------------------------------------------------------------------

    @rx.event
    def set_add_user_id(self, value: str):
        self.add_user_id = value

    @rx.event
    @toast_errors
    def add_member(self):
        if not self.add_user_id:
            return rx.toast.error(self.t["teams.error.pick_member"])
        call(routing.add_member, actor=self._require(*ROLES), team_id=int(self.selected_id or 0),
             user_id=int(self.add_user_id))
        return [rx.toast.success(self.t["teams.member_added"]), TeamsSettingsState.load]

    @rx.event
    @toast_errors
    def remove_member(self, user_id: str):
        call(routing.remove_member, actor=self._require(*ROLES), team_id=int(self.selected_id or 0),
             user_id=int(user_id))
        return [rx.toast.success(self.t["teams.member_removed"]), TeamsSettingsState.load]

    @rx.event
    @toast_errors
    def set_capacity(self, user_id: str, value: str):
        """Save one attendant's capacity when the field loses focus; a bad number is refused with a toast."""
        row = next((r for r in self.member_rows if r["user_id"] == user_id), None)
        if row is None or str(value).strip() == row["capacity"]:
            return None
        try:
            capacity = int(str(value).strip())
        except ValueError:
            return [rx.toast.error(self.t["teams.error.capacity"]), TeamsSettingsState.load]
        actor = self._require(*ROLES)
        try:
            call(access.set_capacity, actor=actor, user_id=int(user_id), capacity=capacity)
        except ValidationError:
            return [rx.toast.error(self.t["teams.error.capacity"]), TeamsSettingsState.load]
        row["capacity"] = str(capacity)
        self.member_rows = list(self.member_rows)
        return rx.toast.success(self.t["teams.capacity_saved"])

    @rx.event
    @toast_errors
    def set_mode(self, mode: str):
        self.team_mode = call(routing.set_assignment_mode, actor=self._require(*ROLES),
                              team_id=int(self.selected_id or 0), mode=mode)
        return rx.toast.success(self.t["teams.saved"])

    # ---- schedule -------------------------------------------------------------------------------------------

    @rx.event
    def set_day(self, index: int, field: str, value: str | bool):
        """Edit one cell of the weekly schedule (a checkbox gives a bool)."""
        if field not in (*_DAY_FIELDS, "two") or not 0 <= int(index) < len(self.day_rows):
            return
        rows = [dict(r) for r in self.day_rows]
        value = ("1" if value else "") if isinstance(value, bool) else str(value)
        rows[int(index)][field] = value
        if field == "two" and value:
            rows[int(index)]["s2"] = rows[int(index)]["s2"] or "13:00"
            rows[int(index)]["e2"] = rows[int(index)]["e2"] or "18:00"
        rows[int(index)]["error"] = ""
        self.day_rows, self.hours_error, self.schedule_dirty = rows, "", True

    @rx.event
    def set_new_holiday(self, value: str):
        self.new_holiday, self.holidays_error = value, ""

    @rx.event
    def add_holiday(self):
        value = self.new_holiday.strip()
        if not value:
            self.holidays_error = self.t["teams.error.holiday"]
            return
        if value not in self.holiday_list:
            self.holiday_list = sorted([*self.holiday_list, value])
        self.new_holiday, self.schedule_dirty = "", True

    @rx.event
    def remove_holiday(self, value: str):
        self.holiday_list = [d for d in self.holiday_list if d != value]
        self.schedule_dirty = True

    @rx.event
    def set_team_tz(self, value: str):
        self.team_tz = "" if value == self.tenant_tz else value
        self.schedule_dirty = True

    @rx.event
    def set_ooh_message(self, value: str):
        self.ooh_message, self.ooh_error, self.schedule_dirty = value, "", True

    @rx.event
    @toast_errors
    def save_schedule(self):
        """Save hours, holidays, timezone and the out-of-hours text; a problem is shown next to its field."""
        actor = self._require(*ROLES)
        try:
            detail = call(routing.update_schedule, actor=actor, team_id=int(self.selected_id or 0),
                          business_hours=hours_from_days(self.day_rows), holidays=self.holiday_list,
                          timezone=self.team_tz or None, out_of_hours_message=self.ooh_message)
        except ValidationError as exc:
            return self._schedule_error(exc)
        draft = self.assigned_message  # the card below may hold an unsaved edit: saving the hours keeps it
        self._show(detail)
        self.assigned_message = draft
        return rx.toast.success(self.t["teams.schedule_saved"])

    # ---- what the customer hears on assignment ------------------------------------------------------------

    @rx.event
    def set_assigned_message(self, value: str):
        self.assigned_message, self.assigned_error = value, ""

    @rx.event
    @toast_errors
    def save_assigned_message(self):
        """Save the text a customer hears when the bot's handoff gives them to one of the team at once."""
        actor = self._require(*ROLES)
        try:
            detail = call(routing.set_assigned_message, actor=actor, team_id=int(self.selected_id or 0),
                          message=self.assigned_message)
        except ValidationError:
            self.assigned_error = self.t["teams.error.assigned"]
            return rx.toast.error(self.t["teams.error.assigned"])
        self.assigned_message = detail.assigned_message
        return rx.toast.success(self.t["teams.assigned_saved"])

    def _schedule_error(self, exc: ValidationError):
        field = str(exc.params.get("field", ""))
        message = str(exc)
        if field == "business_hours":
            day = message.split(":", 1)[0]
            rows = [dict(r) for r in self.day_rows]
            for row in rows:
                if row["day"] == day:
                    row["error"] = self.t["teams.error.hours"]
            self.day_rows, self.hours_error = rows, self.t["teams.error.hours"]
        elif field == "holidays":
            self.holidays_error = self.t["teams.error.holiday"]
        elif field == "out_of_hours_message":
            self.ooh_error = self.t["teams.error.ooh"]
        return rx.toast.error(self.t["teams.error.schedule"])
