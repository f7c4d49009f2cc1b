"""/settings: admins see the tenant's users and WhatsApp numbers."""

import reflex as rx

from components.page import app_page
from components.shell import shell
from crm_app.state.settings import SettingsState

T = SettingsState.t


def _user_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["name"]),
        rx.table.cell(row["email"]),
        rx.table.cell(rx.badge(T["role." + row["role"].to(str)], variant="soft")),
        rx.table.cell(rx.cond(row["active"] != "", rx.badge(T["settings.active"], color_scheme="green"),
                              rx.badge(T["settings.inactive"], color_scheme="gray"))),
    )


def _inbox_row(row: rx.Var) -> rx.Component:
    return rx.table.row(rx.table.cell(row["name"]), rx.table.cell(row["number"]),
                        rx.table.cell(rx.code(row["phone_number_id"])))


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


def _table(headers: list[str], rows, render, table_id: str) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[h]) for h in headers])),
            rx.table.body(rx.foreach(rows, render)),
            variant="surface", width="100%", id=table_id,
        ),
        width="100%", overflow_x="auto",
    )


@app_page("/settings", "Configurações · Atende CRM", on_load=[SettingsState.load])
def settings_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings",
        rx.vstack(
            rx.heading(T["settings.users"], size="4"),
            _table(["settings.name", "settings.email", "settings.role", "settings.status"],
                   SettingsState.user_rows, _user_row, "users-table"),
            rx.heading(T["settings.inboxes"], size="4", margin_top="16px"),
            rx.cond(SettingsState.inbox_rows.length() > 0,
                    _table(["settings.name", "settings.number", "settings.phone_number_id"],
                           SettingsState.inbox_rows, _inbox_row, "inboxes-table"),
                    rx.callout(T["settings.no_inboxes"], icon="info")),
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
            rx.text(T["settings.more_soon"], size="2", color_scheme="gray", margin_top="16px"),
            spacing="3", width="100%", max_width="960px",
        ),
    )
