"""The tabs that join the settings pages: Geral (admins) and Respostas rápidas (admins and supervisors)."""

from __future__ import annotations

import reflex as rx

from crm_app.state.session import SessionState

T = SessionState.t
TABS = (("/settings", "settings.tab_general"), ("/settings/users", "settings.tab_users"),
        ("/settings/teams", "settings.tab_teams"), ("/settings/security", "settings.tab_security"),
        ("/settings/sso", "settings.tab_sso"), ("/settings/audit", "settings.tab_audit"),
        ("/settings/bot", "settings.tab_bot"), ("/settings/knowledge", "settings.tab_knowledge"),
        ("/settings/canned", "settings.tab_canned"))


def _tab(route: str, key: str, active: str) -> rx.Component:
    selected = route == active
    return rx.link(
        T[key], href=route, underline="none", size="2", weight="medium",
        padding="6px 12px", border_radius="6px",
        color=rx.color("teal", 11) if selected else rx.color("slate", 11),
        background=rx.color("teal", 4) if selected else "transparent",
        _hover={"background": rx.color("teal", 4) if selected else rx.color("slate", 4)},
        aria_current="page" if selected else None, id=f"settings-tab-{route.strip('/').replace('/', '-')}",
    )


def settings_tabs(active: str) -> rx.Component:
    """Only admins see the tabs: supervisors have a single settings page."""
    return rx.cond(
        SessionState.is_admin,
        rx.hstack(*[_tab(route, key, active) for route, key in TABS], spacing="1", padding="4px", flex_wrap="wrap",
                  border_radius="8px", background=rx.color("slate", 3), width="fit-content",
                  margin_bottom="8px"),
        rx.fragment(),
    )
