"""/settings (API e diagnóstico): admins see the tenant's API tokens, failed webhooks and unsupported messages."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, field_error, form_row, page_header
from crm_app.state.settings import TOKEN_SCOPES, SettingsState

S = SettingsState
T = SettingsState.t


def _dead_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["id"]), rx.table.cell(row["received_at"]), rx.table.cell(row["attempts"]),
        rx.table.cell(rx.text(row["error"], size="1", color_scheme="red")),
        rx.table.cell(rx.code(row["body"], size="1", max_width="360px", overflow="hidden",
                              white_space="nowrap", text_overflow="ellipsis", display="block")),
        rx.table.cell(rx.button(T["settings.replay"], size="1", variant="soft",
                                on_click=SettingsState.replay(row["id"]))),
    )


def _unsupported_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["id"]), rx.table.cell(row["conversation"]), rx.table.cell(row["received_at"]),
        rx.table.cell(rx.code(row["raw"], size="1", white_space="pre-wrap", word_break="break-all",
                              display="block", max_width="640px")),
    )


def _token_status(status: rx.Var) -> rx.Component:
    return rx.match(
        status,
        ("active", rx.badge(T["tokens.status.active"], color_scheme="green")),
        ("revoked", rx.badge(T["tokens.status.revoked"], color_scheme="gray")),
        rx.badge(T["tokens.status.expired"], color_scheme="amber"),
    )


def _token_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="medium")),
        rx.table.cell(rx.code(row["prefix"], size="1", white_space="nowrap")),
        rx.table.cell(row["user"]),
        rx.table.cell(rx.text(row["scopes"], size="1", color_scheme="gray"), min_width="180px"),
        rx.table.cell(rx.text(rx.cond(row["last_used"] != "", row["last_used"], T["tokens.never"]), size="2",
                              white_space="nowrap")),
        rx.table.cell(_token_status(row["status"])),
        rx.table.cell(rx.cond(row["status"] == "active",
                              rx.button(T["tokens.revoke"], size="1", variant="soft", color_scheme="red",
                                        on_click=S.ask_confirm(row["id"], row["name"]), class_name="token-revoke"))),
        align="center",
    )


def _scope_checkbox(scope: str) -> rx.Component:
    return rx.checkbox(T[f"tokens.scope.{scope}"], checked=S.token_scopes.contains(scope),
                       on_change=lambda checked: S.toggle_token_scope(scope, checked),
                       id=f"token-scope-{scope.replace(':', '-')}", size="2")


def _token_form() -> rx.Component:
    return rx.vstack(
        form_row("tokens.name",
                 rx.input(value=S.token_name, on_change=S.set_token_name, id="token-name", width="100%",
                          max_length=80, placeholder=T["tokens.name_hint"], auto_complete="off"),
                 "token-name", error=S.token_name_error),
        form_row("tokens.user",
                 rx.select.root(
                     rx.select.trigger(width="100%", id="token-user"),
                     rx.select.content(rx.foreach(S.token_user_options,
                                                  lambda o: rx.select.item(
                                                      o["name"] + " (" + T[o["role"]] + ")", value=o["id"]))),
                     value=S.token_user_id, on_change=S.set_token_user_id,
                 ),
                 "token-user", error=S.token_user_error, margin_top="8px"),
        rx.text(T["tokens.scopes"], size="2", weight="medium", margin_top="8px"),
        rx.grid(*[_scope_checkbox(scope) for scope in TOKEN_SCOPES], columns=rx.breakpoints(initial="1", sm="2"),
                gap="8px", width="100%"),
        field_error(S.token_scopes_error, "token-scopes-error"),
        rx.hstack(
            rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray", type="button")),
            rx.button(T["tokens.create"], on_click=S.create_token, id="token-create", type="button"),
            justify="end", spacing="3", width="100%", margin_top="12px",
        ),
        spacing="1", width="100%",
    )


def _token_secret() -> rx.Component:
    return rx.vstack(
        rx.callout(T["tokens.secret_once"], icon="triangle-alert", color_scheme="amber", width="100%"),
        rx.text_area(value=S.new_secret, read_only=True, id="token-secret", width="100%", rows="2",
                     resize="none", spell_check=False, aria_label=T["tokens.created_title"],
                     style={"font-family": "ui-monospace, Menlo, Consolas, monospace", "word-break": "break-all"},
                     on_focus=rx.call_script("document.getElementById('token-secret').select()")),
        rx.hstack(
            rx.button(rx.icon("copy", size=15), T["tokens.copy"], variant="soft", type="button",
                      on_click=[rx.set_clipboard(S.new_secret), rx.toast.success(T["tokens.copied"])],
                      id="token-copy"),
            rx.button(T["tokens.done"], on_click=S.close_token_form, id="token-done", type="button"),
            justify="end", width="100%", spacing="3", margin_top="8px",
        ),
        spacing="3", width="100%",
    )


def _token_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.new_secret != "", T["tokens.created_title"], T["tokens.new_title"])),
            rx.cond(S.new_secret != "", _token_secret(), _token_form()),
            max_width="560px",
        ),
        open=S.token_form_open, on_open_change=S.set_token_form_open,
    )


def _revoke_dialog() -> rx.Component:
    return confirm_dialog(S, title="tokens.revoke_title", body="tokens.revoke_body", action="tokens.revoke",
                          on_confirm=S.confirm_revoke, action_id="token-confirm-revoke")


def _tokens_section() -> rx.Component:
    return rx.vstack(
        page_header("tokens.title",
                    rx.text(T["tokens.help"], " ", rx.link(T["tokens.docs"], href="/api/docs", is_external=True,
                                                            id="api-docs-link"), size="2", color_scheme="gray"),
                    rx.button(rx.icon("key-round", size=16), T["tokens.new"], on_click=S.open_token_form,
                              id="token-new")),
        rx.cond(S.token_rows.length() > 0,
                _table(["tokens.name", "tokens.prefix", "tokens.user", "tokens.scopes", "tokens.last_used",
                        "settings.status", "settings.action"], S.token_rows, _token_row, "tokens-table"),
                empty_state("key-round", "tokens.empty", empty_id="tokens-empty", compact=True)),
        _token_dialog(),
        _revoke_dialog(),
        spacing="3", width="100%",
    )


def _table(headers: list[str], rows, render, table_id: str) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[h]) for h in headers])),
            rx.table.body(rx.foreach(rows, render)),
            variant="surface", width="100%", id=table_id,
        ),
        width="100%", overflow_x="auto",
    )


@app_page("/settings", "Configurações · Atende CRM", on_load=[SettingsState.open_page])
def settings_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings",
        rx.vstack(
            settings_tabs("/settings"),
            _tokens_section(),
            rx.heading(T["settings.dead_events"], size="4", margin_top="16px"),
            rx.cond(SettingsState.dead_rows.length() > 0,
                    _table(["settings.event", "settings.received", "settings.attempts", "settings.error",
                            "settings.payload", "settings.action"], SettingsState.dead_rows, _dead_row,
                           "dead-events-table"),
                    rx.callout(T["settings.no_dead_events"], icon="circle-check", color_scheme="green")),
            rx.heading(T["settings.unsupported"], size="4", margin_top="16px"),
            rx.text(T["settings.unsupported_help"], size="2", color_scheme="gray"),
            rx.cond(SettingsState.unsupported_rows.length() > 0,
                    _table(["settings.message", "settings.conversation", "settings.received", "settings.payload"],
                           SettingsState.unsupported_rows, _unsupported_row, "unsupported-table"),
                    rx.callout(T["settings.no_unsupported"], icon="circle-check", color_scheme="green")),
            spacing="3", width="100%", max_width="960px",
        ),
    )
