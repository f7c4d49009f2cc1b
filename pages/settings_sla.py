"""/settings/sla: supervisors and admins create, edit and delete SLA policies."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, form_row, page_header
from crm_app.state.settings_sla import ANY, SlaSettingsState

S = SlaSettingsState
T = S.t
WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(
            rx.hstack(
                rx.text(row["name"], weight="medium", size="2"),
                rx.cond(row["default"] == "yes", rx.badge(T["sla.default"], color_scheme="teal")),
                rx.cond(row["enabled"] == "yes", rx.fragment(), rx.badge(T["sla.disabled"], color_scheme="gray")),
                spacing="2", align="center", wrap="wrap",
            ),
            rx.text(row["conditions"], size="1", color_scheme="gray"),
            spacing="1",
        ), min_width="180px"),
        rx.table.cell(rx.vstack(
            rx.text(row["targets"], size="2"),
            rx.text(row["clock"], size="1", color_scheme="gray"),
            rx.cond(row["escalation"] != "", rx.text(T["sla.escalation"], ": ", row["escalation"], size="1",
                                                     color_scheme="gray")),
            spacing="1",
        )),
        rx.table.cell(rx.text(row["position"], size="2"), display=WIDE_ONLY),
        rx.table.cell(rx.hstack(
            rx.tooltip(rx.icon_button(rx.icon("pencil", size=15), size="1", variant="soft",
                                      aria_label=T["sla.edit"], on_click=S.open_edit(row["id"]),
                                      class_name="sla-edit"), content=T["sla.edit"]),
            rx.tooltip(rx.icon_button(rx.icon("trash-2", size=15), size="1", variant="soft", color_scheme="red",
                                      aria_label=T["sla.delete"], on_click=S.ask_confirm(row["id"], row["name"]),
                                      class_name="sla-delete"), content=T["sla.delete"]),
            spacing="2",
        )),
        align="center", class_name="sla-row",
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(T["sla.policy"]), rx.table.column_header_cell(T["sla.targets"]),
                rx.table.column_header_cell(T["sla.order"], display=WIDE_ONLY),
                rx.table.column_header_cell(T["sla.actions"]),
            )),
            rx.table.body(rx.foreach(S.policy_rows, _row)),
            variant="surface", width="100%", id="sla-table",
        ),
        width="100%", overflow_x="auto",
    )


def _minutes(key: str, value: rx.Var, on_change, field_id: str) -> rx.Component:
    return form_row(key, rx.input(value=value, on_change=on_change, id=field_id, type="number", min="1",
                                  max="129600", width="100%", placeholder=T["sla.no_target"]), field_id)


def _select(key: str, value: rx.Var, options: rx.Var, on_change, field_id: str) -> rx.Component:
    return form_row(key, rx.select.root(
        rx.select.trigger(width="100%", id=field_id),
        rx.select.content(rx.select.item(T["sla.any"], value=ANY),
                          rx.foreach(options, lambda o: rx.select.item(o["name"], value=o["id"]))),
        value=value, on_change=on_change,
    ), field_id)


def _switch(key: str, checked: rx.Var, on_change, field_id: str) -> rx.Component:
    return rx.text(rx.hstack(rx.switch(checked=checked, on_change=on_change, id=field_id), T[key], spacing="2"),
                   as_="label", size="2")


def _conditions() -> rx.Component:
    return rx.cond(
        S.form_conditions_kept,
        rx.callout(T["sla.conditions_kept"], icon="info", size="1", color_scheme="gray"),
        rx.vstack(
            rx.grid(
                _select("sla.kind.number", S.form_number, S.number_options, S.set_form_number, "sla-number"),
                _select("sla.kind.team", S.form_team, S.team_options, S.set_form_team, "sla-team"),
                _select("sla.kind.label", S.form_label, S.label_options, S.set_form_label, "sla-label"),
                columns=rx.breakpoints(initial="1", sm="3"), gap="12px", width="100%",
            ),
            rx.grid(
                form_row("sla.attr_key", rx.input(value=S.form_attr_key, on_change=S.set_form_attr_key,
                                                  id="sla-attr-key", placeholder="plano", max_length=64,
                                                  width="100%"), "sla-attr-key"),
                form_row("sla.attr_value", rx.input(value=S.form_attr_value, on_change=S.set_form_attr_value,
                                                    id="sla-attr-value", placeholder="ouro", max_length=200,
                                                    width="100%"), "sla-attr-value"),
                columns="2", gap="12px", width="100%",
            ),
            spacing="2", width="100%",
        ),
    )


def _form_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing_id != "", T["sla.edit_title"], T["sla.new_title"])),
            rx.vstack(
                form_row("sla.field.name", rx.input(value=S.form_name, on_change=S.set_form_name, id="sla-name",
                                                    max_length=120, width="100%"), "sla-name"),
                rx.text(T["sla.targets_help"], size="1", color_scheme="gray"),
                rx.grid(
                    _minutes("sla.field.first_response_minutes", S.form_first, S.set_form_first, "sla-first"),
                    _minutes("sla.field.next_response_minutes", S.form_next, S.set_form_next, "sla-next"),
                    _minutes("sla.field.resolution_minutes", S.form_resolution, S.set_form_resolution,
                             "sla-resolution"),
                    columns=rx.breakpoints(initial="1", sm="3"), gap="12px", width="100%",
                ),
                _switch("sla.business_only", S.form_business_only, S.set_form_business_only, "sla-business"),
                rx.heading(T["sla.conditions"], size="2", margin_top="8px"),
                rx.text(T["sla.conditions_help"], size="1", color_scheme="gray"),
                _conditions(),
                rx.hstack(_switch("sla.is_default", S.form_default, S.set_form_default, "sla-default"),
                          _switch("sla.enabled", S.form_enabled, S.set_form_enabled, "sla-enabled"),
                          spacing="5", margin_top="8px"),
                rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                       size="1", id="sla-error", role="alert", width="100%")),
                rx.hstack(
                    rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                              type="button")),
                    rx.button(T["settings.save"], on_click=S.save, id="sla-save", type="button"),
                    justify="end", spacing="3", width="100%", margin_top="12px",
                ),
                spacing="2", width="100%",
            ),
            max_width="640px",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


def _delete_dialog() -> rx.Component:
    return confirm_dialog(S, title="sla.delete_title", body="sla.delete_body", action="sla.delete",
                          on_confirm=S.confirm_delete, action_id="sla-confirm-delete")


@app_page("/settings/sla", "SLA · Atende CRM", on_load=[SlaSettingsState.load])
def settings_sla_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/sla",
        rx.vstack(
            settings_tabs("/settings/sla"),
            page_header("sla.title", "sla.help",
                        rx.button(rx.icon("plus", size=16), T["sla.new"], on_click=S.open_new, id="sla-new")),
            rx.callout(T["sla.how_applied"], icon="info", size="1", color_scheme="gray", id="sla-how-applied"),
            rx.cond(
                S.sla_loaded,
                rx.cond(S.policy_rows.length() > 0, _table(), empty_state("timer", "sla.empty", empty_id="sla-empty")),
                rx.skeleton(height="120px", width="100%"),
            ),
            _form_dialog(),
            _delete_dialog(),
            spacing="3", width="100%", max_width="960px",
        ),
    )
