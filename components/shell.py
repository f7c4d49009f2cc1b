"""The one app shell: an icon rail (labels on hover), a top bar with tenant, language and user menu, and the page.

Every logged-in page is `shell(title, active_route, *children)`. On phones (under 768 px) the rail is hidden and
the top bar's menu button opens the same navigation; the tenant, language and user menu stay in the top bar.
"""

from __future__ import annotations

import reflex as rx

from components.ui import empty_state
from crm_app.state.platform_tenants import PlatformNavState
from crm_app.state.session import SessionState

T = SessionState.t

NAV = (
    ("/inbox", "message-circle", "nav.inbox", SessionState.can_use_inbox),
    ("/analytics", "chart-column", "nav.analytics", SessionState.can_see_analytics),
    ("/analytics/me", "chart-column", "nav.analytics_me", SessionState.user_role == "attendant"),
    ("/compliance", "shield-check", "nav.compliance", SessionState.can_see_compliance),
    ("/settings/general", "settings", "nav.settings", SessionState.is_admin),
    # Supervisors reach only the canned-responses part of the settings.
    ("/settings/canned", "settings", "nav.settings", SessionState.user_role == "supervisor"),
    # Platform operators only; the page guard and the services check it again.
    ("/platform/tenants", "building-2", "nav.platform", PlatformNavState.is_operator),
)

# Phones: the rail and the wide top-bar parts hide; the menu button shows. Plain CSS, so no flash on load.
SHELL_CSS = """
.shell-phone, .lang-short { display: none !important; }
@media (max-width: 767px) {
  .shell-rail, .shell-wide { display: none !important; }
  .shell-phone { display: flex !important; }
  .shell-lang .lang-long { display: none !important; }
  .shell-lang .lang-short { display: inline !important; }
}
.shell-title { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.shell-rail a:focus-visible, .shell-bar button:focus-visible, .shell-bar [role=combobox]:focus-visible {
  outline: 2px solid var(--teal-8); outline-offset: 2px; }
"""


def _visible(visible, item: rx.Component) -> rx.Component:
    return rx.cond(visible, item, rx.fragment()) if visible is not None else item


def _is_active(route: str, active: str) -> bool:
    # One icon for all the platform pages, and one for all the settings pages.
    section = any(route.startswith(p) and (active == p.rstrip("/") or active.startswith(p))
                  for p in ("/platform/", "/settings/"))
    return route == active or active.startswith(route + "/") or (route == "/inbox" and active == "/") or section


def _rail_item(route: str, icon: str, key: str, active: str) -> rx.Component:
    selected = _is_active(route, active)
    return rx.tooltip(
        rx.link(
            rx.center(rx.icon(icon, size=20), width="40px", height="40px", border_radius="10px",
                      background=rx.color("teal", 4) if selected else "transparent",
                      color=rx.color("teal", 11) if selected else rx.color("slate", 11),
                      _hover={"background": rx.color("teal", 4) if selected else rx.color("slate", 4)}),
            href=route, aria_label=T[key], id=f"nav-{route.strip('/').replace('/', '-')}",
            aria_current="page" if selected else None,
        ),
        content=T[key], side="right",
    )


def _brand() -> rx.Component:
    return rx.center(rx.icon("messages-square", size=18, color="white"), width="36px", height="36px",
                     border_radius="10px", background=rx.color("teal", 9), flex_shrink="0")


def rail(active: str, footer: rx.Component | None = None) -> rx.Component:
    """The left rail: the areas as icons (their names on hover), and the page's own footer (the inbox's presence)."""
    return rx.vstack(
        _brand(),
        rx.box(height="8px"),
        *[_visible(visible, _rail_item(route, icon, key, active)) for route, icon, key, visible in NAV],
        rx.spacer(),
        footer if footer is not None else rx.fragment(),
        width="72px", min_width="72px", height="100%", padding="14px 6px", spacing="2", align="center",
        border_right=f"1px solid {rx.color('slate', 5)}", background=rx.color("slate", 2),
        class_name="shell-rail", id="app-rail", role="navigation", aria_label=T["menu.navigation"],
    )


def mobile_nav(active: str = "") -> rx.Component:
    """On phones the rail becomes a menu button in the top bar."""
    items = []
    for route, icon, key, visible in NAV:
        selected = _is_active(route, active)
        item = rx.menu.item(rx.link(rx.hstack(rx.icon(icon, size=16), rx.text(T[key]), spacing="2", align="center"),
                                    href=route, underline="none", color="inherit",
                                    weight="bold" if selected else None, width="100%"))
        items.append(_visible(visible, item))
    return rx.box(
        rx.menu.root(
            rx.menu.trigger(rx.icon_button(rx.icon("menu", size=18), variant="ghost", color_scheme="gray",
                                           aria_label=T["menu.navigation"], id="mobile-menu")),
            rx.menu.content(*items, side="bottom", align="start"),
        ),
        class_name="shell-phone",
    )


def _language(name: str, short: str, value: str) -> rx.Component:
    # The list shows the name; on phones the closed picker shows only the short code.
    return rx.select.item(rx.el.span(name, class_name="lang-long"), rx.el.span(short, class_name="lang-short"),
                          value=value)


def language_switch() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label=T["menu.language"], variant="ghost", id="language-switch",
                          class_name="shell-lang"),
        rx.select.content(_language("Português", "PT", "pt-BR"), _language("English", "EN", "en")),
        value=SessionState.lang, on_change=SessionState.set_lang, size="1",
    )


def user_menu() -> rx.Component:
    """The avatar and name; the menu holds the tenant, the account page and logout."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.avatar(fallback=SessionState.user_name.to(str)[:1], size="1", radius="full", color_scheme="teal"),
                rx.vstack(rx.text(SessionState.user_name, size="2", weight="medium", trim="both"),
                          rx.text(SessionState.role_label, size="1", color_scheme="gray", trim="both"),
                          spacing="1", align="start", class_name="shell-wide"),
                rx.icon("chevron-down", size=14, class_name="shell-wide"),
                variant="ghost", color_scheme="gray", id="user-menu", aria_label=SessionState.user_name,
            ),
        ),
        rx.menu.content(
            rx.box(rx.text(SessionState.user_name, size="2", weight="medium"),
                   rx.text(SessionState.user_email, size="1", color_scheme="gray"),
                   rx.text(SessionState.tenant_name, size="1", color_scheme="gray", id="user-menu-tenant"),
                   padding="4px 8px"),
            rx.menu.separator(),
            rx.menu.item(rx.link(rx.hstack(rx.icon("user-cog", size=14), rx.text(T["account.title"]), spacing="2",
                                           align="center"),
                                 href="/account", underline="none", color="inherit"),
                         id="menu-account"),
            rx.menu.item(rx.icon("log-out", size=14), T["menu.logout"], on_select=SessionState.logout,
                         id="logout"),
            align="end",
        ),
    )


def topbar(title, active: str, extra: rx.Component | None = None) -> rx.Component:
    """The title with the tenant under it on the left; the page's extra (the inbox's presence), the language and
    the user menu on the right. The same at every width; only the rail becomes the menu button."""
    return rx.hstack(
        mobile_nav(active),
        rx.vstack(
            rx.heading(title, size="4", weight="bold", class_name="shell-title", id="page-title", width="100%"),
            rx.text(SessionState.tenant_name, size="1", color_scheme="gray", class_name="shell-title",
                    id="shell-tenant", width="100%"),
            spacing="0", flex="1", min_width="0",
        ),
        extra if extra is not None else rx.fragment(),
        language_switch(),
        user_menu(),
        align="center", spacing="2", padding=["6px 8px 6px 12px", "6px 12px", "6px 20px"], width="100%",
        height="56px", min_height="56px", border_bottom=f"1px solid {rx.color('slate', 5)}", class_name="shell-bar",
        background=rx.color("slate", 1),
    )


def shell(title, active: str, *children: rx.Component, rail_footer: rx.Component | None = None,
          bar_extra: rx.Component | None = None, full_bleed: bool = False) -> rx.Component:
    """A logged-in page: nothing is shown until the guard has named the user.

    Args:
        title: the page's name in the top bar.
        active: the route whose rail icon is highlighted.
        children: the page.
        rail_footer: what sits at the bottom of the rail (the inbox's shortcuts and presence).
        bar_extra: what sits in the top bar before the tenant (the inbox's presence on phones).
        full_bleed: the page fills the space itself, with no padding or scrolling (the inbox's panes).
    """
    loading = rx.box(rx.skeleton(height="120px"), padding="24px", width="100%")
    body = (rx.box(*children, flex="1", min_height="0", width="100%", overflow="hidden", display="flex")
            if full_bleed else
            rx.box(*children, padding=["16px 12px", "16px", "24px"], width="100%", overflow_y="auto", flex="1",
                   min_height="0"))
    return rx.hstack(
        rail(active, rail_footer),
        rx.vstack(
            topbar(title, active, bar_extra),
            rx.cond(SessionState.user_role != "", body, loading),
            spacing="0", width="100%", min_width="0", height="100%",
        ),
        rx.el.style(SHELL_CSS),
        spacing="0", width="100%", height="100dvh", overflow="hidden", lang=SessionState.lang,
        on_mount=PlatformNavState.refresh, id="app-shell",
    )


def coming_soon(icon: str, body_key: str) -> rx.Component:
    """An honest empty state for a page that is not built yet."""
    return rx.center(
        rx.card(empty_state(icon, body_key, badge=T["soon.badge"]), max_width="520px", width="100%"),
        padding_top="48px", width="100%",
    )
