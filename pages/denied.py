"""/denied: where the guard sends a role that may not open a page."""

import reflex as rx

from components.page import public_page
from crm_app.state.session import SessionState

T = SessionState.t


@public_page("/denied", "Acesso negado · Atende CRM")
def denied_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.icon("shield-x", size=36, color=rx.color("red", 10)),
                rx.heading(T["denied.title"], size="5", id="denied-title"),
                rx.text(T["denied.body"], size="2", color_scheme="gray", align="center"),
                rx.link(rx.button(T["denied.back"], variant="soft"), href="/inbox"),
                align="center", spacing="3", padding="16px",
            ),
            max_width="440px",
        ),
        min_height="100vh", background=rx.color("slate", 2),
    )
