"""/invite: a person opens their one-time link and chooses a password."""

import reflex as rx

from components.page import public_page
from components.shell import language_switch
from crm_app.state.invite import InviteState

S = InviteState
T = S.t


def _error(message: rx.Var, field_id: str) -> rx.Component:
    return rx.cond(message != "", rx.text(message, size="1", color_scheme="red", id=field_id, role="alert"))


def _form() -> rx.Component:
    return rx.vstack(
        rx.heading(S.invite_title, size="5", id="invite-title"),
        rx.text(S.invite_subtitle, size="2", color_scheme="gray", weight="medium"),
        rx.text(S.invite_body, size="2"),
        rx.text(T["invite.password"], as_="label", size="2", weight="medium", html_for="invite-password",
                margin_top="8px"),
        rx.input(value=S.password, on_change=S.set_password, id="invite-password", type="password", size="3",
                 width="100%", auto_complete="new-password", auto_focus=True,
                 color_scheme=rx.cond(S.password_error != "", "red", "teal")),
        rx.cond(S.password_error != "", _error(S.password_error, "invite-password-error"),
                rx.text(T["invite.hint"], size="1", color_scheme="gray")),
        rx.text(T["invite.confirm"], as_="label", size="2", weight="medium", html_for="invite-confirm",
                margin_top="8px"),
        rx.input(value=S.confirm, on_change=S.set_confirm, id="invite-confirm", type="password", size="3",
                 width="100%", auto_complete="new-password",
                 color_scheme=rx.cond(S.confirm_error != "", "red", "teal")),
        _error(S.confirm_error, "invite-confirm-error"),
        rx.button(T["invite.submit"], on_click=S.submit, size="3", width="100%", loading=S.busy, id="invite-submit",
                  margin_top="12px"),
        spacing="2", width="100%",
    )


def _message(icon: str, color: str, title_key: str, body_key: str, box_id: str) -> rx.Component:
    return rx.vstack(
        rx.center(rx.icon(icon, size=26, color=rx.color(color, 11)), width="52px", height="52px",
                  border_radius="9999px", background=rx.color(color, 3)),
        rx.heading(T[title_key], size="5", align="center"),
        rx.text(T[body_key], size="2", color_scheme="gray", align="center"),
        rx.link(rx.button(T["invite.go_login"], size="3", variant=rx.cond(color == "red", "soft", "solid")),
                href="/login", id="invite-login"),
        align="center", spacing="3", width="100%", id=box_id,
    )


@public_page("/invite", "Definir senha · Atende CRM", on_load=[InviteState.open_page])
def invite_page() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.hstack(
                rx.center(rx.icon("messages-square", size=22, color="white"), width="40px", height="40px",
                          border_radius="10px", background=rx.color("teal", 9)),
                rx.heading(T["app.name"], size="6"),
                align="center", spacing="3",
            ),
            rx.card(
                rx.box(
                    rx.match(
                        S.step,
                        ("form", _form()),
                        ("invalid", _message("link-2-off", "red", "invite.invalid.title", "invite.invalid.body",
                                             "invite-invalid")),
                        ("done", _message("circle-check", "green", "invite.done.title", "invite.done.body",
                                          "invite-done")),
                        rx.vstack(rx.skeleton(height="28px", width="70%"), rx.skeleton(height="120px", width="100%"),
                                  spacing="3", width="100%"),
                    ),
                    padding="8px", width="100%",
                ),
                width="100%", size="3",
            ),
            language_switch(),
            align="center", spacing="4", width="100%", max_width="420px", padding="24px",
        ),
        min_height="100vh", background=rx.color("slate", 2), lang=S.lang,
    )
