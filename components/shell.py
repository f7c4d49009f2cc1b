"""The app shell: a left rail, a top bar with language and user menu, and the page."""

from __future__ import annotations

import reflex as rx

from crm_app.state.platform_tenants import PlatformNavState
from crm_app.state.session import SessionState

T = SessionState.t

NAV = (
    ("/inbox", "message-circle", "nav.inbox", None),
    ("/analytics", "chart-column", "nav.analytics", SessionState.can_see_analytics),
    ("/compliance", "shield-check", "nav.compliance", SessionState.is_admin),
    ("/settings", "settings", "nav.settings", SessionState.is_admin),
    # Supervisors reach only the canned-responses part of the settings.
    ("/settings/canned", "settings", "nav.settings", SessionState.user_role == "supervisor"),
    # Platform operators only; the page guard and the services check it again.
    ("/platform/tenants", "building-2", "nav.platform", PlatformNavState.is_operator),
)


def _nav_item(route: str, icon: str, key: str, active: str) -> rx.Component:
    selected = route == active or active.startswith(route + "/")
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=18),
            rx.text(T[key], size="2", weight="medium"),
            align="center", spacing="3", padding_x="12px", padding_y="9px", border_radius="8px",
            width="100%",
            background=rx.cond(selected, rx.color("teal", 4), "transparent"),
            color=rx.cond(selected, rx.color("teal", 11), rx.color("slate", 11)),
            _hover={"background": rx.color("slate", 4)},
        ),
        href=route, underline="none", aria_label=T[key], width="100%",
        id=f"nav-{route.strip('/').replace('/', '-')}",
    )


def sidebar(active: str) -> rx.Component:
    items = []
    for route, icon, key, visible in NAV:
        item = _nav_item(route, icon, key, active)
        items.append(rx.cond(visible, item, rx.fragment()) if visible is not None else item)
    return rx.vstack(
        rx.hstack(
            rx.center(rx.icon("messages-square", size=18, color="white"), width="32px", height="32px",
                      border_radius="8px", background=rx.color("teal", 9)),
            rx.text(T["app.name"], weight="bold", size="3"),
            align="center", spacing="2", padding="4px 8px 16px 8px",
        ),
        *items,
        width="220px", min_width="220px", height="100vh", padding="16px 12px", spacing="1",
        border_right=f"1px solid {rx.color('slate', 5)}", background=rx.color("slate", 2),
        display=["none", "none", "flex"],
    )


def mobile_nav() -> rx.Component:
    """On phones the rail becomes a menu button."""
    items = []
    for route, icon, key, visible in NAV:
        item = rx.menu.item(rx.link(rx.hstack(rx.icon(icon, size=16), rx.text(T[key]), spacing="2"),
                                    href=route, underline="none", color="inherit"))
        items.append(rx.cond(visible, item, rx.fragment()) if visible is not None else item)
    return rx.box(
        rx.menu.root(
            rx.menu.trigger(rx.icon_button(rx.icon("menu", size=18), variant="ghost", color_scheme="gray",
                                           aria_label="Menu", id="mobile-menu")),
            rx.menu.content(*items),
        ),
        display=["block", "block", "none"],
    )


def language_switch() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label=T["menu.language"], variant="ghost"),
        rx.select.content(rx.select.item("Português", value="pt-BR"), rx.select.item("English", value="en")),
        value=SessionState.lang, on_change=SessionState.set_lang, size="1",
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.avatar(fallback=SessionState.user_name.to(str)[:1], size="1", radius="full"),
                rx.vstack(rx.text(SessionState.user_name, size="2", weight="medium"),
                          rx.text(SessionState.role_label, size="1", color_scheme="gray"),
                          spacing="0", align="start", display=["none", "none", "flex"]),
                rx.icon("chevron-down", size=14),
                variant="ghost", color_scheme="gray", id="user-menu", aria_label=SessionState.user_name,
            ),
        ),
        rx.menu.content(
            rx.box(rx.text(SessionState.user_email, size="1", color_scheme="gray"), padding="4px 8px"),
            rx.menu.separator(),
            rx.menu.item(rx.link(rx.hstack(rx.icon("user-cog", size=14), rx.text(T["account.title"]), spacing="2",
                                           align="center"),
                                 href="/account", underline="none", color="inherit"),
                         id="menu-account"),
            rx.menu.item(rx.icon("log-out", size=14), T["menu.logout"], on_select=SessionState.logout,
                         id="logout"),
        ),
    )


def topbar(title) -> rx.Component:
    return rx.hstack(
        mobile_nav(),
        rx.heading(title, size="5", weight="bold"),
        rx.spacer(),
        rx.text(SessionState.tenant_name, size="2", color_scheme="gray", display=["none", "none", "block"]),
        language_switch(),
        user_menu(),
        align="center", spacing="4", padding=["10px 12px", "10px 12px", "12px 24px"], width="100%",
        border_bottom=f"1px solid {rx.color('slate', 5)}",
    )


def shell(title, active: str, *children: rx.Component) -> rx.Component:
    """A logged-in page: nothing is shown until the guard has named the user."""
    return rx.hstack(
        sidebar(active),
        rx.vstack(
            topbar(title),
            rx.cond(
                SessionState.user_role != "",
                rx.box(*children, padding=["16px", "16px", "24px"], width="100%", overflow_y="auto", flex="1"),
                rx.box(rx.skeleton(height="120px"), padding="24px", width="100%"),
            ),
            spacing="0", width="100%", height="100vh",
        ),
        spacing="0", width="100%", lang=SessionState.lang, on_mount=PlatformNavState.refresh,
    )


def coming_soon(icon: str, body_key: str) -> rx.Component:
    """An honest empty state for a page that is not built yet."""
    return rx.center(
        rx.card(
            rx.vstack(
                rx.center(rx.icon(icon, size=28, color=rx.color("teal", 11)), width="56px", height="56px",
                          border_radius="9999px", background=rx.color("teal", 3)),
                rx.badge(T["soon.badge"], color_scheme="amber", variant="soft"),
                rx.text(T[body_key], size="3", align="center", color_scheme="gray"),
                align="center", spacing="3", padding="16px",
            ),
            max_width="520px", width="100%",
        ),
        padding_top="48px", width="100%",
    )
