"""/settings/canned: supervisors and admins create, edit and delete canned responses."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, form_row, page_header
from crm_app.state.settings_canned import VARIABLES, CannedSettingsState

S = CannedSettingsState
T = S.t
WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")
CLAMP = {"display": "-webkit-box", "-webkit-line-clamp": "2", "-webkit-box-orient": "vertical",
         "overflow": "hidden", "white-space": "pre-wrap", "word-break": "break-word"}


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code("/" + row["short_code"].to(str), size="2", white_space="nowrap")),
        rx.table.cell(rx.text(row["content"], size="2", style=CLAMP), min_width="160px"),
        rx.table.cell(rx.text(row["updated_at"], size="2", color_scheme="gray", white_space="nowrap"),
                      display=WIDE_ONLY),
        rx.table.cell(rx.hstack(
            rx.tooltip(rx.icon_button(rx.icon("pencil", size=15), size="1", variant="soft",
                                      aria_label=T["canned.edit"], on_click=S.open_edit(row["id"]),
                                      class_name="canned-edit"), content=T["canned.edit"]),
            rx.tooltip(rx.icon_button(rx.icon("trash-2", size=15), size="1", variant="soft", color_scheme="red",
                                      aria_label=T["canned.delete"],
                                      on_click=S.ask_confirm(row["id"], "/" + row["short_code"]),
                                      class_name="canned-delete"), content=T["canned.delete"]),
            spacing="2",
        )),
        align="center",
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(T["canned.shortcut"]), rx.table.column_header_cell(T["canned.content"]),
                rx.table.column_header_cell(T["canned.updated"], display=WIDE_ONLY),
                rx.table.column_header_cell(T["canned.actions"]),
            )),
            rx.table.body(rx.foreach(S.canned_rows, _row)),
            variant="surface", width="100%", id="canned-table",
        ),
        width="100%", overflow_x="auto",
    )


def _variable_chip(name: str) -> rx.Component:
    return rx.button(
        rx.code("{{" + name + "}}", variant="ghost", size="1"), rx.text(T[f"canned.var.{name}"], size="1"),
        size="1", variant="surface", color_scheme="gray", type="button", on_click=S.insert_variable(name),
        id=f"canned-var-{name}",
    )


def _form_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing_id != "", T["canned.edit_title"], T["canned.new_title"])),
            rx.vstack(
                form_row("canned.shortcut",
                         rx.input(rx.input.slot(rx.text("/", weight="bold")), value=S.form_code,
                                  on_change=S.set_form_code, id="canned-code", width="100%", max_length=40,
                                  auto_complete="off", color_scheme=rx.cond(S.code_error != "", "red", "teal")),
                         "canned-code", error=S.code_error, hint="canned.shortcut_hint"),
                form_row("canned.content",
                         rx.text_area(value=S.form_content, on_change=S.set_form_content, id="canned-content",
                                      rows="6", width="100%", max_length=4096, resize="vertical",
                                      color_scheme=rx.cond(S.content_error != "", "red", "teal")),
                         "canned-content", error=S.content_error, margin_top="8px"),
                rx.text(T["canned.variables"], size="1", color_scheme="gray", margin_top="4px"),
                rx.flex(*[_variable_chip(v) for v in VARIABLES], wrap="wrap", gap="6px"),
                rx.hstack(
                    rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                              type="button")),
                    rx.button(T["settings.save"], on_click=S.save, id="canned-save", type="button"),
                    justify="end", spacing="3", width="100%", margin_top="12px",
                ),
                spacing="1", width="100%",
            ),
            max_width="560px",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


def _delete_dialog() -> rx.Component:
    return confirm_dialog(S, title="canned.delete_title", body="canned.delete_body", action="canned.delete",
                          on_confirm=S.confirm_delete, action_id="canned-confirm-delete", label_as_code=True)


@app_page("/settings/canned", "Respostas rápidas · Atende CRM", on_load=[CannedSettingsState.load])
def settings_canned_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/canned",
        rx.vstack(
            settings_tabs("/settings/canned"),
            page_header("canned.title", "canned.help",
                        rx.button(rx.icon("plus", size=16), T["canned.new"], on_click=S.open_new, id="canned-new")),
            rx.cond(
                S.canned_loaded,
                rx.cond(S.canned_rows.length() > 0, _table(),
                        empty_state("message-square-plus", "canned.empty", empty_id="canned-empty")),
                rx.skeleton(height="120px", width="100%"),
            ),
            _form_dialog(),
            _delete_dialog(),
            spacing="3", width="100%", max_width="960px",
        ),
    )
