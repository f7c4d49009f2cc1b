"""The typed settings form and the settings history, shared by /settings/general and /platform/settings.

`state` is a page state that mixes in SettingsFormMixin and ConfirmMixin; `own_source` is the source of a
value set at the page's scope ("tenant" or "global"), the one "Usar padrão" removes.
"""

from __future__ import annotations

import reflex as rx

from components.confirm import confirm_dialog
from components.ui import field_error
from crm_app.state.session import SessionState

T = SessionState.t
SOURCE_COLORS = (("tenant", "teal"), ("global", "blue"), "gray")


def _control(state, row: rx.Var) -> rx.Component:
    disabled = row["editable"] == ""
    field_id = "setting-" + row["id"].to(str)
    text_input = rx.input(value=row["draft"], on_change=lambda v: state.set_field(row["key"], v), id=field_id,
                          disabled=disabled, width="100%", max_width="420px",
                          input_mode=rx.match(row["kind"], ("integer", "numeric"), ("number", "decimal"), "text"))
    secret_input = rx.input(value=row["draft"], on_change=lambda v: state.set_field(row["key"], v), id=field_id,
                            type="password", auto_complete="new-password", disabled=disabled, width="100%",
                            max_width="420px",
                            placeholder=rx.cond(row["configured"] == "1", T["settings_general.secret_keep"],
                                                T["settings_general.secret_new"]))
    return rx.match(
        row["kind"],
        ("switch", rx.switch(checked=row["draft"] == "true", on_change=lambda v: state.set_switch(row["key"], v),
                             id=field_id, disabled=disabled)),
        ("multi", rx.flex(rx.foreach(state.choice_rows, lambda c: rx.cond(
            c["key"] == row["key"],
            rx.checkbox(c["label"], checked=c["checked"] == "1", disabled=disabled,
                        on_change=lambda v: state.toggle_choice(c["key"], c["choice"], v),
                        id=field_id + "-" + c["choice"].to(str)),
        )), gap="16px", wrap="wrap", id=field_id)),
        ("select", rx.select.root(
            rx.select.trigger(id=field_id, min_width="200px"),
            rx.select.content(rx.foreach(state.choice_rows, lambda c: rx.cond(
                c["key"] == row["key"], rx.select.item(c["label"], value=c["choice"])))),
            value=row["draft"], on_change=lambda v: state.set_field(row["key"], v), disabled=disabled)),
        ("textarea", rx.text_area(value=row["draft"], on_change=lambda v: state.set_field(row["key"], v),
                                  id=field_id, disabled=disabled, width="100%", rows="4")),
        rx.cond(row["secret"] == "1", secret_input, text_input),
    )


def _badges(state, row: rx.Var, own_source: str) -> rx.Component:
    return rx.hstack(
        rx.badge(row["source_label"], color_scheme=rx.match(row["source"], *SOURCE_COLORS), variant="soft",
                 id="setting-source-" + row["id"].to(str)),
        rx.cond(row["secret"] == "1", rx.cond(
            row["configured"] == "1", rx.badge(T["settings_general.configured"], color_scheme="green"),
            rx.badge(T["settings_general.not_configured"], color_scheme="gray"))),
        rx.cond(row["inherit"] == "1", rx.badge(T["settings_general.will_inherit"], color_scheme="amber")),
        rx.cond((row["source"] == own_source) & (row["editable"] == "1") & (row["inherit"] == ""),
                rx.button(rx.icon("undo-2", size=14), T["settings_general.use_default"], size="1", variant="ghost",
                          on_click=state.use_default(row["key"]), id="setting-inherit-" + row["id"].to(str))),
        spacing="2", align="center", wrap="wrap",
    )


def _hint(row: rx.Var) -> rx.Component:
    extra = rx.cond(row["bounds"] != "", " " + T["settings_general.range"] + " " + row["bounds"].to(str) + ".", "")
    default = rx.cond((row["default"] != "") & (row["kind"] != "switch"),
                      " " + T["settings_general.default"] + " " + row["default"].to(str) + ".", "")
    return rx.text(row["help"].to(str) + extra + default, size="1", color_scheme="gray")


def _field(state, row: rx.Var, own_source: str) -> rx.Component:
    field_id = "setting-" + row["id"].to(str)
    return rx.vstack(
        rx.flex(rx.text(row["label"], as_="label", size="2", weight="medium", html_for=field_id),
                _badges(state, row, own_source), gap="8px", wrap="wrap", align="center",
                justify="between", width="100%"),
        _control(state, row),
        rx.cond(row["page"] != "", rx.link(T["settings_general.set_on_page"], href=row["page"], size="2",
                                           id="setting-page-" + row["id"].to(str))),
        rx.cond(row["error"] != "", field_error(row["error"], field_id + "-error"), _hint(row)),
        spacing="1", width="100%", padding_y="6px",
    )


def _category(state, category: rx.Var, own_source: str) -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading(category["label"], size="3", as_="h2"),
        rx.foreach(state.setting_rows, lambda row: rx.cond(row["category"] == category["id"],
                                                           _field(state, row, own_source))),
        spacing="2", width="100%",
    ), width="100%", id="settings-category-" + category["id"].to(str))


def settings_form(state, own_source: str) -> rx.Component:
    """The cards of settings by category, then the reason and Save."""
    return rx.vstack(
        rx.foreach(state.category_rows, lambda c: _category(state, c, own_source)),
        rx.box(rx.vstack(
            rx.text(T["settings_general.reason"], as_="label", size="2", weight="medium", html_for="settings-reason"),
            rx.input(value=state.reason, on_change=state.set_reason, id="settings-reason", width="100%",
                     placeholder=T["settings_general.reason_hint"], max_length=1000),
            rx.cond(state.form_error != "", rx.callout(state.form_error, icon="triangle-alert", color_scheme="red",
                                                       size="1", role="alert", id="settings-form-error")),
            rx.button(T["settings.save"], on_click=state.save, id="settings-save"),
            spacing="2", width="100%",
        ), width="100%", position="sticky", bottom="8px", z_index="1", padding="12px",
            background="var(--color-panel-solid)", border=f"1px solid {rx.color('slate', 6)}", border_radius="8px",
            box_shadow="0 -2px 12px rgba(0, 0, 0, 0.08)", id="settings-save-bar"),
        spacing="3", width="100%",
    )


def _change(state, row: rx.Var) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.vstack(
                rx.hstack(rx.text(row["label"], size="2", weight="medium"),
                          rx.cond(row["is_rollback"] == "1", rx.badge(T["settings_general.was_rollback"],
                                                                      color_scheme="amber", size="1")),
                          spacing="2", align="center", wrap="wrap"),
                rx.text(rx.code(row["old"]), " → ", rx.code(row["new"]), size="2"),
                rx.text(row["who"].to(str) + " · " + row["when"].to(str), size="1", color_scheme="gray"),
                rx.cond(row["reason"] != "", rx.text(T["settings_general.reason_label"] + " " + row["reason"].to(str),
                                                     size="1")),
                spacing="1", min_width="0",
            ),
            rx.button(rx.icon("history", size=14), T["settings_general.revert"], size="1", variant="soft",
                      color_scheme="amber", on_click=state.ask_revert(row["id"]),
                      id="settings-revert-" + row["id"].to(str)),
            direction=rx.breakpoints(initial="column", sm="row"), justify="between", gap="8px",
            align=rx.breakpoints(initial="start", sm="center"),
        ),
        padding="10px 0", border_bottom=f"1px solid {rx.color('slate', 5)}", width="100%",
    )


def settings_history(state) -> rx.Component:
    """The latest changes, newest first, each with "Reverter para este valor" behind a confirm dialog."""
    return rx.card(rx.vstack(
        rx.heading(T["settings_general.history"], size="3", as_="h2"),
        rx.cond(state.change_rows.length() > 0,
                rx.vstack(rx.foreach(state.change_rows, lambda r: _change(state, r)), spacing="0", width="100%",
                          id="settings-history"),
                rx.text(T["settings_general.history_empty"], size="2", color_scheme="gray")),
        confirm_dialog(state, title="settings_general.revert_title", body="settings_general.revert_body",
                       action="settings_general.revert", on_confirm=state.revert, action_id="settings-revert-confirm",
                       kind="revert", color="amber"),
        spacing="2", width="100%",
    ), width="100%", id="settings-history-card")
