"""/platform/tenants: platform operators list, create, suspend and reactivate tenants."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.platform_tabs import platform_tabs
from components.shell import shell
from components.ui import empty_state, form_row, page_header
from crm_app.state.platform_tenants import PlatformTenantsState

S = PlatformTenantsState
T = S.t
WIDE_ONLY = rx.breakpoints(initial="none", md="table-cell")
SM_UP = rx.breakpoints(initial="none", sm="table-cell")
PHONE_ONLY = rx.breakpoints(initial="flex", sm="none")


def _status(row: rx.Var) -> rx.Component:
    return rx.cond(
        row["status"] == "active",
        rx.badge(rx.icon("circle-check", size=12), T["admin.platform.active"], color_scheme="green"),
        rx.vstack(rx.badge(rx.icon("pause", size=12), T["admin.platform.suspended"], color_scheme="red"),
                  rx.text(row["since"], size="1", color_scheme="gray", white_space="nowrap"), spacing="1"),
    )


def _action(row: rx.Var) -> rx.Component:
    return rx.cond(
        row["is_own"] != "",
        rx.badge(T["admin.platform.own"], color_scheme="teal", variant="outline"),
        rx.cond(row["status"] == "active",
                rx.button(rx.icon("pause", size=14), T["admin.platform.suspend"], size="1", variant="soft",
                          color_scheme="red", on_click=S.ask_suspend(row["id"]), class_name="tenant-suspend"),
                rx.button(rx.icon("play", size=14), T["admin.platform.reactivate"], size="1", variant="soft",
                          on_click=S.reactivate(row["id"]), class_name="tenant-reactivate")),
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(
            rx.text(row["name"], weight="medium", size="2"),
            rx.code(row["slug"], size="1", variant="ghost", color_scheme="gray"),
            rx.hstack(_status(row), rx.text(row["users_label"], size="1", color_scheme="gray"),
                      spacing="2", align="center", margin_top="4px", display=PHONE_ONLY),
            spacing="0",
        )),
        rx.table.cell(rx.text(row["users"], size="2"), text_align="right", display=SM_UP),
        rx.table.cell(_status(row), display=SM_UP),
        rx.table.cell(rx.text(row["created"], size="2", color_scheme="gray", white_space="nowrap"), display=WIDE_ONLY),
        rx.table.cell(_action(row), text_align="right"),
        align="center", class_name="tenant-row", custom_attrs={"data-slug": row["slug"]},
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(T["admin.platform.col.name"]),
                rx.table.column_header_cell(T["admin.platform.col.users"], text_align="right", display=SM_UP),
                rx.table.column_header_cell(T["admin.platform.col.status"], display=SM_UP),
                rx.table.column_header_cell(T["admin.platform.col.created"], display=WIDE_ONLY),
                rx.table.column_header_cell(T["admin.platform.col.actions"], text_align="right"),
            )),
            rx.table.body(rx.foreach(S.tenant_rows, _row)),
            variant="surface", width="100%", id="tenants-table",
        ),
        width="100%", overflow_x="auto",
    )


def _input(label_key: str, input_id: str, value, on_change, error, hint: str | None = None,
           **props) -> rx.Component:
    return form_row(label_key,
                    rx.input(value=value, on_change=on_change, id=input_id, width="100%", auto_complete="off",
                             color_scheme=rx.cond(error != "", "red", "teal"), **props),
                    input_id, error=error, hint=hint, margin_top="8px")


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["admin.platform.form.title"]),
            rx.vstack(
                _input("admin.platform.form.name", "tenant-name", S.t_name, S.set_t_name, S.t_name_error,
                       max_length=120),
                _input("admin.platform.form.slug", "tenant-slug", S.t_slug, S.set_t_slug, S.t_slug_error,
                       hint="admin.platform.form.slug_hint", max_length=60),
                _input("admin.platform.form.admin_name", "tenant-admin-name", S.t_admin_name, S.set_t_admin_name,
                       S.t_admin_name_error, max_length=120),
                _input("admin.platform.form.admin_email", "tenant-admin-email", S.t_admin_email,
                       S.set_t_admin_email, S.t_admin_email_error, max_length=254, type="email"),
                rx.callout(T["admin.no_email_note"], icon="info", size="1", width="100%", margin_top="8px"),
                rx.hstack(
                    rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                              type="button")),
                    rx.button(T["admin.platform.form.create"], on_click=S.create_tenant, id="tenant-create",
                              type="button"),
                    justify="end", spacing="3", width="100%", margin_top="12px",
                ),
                spacing="1", width="100%",
            ),
            max_width="520px",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


def _link_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["admin.link.invite_title"]),
            rx.vstack(
                rx.text(S.link_body, size="2"),
                rx.text_area(value=S.link_url, read_only=True, id="tenant-link", width="100%", rows="3",
                             resize="none", spell_check=False, aria_label=T["admin.link.invite_title"],
                             style={"font-family": "ui-monospace, Menlo, Consolas, monospace",
                                    "word-break": "break-all"},
                             on_focus=rx.call_script("document.getElementById('tenant-link').select()")),
                rx.callout(T["admin.no_email_note"], icon="mail-x", color_scheme="amber", size="1", width="100%"),
                rx.text(T["admin.link.once"], size="1", color_scheme="gray"),
                rx.hstack(
                    rx.button(rx.icon("copy", size=15), T["admin.link.copy"], variant="soft", type="button",
                              on_click=[rx.set_clipboard(S.link_url), rx.toast.success(T["admin.link.copied"])]),
                    rx.button(T["admin.link.done"], on_click=S.close_link, id="tenant-link-done", type="button"),
                    justify="end", width="100%", spacing="3", margin_top="8px",
                ),
                spacing="3", width="100%",
            ),
            max_width="560px",
        ),
        open=S.link_open, on_open_change=S.set_link_open,
    )


def _suspend_dialog() -> rx.Component:
    return confirm_dialog(
        S, title=T["admin.platform.suspend.title"].to(str).replace("{name}", S.confirm_label),
        body="admin.platform.suspend.body", action="admin.platform.suspend", on_confirm=S.confirm_suspend,
        action_id="tenant-confirm-suspend", kind="suspend", show_label=False,
        type_prompt=T["admin.platform.suspend.type"].to(str).replace("{slug}", S.confirm_expect),
        type_id="tenant-suspend-typed",
    )


@app_page("/platform/tenants", "Empresas · Atende CRM", on_load=[PlatformTenantsState.guard])
def platform_tenants_page() -> rx.Component:
    return shell(
        T["nav.platform"], "/platform/tenants",
        rx.vstack(
            platform_tabs("/platform/tenants"),
            page_header("admin.platform.title", "admin.platform.help",
                        rx.button(rx.icon("building-2", size=16), T["admin.platform.new"], on_click=S.open_new,
                                  id="tenant-new")),
            rx.cond(
                S.tenants_loaded,
                rx.cond(S.tenant_rows.length() > 0, _table(),
                        empty_state("building-2", "admin.platform.empty", empty_id="tenants-empty")),
                rx.skeleton(height="160px", width="100%"),
            ),
            _create_dialog(),
            _link_dialog(),
            _suspend_dialog(),
            spacing="3", width="100%", max_width="1040px",
        ),
    )
