"""/settings/users: admins invite or create users, change roles, deactivate, reactivate and reset passwords."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, field_error, form_row, page_header
from crm_app.state.settings_users import ROLES, UsersSettingsState

S = UsersSettingsState
T = S.t
WIDE_ONLY = rx.breakpoints(initial="none", md="table-cell")
SM_UP = rx.breakpoints(initial="none", sm="table-cell")
PHONE_ONLY = rx.breakpoints(initial="flex", sm="none")
ROLE_COLORS = {"admin": "violet", "supervisor": "blue", "attendant": "gray"}


def _label(key: str, html_for: str, **props) -> rx.Component:
    return rx.text(T[key], as_="label", size="2", weight="medium", html_for=html_for, **props)


def _role_badge(role: rx.Var) -> rx.Component:
    return rx.match(role, *[(r, rx.badge(T[f"role.{r}"], color_scheme=c, variant="soft"))
                            for r, c in ROLE_COLORS.items()], rx.badge(role))


def _status_badge(status: rx.Var) -> rx.Component:
    return rx.match(
        status,
        ("active", rx.badge(rx.icon("circle-check", size=12), T["admin.status.active"], color_scheme="green")),
        ("pending", rx.badge(rx.icon("mail", size=12), T["admin.status.pending"], color_scheme="amber")),
        rx.badge(rx.icon("circle-slash", size=12), T["admin.status.inactive"], color_scheme="gray"),
    )


def _two_factor(value: rx.Var) -> rx.Component:
    return rx.cond(value == "on",
                   rx.badge(rx.icon("shield-check", size=12), T["admin.two_factor.on"], color_scheme="green",
                            variant="soft"),
                   rx.badge(T["admin.two_factor.off"], color_scheme="gray", variant="outline"))


def _actions(row: rx.Var) -> rx.Component:
    active = row["status"] != "inactive"
    return rx.menu.root(
        rx.menu.trigger(rx.icon_button(rx.icon("ellipsis", size=16), size="1", variant="soft", color_scheme="gray",
                                       aria_label=T["admin.users.actions_for"], class_name="user-actions")),
        rx.menu.content(
            rx.menu.item(rx.icon("user-cog", size=14), T["admin.role.change"], on_select=S.open_role(row["id"]),
                         class_name="user-role"),
            rx.cond(active & (row["is_self"] == ""),
                    rx.menu.item(rx.icon("key-round", size=14), T["admin.reset"],
                                 on_select=S.ask_confirm_for("reset", row["id"], row["name"]),
                                 class_name="user-reset")),
            rx.menu.separator(),
            rx.cond(active,
                    rx.menu.item(rx.icon("user-x", size=14), T["admin.deactivate"], color="red",
                                 on_select=S.ask_confirm_for("deactivate", row["id"], row["name"]),
                                 class_name="user-deactivate"),
                    rx.menu.item(rx.icon("user-check", size=14), T["admin.reactivate"],
                                 on_select=S.reactivate(row["id"]), class_name="user-reactivate")),
        ),
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.hstack(
            rx.avatar(fallback=row["name"].to(str)[:1], size="2", radius="full", color_scheme="teal",
                      display=rx.breakpoints(initial="none", sm="flex")),
            rx.vstack(
                rx.text(row["name"], rx.cond(row["is_self"] != "",
                                             rx.text.span(" (", T["admin.users.you"], ")", color_scheme="gray",
                                                          size="1", weight="regular")),
                        weight="medium", size="2"),
                rx.text(row["email"], size="1", color_scheme="gray", word_break="break-word"),
                rx.hstack(_role_badge(row["role"]), _status_badge(row["status"]), spacing="1", wrap="wrap",
                          margin_top="4px", display=PHONE_ONLY),
                spacing="0", min_width="0",
            ),
            spacing="3", align="center",
        )),
        rx.table.cell(_role_badge(row["role"]), display=SM_UP),
        rx.table.cell(_status_badge(row["status"]), display=SM_UP),
        rx.table.cell(_two_factor(row["two_factor"]), display=WIDE_ONLY),
        rx.table.cell(rx.text(rx.cond(row["last_login"] != "", row["last_login"], T["admin.never"]), size="2",
                              color_scheme="gray", white_space="nowrap"), display=WIDE_ONLY),
        rx.table.cell(_actions(row), text_align="right"),
        align="center", class_name="user-row", custom_attrs={"data-email": row["email"]},
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(T["admin.users.col.user"]),
                rx.table.column_header_cell(T["admin.users.col.role"], display=SM_UP),
                rx.table.column_header_cell(T["admin.users.col.status"], display=SM_UP),
                rx.table.column_header_cell(T["admin.users.col.two_factor"], display=WIDE_ONLY),
                rx.table.column_header_cell(T["admin.users.col.last_login"], display=WIDE_ONLY),
                rx.table.column_header_cell(T["admin.users.col.actions"], text_align="right"),
            )),
            rx.table.body(rx.foreach(S.user_rows, _row)),
            variant="surface", width="100%", id="users-table",
        ),
        width="100%", overflow_x="auto",
    )


def _role_select(value: rx.Var, on_change, select_id: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", id=select_id),
        rx.select.content(*[rx.select.item(T[f"role.{r}"], value=r) for r in ROLES]),
        value=value, on_change=on_change,
    )


def _role_help(value: rx.Var) -> rx.Component:
    return rx.match(value, *[(r, rx.text(T[f"admin.role.{r}_help"], size="1", color_scheme="gray")) for r in ROLES],
                    rx.fragment())


def _create_form() -> rx.Component:
    return rx.vstack(
        form_row("admin.form.name",
                 rx.input(value=S.form_name, on_change=S.set_form_name, id="user-name", width="100%", max_length=120,
                          auto_complete="off", color_scheme=rx.cond(S.form_name_error != "", "red", "teal")),
                 "user-name", error=S.form_name_error),
        form_row("admin.form.email",
                 rx.input(value=S.form_email, on_change=S.set_form_email, id="user-email", type="email",
                          width="100%", max_length=254, auto_complete="off",
                          color_scheme=rx.cond(S.form_email_error != "", "red", "teal")),
                 "user-email", error=S.form_email_error, margin_top="8px"),
        _label("admin.form.role", "user-role", margin_top="8px"),
        _role_select(S.form_role, S.set_form_role, "user-role"),
        _role_help(S.form_role),
        field_error(S.form_role_error, "user-role-error"),
        rx.text(T["admin.form.method"], size="2", weight="medium", margin_top="8px"),
        rx.radio_group.root(
            rx.vstack(
                rx.text(rx.hstack(rx.radio_group.item(value="invite", id="user-method-invite"),
                                  T["admin.form.method.invite"], spacing="2", align="center"), as_="label", size="2"),
                rx.text(rx.hstack(rx.radio_group.item(value="password", id="user-method-password"),
                                  T["admin.form.method.password"], spacing="2", align="center"), as_="label",
                        size="2"),
                spacing="2",
            ),
            value=S.form_method, on_change=S.set_form_method,
        ),
        rx.cond(
            S.form_method == "password",
            rx.vstack(
                form_row("admin.form.password",
                         rx.input(value=S.form_password, on_change=S.set_form_password, id="user-password",
                                  type="password", width="100%", auto_complete="new-password",
                                  color_scheme=rx.cond(S.form_password_error != "", "red", "teal")),
                         "user-password", error=S.form_password_error, hint="admin.form.password_hint"),
                spacing="1", width="100%", margin_top="4px",
            ),
            rx.callout(T["admin.no_email_note"], icon="info", size="1", width="100%", margin_top="4px"),
        ),
        rx.hstack(
            rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray", type="button")),
            rx.button(T["admin.form.create"], on_click=S.create_user, id="user-create", type="button",
                      loading=S.form_busy),
            justify="end", spacing="3", width="100%", margin_top="12px",
        ),
        spacing="1", width="100%",
    )


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(rx.dialog.title(T["admin.form.new_title"]), _create_form(), max_width="520px"),
        open=S.form_open, on_open_change=S.set_form_open,
    )


def _link_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(S.link_title),
            rx.vstack(
                rx.text(S.link_body, size="2", id="user-link-body"),
                rx.text_area(value=S.link_url, read_only=True, id="user-link", width="100%", rows="3",
                             resize="none", spell_check=False, aria_label=S.link_title,
                             style={"font-family": "ui-monospace, Menlo, Consolas, monospace",
                                    "word-break": "break-all"},
                             on_focus=rx.call_script("document.getElementById('user-link').select()")),
                rx.text(T["admin.link.once"], size="1", color_scheme="gray"),
                rx.hstack(
                    rx.button(rx.icon("copy", size=15), T["admin.link.copy"], variant="soft", type="button",
                              on_click=[rx.set_clipboard(S.link_url), rx.toast.success(T["admin.link.copied"])],
                              id="user-link-copy"),
                    rx.button(T["admin.link.done"], on_click=S.close_link, id="user-link-done", type="button"),
                    justify="end", width="100%", spacing="3", margin_top="8px",
                ),
                spacing="3", width="100%",
            ),
            max_width="560px",
        ),
        open=S.link_open, on_open_change=S.set_link_open,
    )


def _role_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["admin.role.title"]),
            rx.vstack(
                rx.text(T["admin.role.body"].to(str).replace("{name}", S.role_name), size="2"),
                _role_select(S.role_value, S.set_role_value, "role-select"),
                _role_help(S.role_value),
                rx.hstack(
                    rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                              type="button")),
                    rx.button(T["admin.role.change"], on_click=S.save_role, id="role-save", type="button"),
                    justify="end", spacing="3", width="100%", margin_top="12px",
                ),
                spacing="2", width="100%",
            ),
            max_width="440px",
        ),
        open=S.role_open, on_open_change=S.set_role_open,
    )


def _confirm(kind: str, title_key: str, body_key: str, action_key: str, on_confirm, button_id: str,
             color: str = "red") -> rx.Component:
    return confirm_dialog(S, title=T[title_key].to(str).replace("{name}", S.confirm_label), body=body_key,
                          action=action_key, on_confirm=on_confirm, action_id=button_id, kind=kind,
                          show_label=False, color=color)


@app_page("/settings/users", "Usuários · Atende CRM", on_load=[UsersSettingsState.open_page])
def settings_users_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/users",
        rx.vstack(
            settings_tabs("/settings/users"),
            page_header("admin.users.title", "admin.users.help",
                        rx.button(rx.icon("user-plus", size=16), T["admin.users.new"], on_click=S.open_new,
                                  id="user-new")),
            rx.cond(
                S.users_loaded,
                rx.cond(S.user_rows.length() > 0, _table(),
                        empty_state("user-plus", "admin.users.empty", empty_id="users-empty")),
                rx.skeleton(height="160px", width="100%"),
            ),
            _create_dialog(),
            _link_dialog(),
            _role_dialog(),
            _confirm("deactivate", "admin.deactivate.title", "admin.deactivate.body", "admin.deactivate",
                     S.confirm_deactivate, "user-confirm-deactivate"),
            _confirm("reset", "admin.reset.title", "admin.reset.body", "admin.reset.confirm", S.confirm_reset,
                     "user-confirm-reset", color="amber"),
            spacing="3", width="100%", max_width="1040px",
        ),
    )
