"""The app-wide "Reconectando…" banner, in the user's language; it replaces Reflex's own English toast and icon."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors

from crm_app.state.session import SessionState

T = SessionState.t


def connection_banner() -> rx.Component:
    """Shown on every page while the websocket is down; what arrives meanwhile appears after the reconnect."""
    return rx.cond(
        has_connection_errors,
        rx.hstack(
            rx.spinner(size="1"),
            rx.vstack(
                rx.text(T["inbox.reconnecting"], size="2", weight="bold"),
                rx.text(T["inbox.reconnecting.help"], size="1"),
                spacing="0",
            ),
            position="fixed", top="8px", left="50%", transform="translateX(-50%)", z_index="2147483000",
            padding="8px 16px", border_radius="12px", background=rx.color("amber", 9), color="black",
            box_shadow="0 2px 12px rgba(0,0,0,0.2)", align="center", spacing="3", id="reconnecting",
            role="status", aria_live="polite", max_width="min(92vw, 520px)",
        ),
        rx.fragment(),
    )


def overlay(stateful: bool) -> rx.Component | None:
    """The app wrap that takes the place of Reflex's default overlay (its toaster and wifi-off pulser)."""
    return connection_banner() if stateful else None
