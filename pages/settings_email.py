"""/settings/email: the tenant's SMTP server (checked before it is saved), a test e-mail and the e-mail log."""

import reflex as rx

from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, form_row, page_header
from crm_app.state.settings_email import SECURITY_MODES, EmailSettingsState

S = EmailSettingsState
T = S.t
WIDE_ONLY = rx.breakpoints(initial="none", md="table-cell")
SM_UP = rx.breakpoints(initial="none", sm="table-cell")
STATUS_COLORS = {"queued": "amber", "sending": "blue", "sent": "green", "failed": "red"}
STATUS_ICONS = {"queued": "clock", "sending": "send", "sent": "circle-check", "failed": "triangle-alert"}


def _input(field: str, value, on_change, field_id: str, **props) -> rx.Component:
    bad = S.error_field == f"mail.{field}"
    props.setdefault("auto_complete", "off")
    return rx.input(value=value, on_change=on_change, id=field_id, width="100%",
                    color_scheme=rx.cond(bad, "red", "teal"), aria_invalid=rx.cond(bad, "true", "false"), **props)


def _security_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", id="smtp-security"),
        rx.select.content(*[rx.select.item(T[f"setting.mail.smtp_security.choice.{m}"], value=m)
                            for m in SECURITY_MODES]),
        value=S.security, on_change=S.set_security,
    )


def _grid(*children: rx.Component) -> rx.Component:
    return rx.grid(*children, columns=rx.breakpoints(initial="1", sm="2"), gap="12px", width="100%")


def _server_form() -> rx.Component:
    return rx.card(rx.vstack(
        rx.heading(T["mail.settings.server_title"], size="4"),
        rx.cond(S.overridden,
                rx.text(T["mail.settings.source_own"], size="2", color_scheme="gray", id="smtp-source"),
                rx.text(T["mail.settings.source_platform"], size="2", color_scheme="gray", id="smtp-source")),
        _grid(
            form_row("setting.mail.smtp_host", _input("smtp_host", S.host, S.set_host, "smtp-host", max_length=255,
                                                      placeholder="smtp.exemplo.com.br"), "smtp-host"),
            rx.grid(
                form_row("setting.mail.smtp_port", _input("smtp_port", S.port, S.set_port, "smtp-port",
                                                          type="number", input_mode="numeric"), "smtp-port"),
                form_row("setting.mail.smtp_security", _security_select(), "smtp-security"),
                grid_template_columns=rx.breakpoints(initial="1fr", sm="1fr 2fr"), gap="12px", width="100%",
            ),
            form_row("setting.mail.smtp_username", _input("smtp_username", S.username, S.set_username,
                                                          "smtp-username", max_length=255), "smtp-username"),
            form_row("setting.mail.smtp_password",
                     _input("smtp_password", S.password, S.set_password, "smtp-password", type="password",
                            auto_complete="new-password",
                            placeholder=rx.cond(S.password_set, T["mail.settings.password_keep"],
                                                T["mail.settings.password_none"])),
                     "smtp-password", hint="setting.mail.smtp_password.help"),
            form_row("setting.mail.from_address", _input("from_address", S.from_address, S.set_from_address,
                                                         "smtp-from-address", type="email", max_length=255),
                     "smtp-from-address"),
            form_row("setting.mail.from_name", _input("from_name", S.from_name, S.set_from_name, "smtp-from-name",
                                                      max_length=120), "smtp-from-name"),
        ),
        rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", size="1",
                                               id="smtp-error", role="alert", width="100%")),
        rx.text(T["mail.settings.check_note"], size="1", color_scheme="gray"),
        rx.flex(
            rx.button(rx.icon("plug-zap", size=15), T["mail.settings.save"], on_click=S.save, id="smtp-save",
                      loading=S.saving, type="button"),
            rx.cond(S.overridden, rx.button(T["mail.settings.use_platform"], on_click=S.use_platform,
                                            variant="soft", color_scheme="gray", id="smtp-use-platform",
                                            type="button")),
            gap="12px", wrap="wrap",
        ),
        spacing="3", width="100%",
    ), width="100%")


def _status(status: rx.Var) -> rx.Component:
    return rx.match(status, *[(s, rx.badge(rx.icon(STATUS_ICONS[s], size=12), T[f"mail.status.{s}"],
                                           color_scheme=c)) for s, c in STATUS_COLORS.items()], rx.badge(status))


def _log_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["created"], size="2", white_space="nowrap"), display=WIDE_ONLY),
        rx.table.cell(rx.vstack(
            rx.text(row["subject"], size="2", weight="medium", word_break="break-word"),
            rx.text(row["template"], " · ", row["recipient"], size="1", color_scheme="gray", word_break="break-all"),
            rx.cond(row["error"] != "", rx.text(row["error"], size="1", color="red", word_break="break-word",
                                                class_name="email-error")),
            spacing="0", min_width="0",
        )),
        rx.table.cell(_status(row["status"])),
        rx.table.cell(rx.text(row["attempts"], size="2"), display=SM_UP),
        rx.table.cell(rx.cond(row["status"] == "failed",
                              rx.button(rx.icon("rotate-cw", size=14), T["mail.log.resend"], size="1", variant="soft",
                                        on_click=S.resend(row["id"]), class_name="email-resend", type="button")),
                      text_align="right"),
        align="center", class_name="email-row", custom_attrs={"data-status": row["status"]},
    )


def _log() -> rx.Component:
    table = rx.box(rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell(T["mail.log.col.when"], display=WIDE_ONLY),
            rx.table.column_header_cell(T["mail.log.col.subject"]),
            rx.table.column_header_cell(T["mail.log.col.status"]),
            rx.table.column_header_cell(T["mail.log.col.attempts"], display=SM_UP),
            rx.table.column_header_cell(T["mail.log.col.actions"], text_align="right"),
        )),
        rx.table.body(rx.foreach(S.log_rows, _log_row)),
        variant="surface", width="100%", id="email-log",
    ), width="100%", overflow_x="auto")
    return rx.card(rx.vstack(
        rx.flex(
            rx.vstack(rx.heading(T["mail.log.title"], size="4"),
                      rx.text(T["mail.log.help"], size="2", color_scheme="gray"), spacing="1", flex="1"),
            rx.button(rx.icon("refresh-cw", size=14), T["mail.log.refresh"], on_click=S.load, variant="soft",
                      color_scheme="gray", size="2", id="email-log-refresh", type="button"),
            gap="12px", align="center", width="100%", wrap="wrap",
        ),
        rx.cond(S.log_rows.length() > 0, table, empty_state("mail", "mail.log.empty", compact=True,
                                                            empty_id="email-log-empty")),
        spacing="3", width="100%",
    ), width="100%")


@app_page("/settings/email", "E-mail · Atende CRM", on_load=[EmailSettingsState.load])
def settings_email_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/email",
        rx.vstack(
            settings_tabs("/settings/email"),
            page_header("mail.settings.title", "mail.settings.help",
                        rx.button(rx.icon("send", size=15), T["mail.settings.test"], on_click=S.send_test,
                                  id="email-test", type="button", variant="outline")),
            rx.cond(S.email_loaded, rx.vstack(_server_form(), _log(), spacing="3", width="100%"),
                    rx.skeleton(height="240px", width="100%")),
            spacing="3", width="100%", max_width="960px",
        ),
    )
