"""The tabs that join the platform operators' pages: Empresas and Configurações globais."""

from __future__ import annotations

import reflex as rx

from crm_app.state.session import SessionState

T = SessionState.t
TABS = (("/platform/tenants", "platform_settings.tab_tenants"), ("/platform/settings", "platform_settings.tab"))


def platform_tabs(active: str) -> rx.Component:
    """A row of links, the current page highlighted."""
    return rx.hstack(
        *[rx.link(T[key], href=route, underline="none", size="2", weight="medium", padding="6px 12px",
                  border_radius="6px", color=rx.color("teal", 11) if route == active else rx.color("slate", 11),
                  background=rx.color("teal", 4) if route == active else "transparent",
                  aria_current="page" if route == active else None,
                  id=f"platform-tab-{route.rsplit('/', 1)[1]}") for route, key in TABS],
        spacing="1", padding="4px", border_radius="8px", background=rx.color("slate", 3), width="fit-content",
        role="navigation",
    )
