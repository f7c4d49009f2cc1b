"""The tabs that join the settings pages: all of them for admins; Respostas rápidas and SLA for supervisors."""

from __future__ import annotations

import reflex as rx

from crm_app.state.session import SessionState

T = SessionState.t
TABS = (("/settings/general", "settings.tab_general"), ("/settings/numbers", "settings.tab_numbers"),
        ("/settings/users", "settings.tab_users"),
        ("/settings/teams", "settings.tab_teams"), ("/settings/security", "settings.tab_security"),
        ("/settings/sso", "settings.tab_sso"), ("/settings/email", "settings.tab_email"),
        ("/settings/webhooks", "settings.tab_webhooks"),
        ("/compliance/audit", "settings.tab_audit"),
        ("/settings/bot", "settings.tab_bot"), ("/settings/knowledge", "settings.tab_knowledge"),
        ("/settings/canned", "settings.tab_canned"), ("/settings/sla", "settings.tab_sla"),
        ("/settings", "settings.tab_api"))
SUPERVISOR_TABS = (("/settings/canned", "settings.tab_canned"), ("/settings/sla", "settings.tab_sla"))


def _tab(route: str, key: str, active: str) -> rx.Component:
    selected = route == active
    return rx.link(
        T[key], href=route, underline="none", size="2", weight="medium",
        padding="6px 12px", border_radius="6px", flex_shrink="0",
        color=rx.color("teal", 11) if selected else rx.color("slate", 11),
        background=rx.color("teal", 4) if selected else "transparent",
        _hover={"background": rx.color("teal", 4) if selected else rx.color("slate", 4)},
        aria_current="page" if selected else None, id=f"settings-tab-{route.strip('/').replace('/', '-')}",
    )


# On phones the row scrolls: bring the current tab into view.
_SCROLL_ACTIVE = ("document.querySelector('#settings-tabs [aria-current=page]')"
                  "?.scrollIntoView({block: 'nearest', inline: 'center'})")


def settings_tabs(active: str) -> rx.Component:
    """Admins see every tab; supervisors the two pages they manage (canned responses and SLA)."""
    return rx.cond(
        SessionState.is_admin,
        _bar(TABS, active),
        rx.cond(SessionState.user_role == "supervisor", _bar(SUPERVISOR_TABS, active), rx.fragment()),
    )


def _bar(tabs: tuple[tuple[str, str], ...], active: str) -> rx.Component:
    # Phones: one row that scrolls sideways instead of three wrapped rows above the page.
    return rx.hstack(*[_tab(route, key, active) for route, key in tabs], spacing="1", padding="4px",
                     flex_wrap=rx.breakpoints(initial="nowrap", md="wrap"), overflow_x="auto", white_space="nowrap",
                     border_radius="8px", background=rx.color("slate", 3), margin_bottom="8px",
                     width=rx.breakpoints(initial="100%", md="fit-content"), max_width="100%", flex_shrink="0",
                     id="settings-tabs", role="navigation", aria_label=T["settings.title"],
                     on_mount=rx.call_script(_SCROLL_ACTIVE))
