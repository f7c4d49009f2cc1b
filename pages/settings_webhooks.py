"""/settings/webhooks: endpoints (secret shown once), Testar, rotation, on/off, removal, the delivery log, replay."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, form_row, page_header
from crm_app.state.settings_webhooks import EVENT_TYPES, REPLAY_HOURS, WebhooksSettingsState

S = WebhooksSettingsState
T = S.t
SM_UP = rx.breakpoints(initial="none", sm="table-cell")
STATE_COLORS = {"on": "green", "off": "gray", "gone": "red", "failing": "red"}
STATUS_COLORS = {"pending": "amber", "sending": "blue", "succeeded": "green", "failed": "red"}


def _type_box(name: str) -> rx.Component:
    return rx.checkbox(name, checked=S.form_types.contains(name), on_change=lambda _: S.toggle_form_type(name),
                       size="1", id=f"webhook-type-{name.replace('.', '-')}")


def _form() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading(T["webhooks.new_title"], size="4"),
        rx.grid(
            form_row("webhooks.url", rx.input(value=S.form_url, on_change=S.set_form_url, id="webhook-url",
                                              placeholder="https://erp.exemplo.com.br/webhooks", width="100%",
                                              max_length=2000), "webhook-url"),
            form_row("webhooks.description", rx.input(value=S.form_description, on_change=S.set_form_description,
                                                      id="webhook-description", width="100%", max_length=255),
                     "webhook-description"),
            form_row("webhooks.timeout", rx.input(value=S.form_timeout, on_change=S.set_form_timeout,
                                                  id="webhook-timeout", type="number", min="1", max="30",
                                                  width="100%"), "webhook-timeout"),
            columns=rx.breakpoints(initial="1", sm="3"), gap="12px", width="100%",
        ),
        rx.grid(
            form_row("webhooks.headers", rx.text_area(value=S.form_headers, on_change=S.set_form_headers,
                                                      id="webhook-headers", placeholder="Authorization: Bearer …",
                                                      rows="2", width="100%", max_length=4000),
                     "webhook-headers"),
            form_row("webhooks.rate", rx.input(value=S.form_rate, on_change=S.set_form_rate, id="webhook-rate",
                                               type="number", min="1", max="1000", width="100%"), "webhook-rate"),
            gap="12px", width="100%", grid_template_columns=rx.breakpoints(initial="1fr", sm="2fr 1fr"),
        ),
        rx.text(T["webhooks.types_help"], size="2", color_scheme="gray"),
        rx.flex(*[_type_box(name) for name in EVENT_TYPES], gap="8px 16px", wrap="wrap"),
        rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", size="1",
                                               id="webhook-error", role="alert", width="100%")),
        rx.button(rx.icon("plus", size=15), T["webhooks.create"], on_click=S.create, id="webhook-create",
                  type="button"),
        spacing="3", width="100%",
    ), width="100%")


def _secret() -> rx.Component:
    return rx.cond(S.new_secret != "", rx.callout(
        rx.vstack(
            rx.text(T["webhooks.secret_once"], weight="medium"),
            rx.code(S.new_secret, id="webhook-secret", word_break="break-all"),
            rx.button(T["webhooks.secret_done"], on_click=S.hide_secret, size="1", variant="soft",
                      id="webhook-secret-done", type="button"),
            spacing="2",
        ),
        icon="key-round", color_scheme="amber", width="100%", role="status",
    ))


def _state_badge(state: rx.Var) -> rx.Component:
    return rx.match(state, *[(s, rx.badge(T[f"webhooks.state.{s}"], color_scheme=c))
                             for s, c in STATE_COLORS.items()], rx.badge(state))


def _endpoint_row(row: rx.Var) -> rx.Component:
    on = row["state"] == "on"
    return rx.table.row(
        rx.table.cell(rx.vstack(
            rx.link(row["url"], on_click=S.select(row["id"]), size="2", weight="medium", word_break="break-all",
                    class_name="webhook-select", href="#"),
            rx.text(row["description"], " · ", row["types"], size="1", color_scheme="gray", word_break="break-word"),
            rx.cond(row["limits"] != "", rx.text(row["limits"], size="1", color_scheme="gray",
                                                 word_break="break-word", class_name="webhook-limits")),
            spacing="0", min_width="0",
        )),
        rx.table.cell(_state_badge(row["state"])),
        rx.table.cell(rx.flex(
            rx.button(rx.icon("send", size=14), T["webhooks.test"], size="1", variant="soft",
                      on_click=S.send_test(row["id"]), class_name="webhook-test", type="button"),
            rx.button(rx.icon("key-round", size=14), T["webhooks.rotate"], size="1", variant="soft",
                      color_scheme="gray", on_click=S.rotate(row["id"]), class_name="webhook-rotate", type="button"),
            rx.button(rx.cond(on, T["webhooks.disable"], T["webhooks.enable"]), size="1", variant="soft",
                      color_scheme="gray", on_click=S.set_enabled(row["id"], ~on), class_name="webhook-toggle",
                      type="button"),
            rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                           on_click=S.ask_confirm(row["id"], row["url"]), class_name="webhook-delete",
                           aria_label=T["webhooks.delete"], type="button"),
            gap="6px", wrap="wrap", justify="end",
        )),
        align="center", class_name="webhook-row", custom_attrs={"data-state": row["state"]},
    )


def _endpoints() -> rx.Component:
    table = rx.box(rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell(T["webhooks.col.endpoint"]),
            rx.table.column_header_cell(T["webhooks.col.state"]),
            rx.table.column_header_cell(T["webhooks.col.actions"], text_align="right"),
        )),
        rx.table.body(rx.foreach(S.endpoint_rows, _endpoint_row)),
        variant="surface", width="100%", id="webhook-endpoints",
    ), width="100%", overflow_x="auto")
    return rx.cond(S.endpoint_rows.length() > 0, table,
                   empty_state("webhook", "webhooks.empty", compact=True, empty_id="webhooks-empty"))


def _status(status: rx.Var) -> rx.Component:
    return rx.match(status, *[(s, rx.badge(T[f"webhooks.status.{s}"], color_scheme=c))
                              for s, c in STATUS_COLORS.items()], rx.badge(status))


def _delivery_row(row: rx.Var) -> rx.Component:
    done = (row["status"] == "succeeded") | (row["status"] == "failed")
    return rx.table.row(
        rx.table.cell(rx.text(row["created"], size="2", white_space="nowrap"), display=SM_UP),
        rx.table.cell(rx.vstack(
            rx.text(row["type"], size="2", weight="medium"),
            rx.code(row["msg_id"], size="1"),
            rx.cond(row["error"] != "", rx.text(row["error"], size="1", color="red", word_break="break-word")),
            spacing="0", min_width="0",
        )),
        rx.table.cell(_status(row["status"])),
        rx.table.cell(rx.text(row["attempts"], " · ", row["code"], size="2"), display=SM_UP),
        rx.table.cell(rx.cond(done, rx.button(rx.icon("rotate-cw", size=14), T["webhooks.resend"], size="1",
                                              variant="soft", on_click=S.resend(row["id"]),
                                              class_name="webhook-resend", type="button")), text_align="right"),
        align="center", class_name="delivery-row", custom_attrs={"data-status": row["status"]},
    )


def _log() -> rx.Component:
    table = rx.box(rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell(T["webhooks.log.col.when"], display=SM_UP),
            rx.table.column_header_cell(T["webhooks.log.col.event"]),
            rx.table.column_header_cell(T["webhooks.log.col.status"]),
            rx.table.column_header_cell(T["webhooks.log.col.attempts"], display=SM_UP),
            rx.table.column_header_cell(T["webhooks.log.col.actions"], text_align="right"),
        )),
        rx.table.body(rx.foreach(S.delivery_rows, _delivery_row)),
        variant="surface", width="100%", id="webhook-log",
    ), width="100%", overflow_x="auto")
    replay = rx.flex(
        rx.select.root(rx.select.trigger(id="webhook-replay-hours"),
                       rx.select.content(*[rx.select.item(T[f"webhooks.replay.{h}"], value=h) for h in REPLAY_HOURS]),
                       value=S.replay_hours, on_change=S.set_replay_hours),
        rx.button(rx.icon("history", size=14), T["webhooks.replay"], on_click=S.replay, variant="soft",
                  id="webhook-replay", type="button"),
        rx.button(rx.icon("refresh-cw", size=14), T["webhooks.log.refresh"], on_click=S.load, variant="soft",
                  color_scheme="gray", id="webhook-log-refresh", type="button"),
        gap="8px", wrap="wrap",
    )
    return rx.cond(S.selected_id != "", rx.card(rx.vstack(
        rx.flex(rx.vstack(rx.heading(T["webhooks.log.title"], size="4"),
                          rx.text(S.stats_text, size="2", color_scheme="gray", id="webhook-stats"), spacing="1",
                          flex="1"),
                replay, gap="12px", align="center", width="100%", wrap="wrap"),
        rx.cond(S.delivery_rows.length() > 0, table,
                empty_state("inbox", "webhooks.log.empty", compact=True, empty_id="webhook-log-empty")),
        spacing="3", width="100%",
    ), width="100%"))


@app_page("/settings/webhooks", "Webhooks · Atende CRM", on_load=[WebhooksSettingsState.load])
def settings_webhooks_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/webhooks",
        rx.vstack(
            settings_tabs("/settings/webhooks"),
            page_header("webhooks.title", "webhooks.help"),
            rx.cond(S.hooks_loaded, rx.vstack(_secret(), _form(), _endpoints(), _log(), spacing="3", width="100%"),
                    rx.skeleton(height="240px", width="100%")),
            confirm_dialog(S, title="webhooks.delete_title", body="webhooks.delete_body", action="webhooks.delete",
                           on_confirm=S.confirm_delete, action_id="webhook-confirm-delete", label_as_code=True),
            spacing="3", width="100%", max_width="960px",
        ),
    )
