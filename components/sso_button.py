"""The login page's "Entrar com SSO": a button that opens a small form asking for the company identifier.

Submitting it is a full page load to `/api/auth/sso/start` (a backend route that redirects to the tenant's
identity provider). A refused SSO login comes back as `/login?sso_error=<reason>`, shown here.
"""

from __future__ import annotations

import reflex as rx

from crm_app.state.settings_sso import SsoLoginState

S = SsoLoginState
T = S.t


def _divider() -> rx.Component:
    line = rx.box(height="1px", flex="1", background=rx.color("slate", 6))
    return rx.hstack(line, rx.text(T["sso.login.or"], size="1", color_scheme="gray"), line,
                     align="center", width="100%", spacing="3")


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(T["sso.login.company"], as_="label", size="2", weight="medium", html_for="sso-tenant"),
            rx.input(name="tenant", id="sso-tenant", size="3", width="100%", auto_complete="organization",
                     default_value=S.last_tenant, placeholder="minha-empresa", max_length=60, spell_check=False,
                     auto_capitalize="none", auto_focus=True),
            rx.text(T["sso.login.company_hint"], size="1", color_scheme="gray"),
            rx.hstack(
                rx.button(T["sso.login.cancel"], type="button", variant="ghost", size="2",
                          on_click=S.set_sso_open(False), id="sso-cancel"),
                rx.button(rx.icon("key-round", size=16), T["sso.login.continue"], type="submit", size="3",
                          flex="1", id="sso-continue"),
                width="100%", align="center", spacing="3",
            ),
            spacing="2", width="100%",
        ),
        on_submit=S.start, reset_on_submit=False, width="100%",
    )


def sso_section() -> rx.Component:
    """The one element the login page adds: the SSO divider, error, button or form."""
    return rx.vstack(
        _divider(),
        rx.cond(
            T[S.sso_error_key],
            rx.callout(T[S.sso_error_key], icon="shield-alert", color_scheme="red", size="1", width="100%",
                       id="sso-error", role="alert"),
        ),
        rx.cond(
            S.sso_open,
            _form(),
            rx.button(rx.icon("key-round", size=16), T["sso.login.button"], type="button", variant="outline",
                      size="3", width="100%", on_click=S.set_sso_open(True), id="sso-open"),
        ),
        spacing="3", width="100%", on_mount=S.read_params,
    )
