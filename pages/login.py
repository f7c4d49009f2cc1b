"""/login: e-mail and password, then the 2FA code for accounts that have it."""

import reflex as rx

from components.page import public_page
from components.shell import language_switch
from components.sso_button import sso_section
from crm_app.state.login import LoginState

T = LoginState.t


def _error() -> rx.Component:
    return rx.cond(
        T[LoginState.error_key],  # a code without a text (or none) shows nothing
        rx.callout(T[LoginState.error_key], icon="triangle-alert", color_scheme="red", size="1",
                   width="100%", id="login-error", role="alert"),
    )


@public_page("/login", "Entrar · Atende CRM", on_load=[LoginState.on_login_load])
def login_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.text(T["login.email"], as_="label", size="2", weight="medium", html_for="email"),
            rx.input(name="email", id="email", type="email", auto_complete="username", size="3",
                     width="100%", required=True, auto_focus=True),
            rx.text(T["login.password"], as_="label", size="2", weight="medium", html_for="password"),
            rx.input(name="password", id="password", type="password", auto_complete="current-password",
                     size="3", width="100%", required=True),
            _error(),
            rx.button(rx.cond(LoginState.submitting, T["login.submitting"], T["login.submit"]),
                      type="submit", size="3", width="100%", loading=LoginState.submitting, id="login-submit"),
            spacing="3", width="100%",
        ),
        on_submit=LoginState.submit, reset_on_submit=False, width="100%",
    )
    code_form = rx.form(
        rx.vstack(
            rx.text(T["login.code_hint"], size="2", color_scheme="gray", id="totp-hint"),
            rx.text(T["login.code"], as_="label", size="2", weight="medium", html_for="totp-code"),
            rx.input(name="code", id="totp-code", auto_complete="one-time-code", input_mode="text", size="3",
                     width="100%", required=True, auto_focus=True, max_length=20, spell_check=False),
            rx.text(T["login.code_recovery_hint"], size="1", color_scheme="gray"),
            _error(),
            rx.button(rx.cond(LoginState.submitting, T["login.submitting"], T["login.verify"]),
                      type="submit", size="3", width="100%", loading=LoginState.submitting, id="totp-submit"),
            rx.button(T["login.back"], type="button", variant="ghost", size="2", on_click=LoginState.back_to_password,
                      id="totp-back"),
            spacing="3", width="100%",
        ),
        on_submit=LoginState.submit_code, reset_on_submit=True, width="100%",
    )
    return rx.center(
        rx.vstack(
            rx.hstack(
                rx.center(rx.icon("messages-square", size=22, color="white"), width="40px", height="40px",
                          border_radius="10px", background=rx.color("teal", 9)),
                rx.heading(T["app.name"], size="6"),
                align="center", spacing="3",
            ),
            rx.text(T["app.tagline"], size="2", color_scheme="gray"),
            rx.card(
                rx.cond(
                    LoginState.step == "code",
                    rx.vstack(
                        rx.heading(T["login.code_title"], size="5", id="totp-title"),
                        code_form,
                        spacing="3", width="100%", padding="8px",
                    ),
                    rx.vstack(
                        rx.heading(T["login.title"], size="5"),
                        rx.text(T["login.subtitle"], size="2", color_scheme="gray"),
                        form,
                        sso_section(),
                        spacing="3", width="100%", padding="8px",
                    ),
                ),
                width="100%", size="3",
            ),
            language_switch(),
            align="center", spacing="4", width="100%", max_width="400px", padding="24px",
        ),
        min_height="100vh", background=rx.color("slate", 2), lang=LoginState.lang,
    )
