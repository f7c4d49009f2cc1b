"""The tabs of the Conformidade area, one line per tab (route, label key); other areas' tabs join this list."""

from __future__ import annotations

import reflex as rx

from crm_app.state.session import SessionState

T = SessionState.t
TABS = (
    ("/compliance", "compliance.tab_overview"),
    ("/compliance/requests", "compliance.tab_requests"),
    ("/compliance/consents", "compliance.tab_consents"),
    ("/compliance/retention", "compliance.tab_retention"),
    ("/compliance/audit", "compliance.tab_audit"),
    ("/compliance/incidents", "compliance.tab_incidents"),
)


def _tab(route: str, key: str, active: str) -> rx.Component:
    selected = route == active
    return rx.link(
        T[key], href=route, underline="none", size="2", weight="medium",
        padding="6px 12px", border_radius="6px", flex_shrink="0",
        color=rx.color("teal", 11) if selected else rx.color("slate", 11),
        background=rx.color("teal", 4) if selected else "transparent",
        _hover={"background": rx.color("teal", 4) if selected else rx.color("slate", 4)},
        aria_current="page" if selected else None, id=f"compliance-tab-{route.strip('/').replace('/', '-')}",
    )


def compliance_tabs(active: str) -> rx.Component:
    """One row of tabs; on phones it scrolls sideways."""
    return rx.hstack(
        *[_tab(route, key, active) for route, key in TABS], spacing="1", padding="4px",
        flex_wrap=rx.breakpoints(initial="nowrap", md="wrap"), overflow_x="auto", white_space="nowrap",
        border_radius="8px", background=rx.color("slate", 3), margin_bottom="8px",
        width=rx.breakpoints(initial="100%", md="fit-content"), max_width="100%", flex_shrink="0",
        id="compliance-tabs", role="navigation", aria_label=T["compliance.title"],
    )
