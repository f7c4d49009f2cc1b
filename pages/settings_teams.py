"""/settings/teams: admins keep teams, members, per-attendant capacity, assignment mode and business hours."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, field_error, page_header
from crm_app.state.settings_teams import TeamsSettingsState

S = TeamsSettingsState
T = S.t
WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")
STACK = rx.breakpoints(initial="column", sm="row")


def _section(title: str, *children, **props) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="3"), *children, spacing="3", width="100%"), width="100%",
                   **props)


# ---- header: choose, create, rename, delete -----------------------------------------------------------------

def _team_picker() -> rx.Component:
    return rx.flex(
        rx.text(T["teams.select"], size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(id="team-select", min_width="220px"),
            rx.select.content(rx.foreach(S.team_rows, lambda r: rx.select.item(r["name"], value=r["id"]))),
            value=S.selected_id, on_change=S.select_team,
        ),
        rx.hstack(
            rx.button(rx.icon("pencil", size=14), T["teams.rename"], variant="soft", color_scheme="gray",
                      on_click=S.open_rename, id="team-rename"),
            rx.tooltip(rx.icon_button(rx.icon("trash-2", size=15), variant="soft", color_scheme="red",
                                      aria_label=T["teams.delete"], on_click=S.ask_confirm(S.selected_id, S.team_name),
                                      id="team-delete"), content=T["teams.delete"]),
            rx.badge(T["teams.waiting"] + ": " + S.team_waiting, color_scheme="amber", variant="soft",
                     id="team-waiting"),
            spacing="2", align="center",
        ),
        gap="10px", align=rx.breakpoints(initial="start", sm="center"), direction=STACK, wrap="wrap",
        width="100%",
    )


def _name_dialog(open_var, on_open_change, title_key: str, value, on_change, error, on_submit, input_id: str,
                 submit_key: str) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T[title_key]),
            rx.vstack(
                rx.text(T["teams.name"], as_="label", size="2", weight="medium", html_for=input_id),
                rx.input(value=value, on_change=on_change, id=input_id, width="100%", max_length=80,
                         auto_complete="off", color_scheme=rx.cond(error != "", "red", "teal")),
                field_error(error, f"{input_id}-error"),
                rx.hstack(
                    rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                              type="button")),
                    rx.button(T[submit_key], on_click=on_submit, id=f"{input_id}-save", type="button"),
                    justify="end", spacing="3", width="100%", margin_top="12px",
                ),
                spacing="1", width="100%",
            ),
            max_width="440px",
        ),
        open=open_var, on_open_change=on_open_change,
    )


def _delete_dialog() -> rx.Component:
    return confirm_dialog(S, title="teams.delete_title", body="teams.delete_body", action="teams.delete",
                          on_confirm=S.confirm_delete, action_id="team-confirm-delete")


# ---- members ----------------------------------------------------------------------------------------------

def _member_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(row["name"], size="2", weight="medium"),
                                rx.text(row["email"], size="1", color_scheme="gray"), spacing="0")),
        rx.table.cell(rx.text(T["role." + row["role"].to(str)], size="2"), display=WIDE_ONLY),
        rx.table.cell(rx.input(default_value=row["capacity"], type="number", min=0, max=100, width="72px",
                               key=row["user_id"].to(str) + "-" + row["capacity"].to(str),
                               aria_label=T["teams.capacity"], class_name="member-capacity",
                               on_blur=lambda value: S.set_capacity(row["user_id"], value))),
        rx.table.cell(rx.text(row["load"], size="2"), display=WIDE_ONLY),
        rx.table.cell(rx.tooltip(rx.icon_button(rx.icon("user-minus", size=15), size="1", variant="soft",
                                                color_scheme="red", aria_label=T["teams.remove"],
                                                on_click=S.remove_member(row["user_id"]),
                                                class_name="member-remove"), content=T["teams.remove"])),
        align="center",
    )


def _members() -> rx.Component:
    table = rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(T["teams.member"]),
                rx.table.column_header_cell(T["teams.role"], display=WIDE_ONLY),
                rx.table.column_header_cell(T["teams.capacity"]),
                rx.table.column_header_cell(T["teams.load"], display=WIDE_ONLY),
                rx.table.column_header_cell(""),
            )),
            rx.table.body(rx.foreach(S.member_rows, _member_row)),
            variant="surface", width="100%", id="members-table",
        ),
        width="100%", overflow_x="auto",
    )
    add = rx.flex(
        rx.select.root(
            rx.select.trigger(placeholder=T["teams.pick_member"], id="member-add-select", min_width="200px"),
            rx.select.content(rx.foreach(S.candidate_rows, lambda r: rx.select.item(r["name"], value=r["id"]))),
            value=S.add_user_id, on_change=S.set_add_user_id,
        ),
        rx.button(rx.icon("user-plus", size=14), T["teams.add_member"], on_click=S.add_member, id="member-add"),
        gap="8px", wrap="wrap", align="center",
    )
    mode = rx.flex(
        rx.text(T["teams.mode"], size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(id="team-mode", min_width="220px"),
            rx.select.content(rx.select.item(T["teams.mode.round_robin"], value="round_robin"),
                              rx.select.item(T["teams.mode.least_load"], value="least_load")),
            value=S.team_mode, on_change=S.set_mode,
        ),
        gap="8px", align=rx.breakpoints(initial="start", sm="center"), direction=STACK,
    )
    return _section(
        T["teams.members"], mode,
        rx.cond(S.member_rows.length() > 0, table,
                empty_state("users", "teams.no_members", empty_id="members-empty", compact=True)),
        rx.text(T["teams.capacity_hint"], size="1", color_scheme="gray"),
        add, id="members-card",
    )


# ---- schedule -------------------------------------------------------------------------------------------------

def _time(value, index, field: str, label) -> rx.Component:
    return rx.input(type="time", value=value, on_change=lambda v: S.set_day(index, field, v), width="110px",
                    aria_label=label, class_name=f"hours-{field}")


def _day_row(row: rx.Var, index: rx.Var) -> rx.Component:
    label = T["teams.day." + row["day"].to(str)]
    first = rx.hstack(_time(row["s1"], index, "s1", label), rx.text(T["teams.to"], size="1"),
                      _time(row["e1"], index, "e1", label), align="center", spacing="2")
    second = rx.cond(
        row["two"] != "",
        rx.hstack(_time(row["s2"], index, "s2", label), rx.text(T["teams.to"], size="1"),
                  _time(row["e2"], index, "e2", label), align="center", spacing="2"),
    )
    return rx.flex(
        rx.box(rx.checkbox(label, checked=row["open"] != "", on_change=lambda v: S.set_day(index, "open", v),
                           id="day-" + row["day"].to(str)), min_width="110px"),
        rx.cond(
            row["open"] != "",
            rx.flex(first, second,
                    rx.checkbox(T["teams.second_interval"], size="1", checked=row["two"] != "",
                                on_change=lambda v: S.set_day(index, "two", v)),
                    gap="8px", wrap="wrap", align="center"),
            rx.text(T["teams.closed_day"], size="2", color_scheme="gray"),
        ),
        rx.cond(row["error"] != "", rx.icon("circle-alert", color="var(--red-9)", size=16)),
        gap="10px", align=rx.breakpoints(initial="start", sm="center"), direction=STACK, width="100%",
        padding_y="4px", border_bottom="1px solid var(--gray-a4)", class_name="hours-day",
    )


def _holidays() -> rx.Component:
    chips = rx.flex(
        rx.foreach(S.holiday_chips, lambda d: rx.badge(
            d["shown"], rx.icon("x", size=12, cursor="pointer", on_click=S.remove_holiday(d["iso"]),
                                aria_label=T["teams.remove"]),
            variant="soft", color_scheme="gray", size="2", class_name="holiday-chip")),
        gap="6px", wrap="wrap",
    )
    return rx.vstack(
        rx.text(T["teams.holidays"], size="2", weight="medium"),
        rx.text(T["teams.holidays_help"], size="1", color_scheme="gray"),
        rx.cond(S.holiday_list.length() > 0, chips, rx.text(T["teams.no_holidays"], size="1",
                                                             color_scheme="gray")),
        rx.hstack(rx.input(type="date", value=S.new_holiday, on_change=S.set_new_holiday, id="holiday-input",
                           width="170px", color_scheme=rx.cond(S.holidays_error != "", "red", "teal")),
                  rx.button(rx.icon("plus", size=14), T["teams.add_holiday"], variant="soft", on_click=S.add_holiday,
                            id="holiday-add"), spacing="2", align="center", wrap="wrap"),
        field_error(S.holidays_error, "holidays-error"),
        spacing="2", width="100%",
    )


def _schedule() -> rx.Component:
    timezone = rx.vstack(
        rx.text(T["teams.timezone"], size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(id="team-timezone", min_width="220px"),
            rx.select.content(rx.foreach(S.timezone_options, lambda z: rx.select.item(z, value=z))),
            value=S.shown_tz, on_change=S.set_team_tz,
        ),
        rx.text(T["teams.timezone_default"].replace("{tz}", S.tenant_tz), size="1", color_scheme="gray"),
        spacing="1",
    )
    message = rx.vstack(
        rx.text(T["teams.ooh"], as_="label", size="2", weight="medium", html_for="team-ooh"),
        rx.text_area(value=S.ooh_message, on_change=S.set_ooh_message, id="team-ooh", rows="3", width="100%",
                     max_length=1000, placeholder=T["teams.ooh_placeholder"],
                     color_scheme=rx.cond(S.ooh_error != "", "red", "teal")),
        field_error(S.ooh_error, "ooh-error"),
        spacing="1", width="100%",
    )
    return _section(
        T["teams.hours"],
        rx.text(T["teams.hours_help"], size="1", color_scheme="gray"),
        rx.vstack(rx.foreach(S.day_rows, _day_row), spacing="0", width="100%", id="hours-days"),
        field_error(S.hours_error, "hours-error"),
        timezone, _holidays(), message,
        rx.hstack(
            rx.cond(S.schedule_dirty, rx.badge(T["teams.unsaved"], color_scheme="amber", variant="soft")),
            rx.button(rx.icon("save", size=14), T["teams.save_schedule"], on_click=S.save_schedule,
                      id="schedule-save"),
            justify="end", align="center", spacing="3", width="100%",
        ),
        id="schedule-card",
    )


def _assigned() -> rx.Component:
    """What the customer hears when the bot's handoff gives the conversation to one of the team at once."""
    return _section(
        T["teams.assigned"],
        rx.text(T["teams.assigned_help"], size="1", color_scheme="gray"),
        rx.text_area(value=S.assigned_message, on_change=S.set_assigned_message, id="team-assigned", rows="2",
                     width="100%", max_length=1000, placeholder=T["teams.assigned_placeholder"],
                     aria_label=T["teams.assigned"],
                     color_scheme=rx.cond(S.assigned_error != "", "red", "teal")),
        field_error(S.assigned_error, "assigned-error"),
        rx.hstack(rx.button(rx.icon("save", size=14), T["teams.save_assigned"], on_click=S.save_assigned_message,
                            id="assigned-save"), justify="end", width="100%"),
        id="assigned-card",
    )


@app_page("/settings/teams", "Equipes · Atende CRM", on_load=[TeamsSettingsState.load])
def settings_teams_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/teams",
        rx.vstack(
            settings_tabs("/settings/teams"),
            page_header("teams.title", "teams.help",
                        rx.button(rx.icon("plus", size=16), T["teams.new"], on_click=S.open_new, id="team-new")),
            rx.cond(
                S.teams_loaded,
                rx.cond(S.team_rows.length() > 0,
                        rx.vstack(_team_picker(), _members(), _schedule(), _assigned(), spacing="3",
                                  width="100%"),
                        empty_state("users", "teams.empty", empty_id="teams-empty")),
                rx.skeleton(height="120px", width="100%"),
            ),
            _name_dialog(S.new_open, S.set_new_open, "teams.new_title", S.new_name, S.set_new_name, S.new_error,
                         S.create, "team-new-name", "teams.create"),
            _name_dialog(S.rename_open, S.set_rename_open, "teams.rename_title", S.rename_name, S.set_rename_name,
                         S.rename_error, S.rename, "team-rename-name", "settings.save"),
            _delete_dialog(),
            spacing="3", width="100%", max_width="960px",
        ),
    )
