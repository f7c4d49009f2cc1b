"""/account: my password, my 2FA (enrol with a QR code, recovery codes, turn off) and my sessions."""

import reflex as rx

from components.page import app_page
from components.shell import shell
from crm_app.state.account import AccountState

S = AccountState
T = S.t
WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")


def _section(title_key: str, help_key: str, *children: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T[title_key], size="4"),
            rx.text(T[help_key], size="2", color_scheme="gray"),
            *children,
            spacing="3", width="100%",
        ),
        width="100%", size="2", **props,
    )


def _password_input(name: str, key: str, autocomplete: str) -> rx.Component:
    return rx.vstack(
        rx.text(T[key], as_="label", size="2", weight="medium", html_for=f"pw-{name}"),
        rx.input(name=name, id=f"pw-{name}", type="password", auto_complete=autocomplete, width="100%",
                 required=True, max_length=200),
        spacing="1", width="100%",
    )


def _password_section() -> rx.Component:
    return _section(
        "account.password_title", "account.password_help",
        rx.form(
            rx.vstack(
                _password_input("current", "account.password_current", "current-password"),
                _password_input("new", "account.password_new", "new-password"),
                _password_input("confirm", "account.password_confirm", "new-password"),
                rx.cond(S.password_errors.length() > 0,
                        rx.callout(rx.vstack(rx.foreach(S.password_errors, lambda e: rx.text(e, size="2")),
                                             spacing="1"),
                                   icon="triangle-alert", color_scheme="red", size="1", width="100%",
                                   id="password-errors", role="alert")),
                rx.cond(S.password_done, rx.callout(T["account.password_changed"], icon="check", color_scheme="green",
                                                    size="1", width="100%", id="password-done")),
                rx.button(T["account.password_save"], type="submit", id="password-save"),
                spacing="3", width="100%", max_width="420px",
            ),
            on_submit=S.change_password, reset_on_submit=True, width="100%",
        ),
        id="account-password",
    )


def _enrolment() -> rx.Component:
    return rx.flex(
        rx.box(rx.image(src=S.enrol_qr, alt=T["account.qr_alt"], width="200px", height="200px", id="totp-qr"),
               border=f"1px solid {rx.color('slate', 6)}", border_radius="8px", padding="4px",
               background="white", flex_shrink="0"),
        rx.vstack(
            rx.text(T["account.enrol_step1"], size="2"),
            rx.text(T["account.enrol_secret_label"], size="1", color_scheme="gray"),
            rx.code(S.enrol_secret, size="2", id="totp-secret", style={"word-break": "break-all"},
                    variant="soft"),
            rx.text(T["account.enrol_step2"], size="2", margin_top="8px"),
            rx.form(
                rx.hstack(
                    rx.input(name="code", id="enrol-code", auto_complete="one-time-code", input_mode="numeric",
                             max_length=6, placeholder="123456", width="140px", required=True),
                    rx.button(T["account.enrol_confirm"], type="submit", id="enrol-confirm"),
                    rx.button(T["settings.cancel"], type="button", variant="soft", color_scheme="gray",
                              on_click=S.cancel_enrolment),
                    spacing="2", flex_wrap="wrap",
                ),
                on_submit=S.confirm_enrolment, reset_on_submit=True,
            ),
            rx.cond(S.enrol_error != "", rx.text(S.enrol_error, size="2", color_scheme="red", id="enrol-error",
                                                 role="alert")),
            spacing="2", min_width="0", flex="1",
        ),
        direction=rx.breakpoints(initial="column", sm="row"), gap="16px", width="100%",
    )


def _recovery_codes() -> rx.Component:
    return rx.callout(
        rx.vstack(
            rx.text(T["account.recovery_once"], size="2", weight="medium"),
            rx.grid(rx.foreach(S.recovery_codes, lambda c: rx.code(c, size="3", variant="ghost")),
                    columns="2", spacing="2", id="recovery-codes"),
            rx.button(T["account.recovery_saved"], on_click=S.codes_saved, id="recovery-done", size="2"),
            spacing="3",
        ),
        icon="key-round", color_scheme="amber", width="100%",
    )


def _disable_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["account.disable_title"]),
            rx.dialog.description(T["account.disable_help"], size="2"),
            rx.form(
                rx.vstack(
                    _password_input("password", "account.disable_password", "current-password"),
                    rx.text(T["account.disable_or_code"], size="1", color_scheme="gray"),
                    rx.input(name="code", id="disable-code", auto_complete="one-time-code", width="100%",
                             max_length=20),
                    rx.cond(S.disable_error != "", rx.text(S.disable_error, size="2", color_scheme="red",
                                                           role="alert")),
                    rx.hstack(
                        rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                                  type="button")),
                        rx.button(T["account.disable"], type="submit", color_scheme="red", id="disable-confirm"),
                        justify="end", spacing="3", width="100%",
                    ),
                    spacing="3", width="100%", margin_top="12px",
                ),
                on_submit=S.disable_mfa, reset_on_submit=True,
            ),
            max_width="440px",
        ),
        open=S.disable_open, on_open_change=S.set_disable_open,
    )


def _mfa_section() -> rx.Component:
    status = rx.cond(S.mfa_enabled,
                     rx.badge(rx.icon("shield-check", size=14), T["account.mfa_on"], color_scheme="green",
                              size="2", id="mfa-status-on"),
                     rx.badge(rx.icon("shield-off", size=14), T["account.mfa_off"], color_scheme="gray", size="2",
                              id="mfa-status-off"))
    return _section(
        "account.mfa_title", "account.mfa_help",
        status,
        rx.cond(S.mfa_required & ~S.mfa_enabled,
                rx.callout(T["account.mfa_required"], icon="shield-alert", color_scheme="orange", width="100%",
                           id="mfa-required")),
        rx.cond(S.recovery_codes.length() > 0, _recovery_codes()),
        rx.cond(
            S.mfa_enabled,
            rx.vstack(
                rx.text(T["account.recovery_left"] + " " + S.recovery_left.to_string(), size="2",
                        color_scheme="gray"),
                rx.flex(
                    rx.form(
                        rx.hstack(
                            rx.input(name="code", auto_complete="one-time-code", input_mode="numeric", max_length=6,
                                     placeholder="123456", width="120px", aria_label=T["login.code"]),
                            rx.button(T["account.recovery_new"], type="submit", variant="soft"),
                            spacing="2",
                        ),
                        on_submit=S.regenerate_codes, reset_on_submit=True,
                    ),
                    rx.cond(~S.mfa_required,
                            rx.button(T["account.disable"], color_scheme="red", variant="soft",
                                      on_click=S.set_disable_open(True), id="mfa-disable")),
                    gap="12px", wrap="wrap", align="center",
                ),
                spacing="3", width="100%",
            ),
            rx.cond(S.enrol_open, _enrolment(),
                    rx.button(rx.icon("smartphone", size=16), T["account.enrol_start"], on_click=S.start_enrolment,
                              id="enrol-start")),
        ),
        _disable_dialog(),
        id="account-mfa",
    )


def _session_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(
            rx.hstack(rx.text(row["device"], size="2", weight="medium"),
                      rx.cond(row["current"] != "", rx.badge(T["account.this_session"], color_scheme="teal")),
                      rx.cond(row["mfa"] != "", rx.badge("2FA", color_scheme="green", variant="outline")),
                      spacing="2", align="center", flex_wrap="wrap"),
            rx.text(row["ip"], size="1", color_scheme="gray"),
            spacing="1")),
        rx.table.cell(rx.text(row["last_seen"], size="2", white_space="nowrap")),
        rx.table.cell(rx.text(row["started"], size="2", white_space="nowrap", color_scheme="gray"),
                      display=WIDE_ONLY),
        rx.table.cell(rx.cond(row["current"] != "", rx.fragment(),
                              rx.button(T["account.revoke"], size="1", variant="soft", color_scheme="red",
                                        on_click=S.revoke_one(row["id"]), class_name="session-revoke"))),
        align="center",
    )


def _sessions_section() -> rx.Component:
    return _section(
        "account.sessions_title", "account.sessions_help",
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(T["account.device"]),
                    rx.table.column_header_cell(T["account.last_seen"]),
                    rx.table.column_header_cell(T["account.started"], display=WIDE_ONLY),
                    rx.table.column_header_cell(""),
                )),
                rx.table.body(rx.foreach(S.session_rows, _session_row)),
                variant="surface", width="100%", id="sessions-table",
            ),
            width="100%", overflow_x="auto",
        ),
        rx.button(rx.icon("log-out", size=16), T["account.logout_all"], color_scheme="red", variant="outline",
                  on_click=S.logout_everywhere, id="logout-all"),
        id="account-sessions",
    )


def _notices_section() -> rx.Component:
    return _section(
        "account.notices_title", "account.notices_help",
        rx.hstack(
            rx.switch(checked=S.email_assigned_while_away, on_change=S.set_email_assigned_while_away,
                      id="notice-assigned-away"),
            rx.text(T["account.notice_assigned_away"], as_="label", size="2", html_for="notice-assigned-away"),
            spacing="2", align="center",
        ),
        id="account-notices",
    )


@app_page("/account", "Minha conta · Atende CRM", on_load=[AccountState.load])
def account_page() -> rx.Component:
    return shell(
        T["account.title"], "/account",
        rx.vstack(
            rx.cond(S.info_loaded,
                    rx.vstack(_mfa_section(), _password_section(), _notices_section(), _sessions_section(),
                              spacing="4", width="100%"),
                    rx.skeleton(height="160px", width="100%")),
            spacing="3", width="100%", max_width="960px",
        ),
    )
