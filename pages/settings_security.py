"""/settings/security: which roles must use 2FA, how long sessions last, and who may edit contacts."""

import reflex as rx

from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import page_header
from crm_app.state.settings_security import POLICY_ROLES, SecuritySettingsState

S = SecuritySettingsState
T = S.t


def _role_switch(role: str) -> rx.Component:
    return rx.hstack(
        rx.switch(checked=getattr(S, f"require_{role}"), on_change=lambda v: S.set_require(role, v),
                  id=f"require-2fa-{role}"),
        rx.text(T[f"role.{role}"], as_="label", size="2", html_for=f"require-2fa-{role}"),
        spacing="2", align="center",
    )


def _number(label_key: str, hint, value, on_change, field_id: str, unit_key: str) -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], as_="label", size="2", weight="medium", html_for=field_id),
        rx.hstack(rx.input(value=value, on_change=on_change, id=field_id, type="number", width="110px",
                           input_mode="numeric"),
                  rx.text(T[unit_key], size="2", color_scheme="gray"), align="center", spacing="2"),
        rx.text(hint, size="1", color_scheme="gray"),
        spacing="1",
    )


def _form() -> rx.Component:
    return rx.vstack(
        rx.card(rx.vstack(
            rx.heading(T["security.mfa_title"], size="4"),
            rx.text(T["security.mfa_help"], size="2", color_scheme="gray"),
            rx.flex(*[_role_switch(r) for r in POLICY_ROLES], gap="20px", wrap="wrap"),
            spacing="3", width="100%",
        ), width="100%"),
        rx.card(rx.vstack(
            rx.heading(T["security.sessions_title"], size="4"),
            rx.text(T["security.sessions_help"], size="2", color_scheme="gray"),
            rx.flex(
                _number("security.idle", T["security.default"] + " " + S.default_idle.to_string() + " min",
                        S.idle_minutes, S.set_idle_minutes, "policy-idle", "security.minutes"),
                _number("security.absolute", T["security.default"] + " " + S.default_absolute.to_string() + " h",
                        S.absolute_hours, S.set_absolute_hours, "policy-absolute", "security.hours"),
                gap="24px", wrap="wrap",
            ),
            spacing="3", width="100%",
        ), width="100%"),
        rx.card(rx.vstack(
            rx.heading(T["security.contacts_title"], size="4"),
            rx.hstack(
                rx.switch(checked=S.any_contact, on_change=S.set_any_contact, id="policy-any-contact"),
                rx.text(T["security.any_contact"], as_="label", size="2", html_for="policy-any-contact"),
                spacing="2", align="center",
            ),
            rx.text(T["security.any_contact_help"], size="2", color_scheme="gray"),
            spacing="3", width="100%",
        ), width="100%"),
        rx.cond(S.policy_error != "", rx.callout(S.policy_error, icon="triangle-alert", color_scheme="red",
                                                 size="1", id="policy-error", role="alert", width="100%")),
        rx.button(T["settings.save"], on_click=S.save, id="policy-save"),
        spacing="3", width="100%",
    )


@app_page("/settings/security", "Segurança · Atende CRM", on_load=[SecuritySettingsState.load])
def settings_security_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/security",
        rx.vstack(
            settings_tabs("/settings/security"),
            page_header("security.title", "security.help"),
            rx.cond(S.policy_loaded, _form(), rx.skeleton(height="160px", width="100%")),
            spacing="3", width="100%", max_width="960px",
        ),
    )
