"""/platform/settings: the install's global settings (with history and rollback) and the settings templates."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.platform_tabs import platform_tabs
from components.settings_form import settings_form, settings_history
from components.shell import shell
from components.ui import empty_state, form_row, page_header
from crm_app.state.platform_settings import PlatformSettingsState

S = PlatformSettingsState
T = S.t


def _template(row: rx.Var) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.vstack(
                rx.text(row["name"], weight="medium", size="2"),
                rx.cond(row["description"] != "", rx.text(row["description"], size="1", color_scheme="gray")),
                rx.text(T["platform_settings.keys"].to(str).replace("{count}", row["count"].to(str)), size="1",
                        color_scheme="gray"),
                spacing="1", min_width="0",
            ),
            rx.hstack(
                rx.button(rx.icon("eye", size=14), T["platform_settings.preview"], size="1", variant="soft",
                          on_click=S.preview(row["id"]), id="template-preview-" + row["id"].to(str)),
                rx.button(rx.icon("pencil", size=14), T["platform_settings.edit"], size="1", variant="soft",
                          color_scheme="gray", on_click=S.open_template(row["id"])),
                rx.button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                          aria_label=T["platform_settings.delete"], on_click=S.ask_delete_template(row["id"])),
                spacing="2", wrap="wrap",
            ),
            direction=rx.breakpoints(initial="column", sm="row"), justify="between", gap="8px",
        ),
        padding="10px 0", border_bottom=f"1px solid {rx.color('slate', 5)}", width="100%",
        class_name="template-row",
    )


def _diff(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["label"], size="2")),
        rx.table.cell(rx.code(row["current"])),
        rx.table.cell(rx.code(row["new"])),
        rx.table.cell(rx.cond(row["changes"] == "1", rx.badge(T["platform_settings.changes"], color_scheme="amber"),
                              rx.badge(T["platform_settings.same"], color_scheme="gray"))),
        class_name="diff-row",
    )


def _preview() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(T["platform_settings.preview_for"], size="2", as_="label", html_for="preview-tenant"),
            rx.select.root(
                rx.select.trigger(id="preview-tenant", min_width="200px"),
                rx.select.content(rx.foreach(S.tenant_options, lambda o: rx.select.item(o["name"], value=o["id"]))),
                value=S.preview_tenant, on_change=S.set_preview_tenant,
            ),
            spacing="2", align="center", wrap="wrap",
        ),
        rx.cond(S.diff_rows.length() > 0, rx.vstack(
            rx.box(rx.table.root(
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(T["platform_settings.col_setting"]),
                    rx.table.column_header_cell(T["platform_settings.col_current"]),
                    rx.table.column_header_cell(T["platform_settings.col_new"]),
                    rx.table.column_header_cell(""),
                )),
                rx.table.body(rx.foreach(S.diff_rows, _diff)),
                variant="surface", width="100%", id="template-diff",
            ), width="100%", overflow_x="auto"),
            rx.button(rx.icon("check", size=14), T["platform_settings.apply"], on_click=S.apply,
                      id="template-apply"),
            spacing="2", width="100%",
        )),
        spacing="2", width="100%",
    )


def _templates() -> rx.Component:
    return rx.card(rx.vstack(
        rx.flex(rx.heading(T["platform_settings.templates"], size="3", as_="h2"),
                rx.button(rx.icon("plus", size=14), T["platform_settings.new_template"], size="2",
                          on_click=S.open_template(""), id="template-new"),
                justify="between", align="center", width="100%", gap="8px", wrap="wrap"),
        rx.text(T["platform_settings.templates_help"], size="2", color_scheme="gray"),
        rx.cond(S.template_rows.length() > 0,
                rx.vstack(rx.foreach(S.template_rows, _template), spacing="0", width="100%", id="templates-list"),
                empty_state("layout-template", "platform_settings.templates_empty", compact=True)),
        _preview(),
        spacing="3", width="100%",
    ), width="100%", id="templates-card")


def _editor() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["platform_settings.editor_title"]),
            rx.vstack(
                form_row("platform_settings.name", rx.input(value=S.tpl_name, on_change=S.set_tpl_name,
                                                            id="template-name", width="100%", max_length=120),
                         "template-name"),
                form_row("platform_settings.description",
                         rx.input(value=S.tpl_description, on_change=S.set_tpl_description,
                                  id="template-description", width="100%"), "template-description"),
                form_row("platform_settings.values",
                         rx.text_area(value=S.tpl_values, on_change=S.set_tpl_values, id="template-values",
                                      width="100%", rows="10", spell_check=False,
                                      style={"font-family": "ui-monospace, Menlo, Consolas, monospace"}),
                         "template-values", error=S.tpl_error, hint="platform_settings.values_help"),
                rx.hstack(
                    rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                              type="button")),
                    rx.button(T["settings.save"], on_click=S.save_template, id="template-save", type="button"),
                    justify="end", spacing="3", width="100%", margin_top="8px",
                ),
                spacing="2", width="100%",
            ),
            max_width="640px",
        ),
        open=S.editor_open, on_open_change=S.set_editor_open,
    )


@app_page("/platform/settings", "Configurações globais · Atende CRM", on_load=[PlatformSettingsState.guard])
def platform_settings_page() -> rx.Component:
    return shell(
        T["platform_settings.title"], "/platform/settings",
        rx.vstack(
            platform_tabs("/platform/settings"),
            page_header("platform_settings.title", "platform_settings.help"),
            rx.cond(S.form_loaded,
                    rx.flex(
                        rx.box(settings_form(S, "global"), flex="3", min_width="0", width="100%"),
                        rx.vstack(_templates(), settings_history(S), flex="2", min_width="0", width="100%",
                                  spacing="3"),
                        direction=rx.breakpoints(initial="column", lg="row"), gap="12px", width="100%",
                        align="start"),
                    rx.skeleton(height="240px", width="100%")),
            _editor(),
            confirm_dialog(S, title="platform_settings.delete_title", body="platform_settings.delete_body",
                           action="platform_settings.delete", on_confirm=S.delete_template,
                           action_id="template-delete-confirm", kind="delete_template"),
            spacing="3", width="100%", max_width="1200px",
        ),
    )
