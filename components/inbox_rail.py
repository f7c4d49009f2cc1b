"""The inbox's compact icon rail, with the presence toggle at the bottom, and the hidden page bridge."""

from __future__ import annotations

import reflex as rx

from components.shell import NAV
from crm_app.state.inbox import InboxState
from crm_app.state.session import SessionState

S = InboxState
T = InboxState.t


def _rail_item(route: str, icon: str, key: str) -> rx.Component:
    selected = route == "/inbox"
    return rx.tooltip(
        rx.link(
            rx.center(rx.icon(icon, size=20), width="40px", height="40px", border_radius="10px",
                      background=rx.color("teal", 4) if selected else "transparent",
                      color=rx.color("teal", 11) if selected else rx.color("slate", 11),
                      _hover={"background": rx.color("slate", 4)}),
            href=route, aria_label=T[key], id=f"nav-{route.strip('/')}",
        ),
        content=T[key], side="right",
    )


def presence_toggle(compact: bool = False) -> rx.Component:
    """Disponível / Ausente."""
    online = S.presence_status == "online"
    label = rx.cond(online, T["inbox.presence.online"], T["inbox.presence.away"])
    dot = rx.box(width="10px", height="10px", border_radius="9999px", flex_shrink="0",
                 background=rx.cond(online, rx.color("grass", 9), rx.color("amber", 9)))
    trigger = (rx.vstack(dot, rx.text(label, size="1", color_scheme="gray", align="center"), spacing="1",
                         align="center", cursor="pointer", padding="6px 2px", border_radius="8px",
                         _hover={"background": rx.color("slate", 4)}, id="presence-toggle", role="button",
                         tab_index=0, aria_label=T["inbox.presence"])
               if compact else
               rx.button(dot, label, variant="ghost", color_scheme="gray", size="1", id="presence-toggle-phone",
                         aria_label=T["inbox.presence"]))
    return rx.menu.root(
        rx.menu.trigger(trigger),
        rx.menu.content(
            rx.menu.item(T["inbox.presence.online"], on_select=S.set_presence("online"), id="presence-online"),
            rx.menu.item(T["inbox.presence.away"], on_select=S.set_presence("away"), id="presence-away"),
        ),
    )


def shortcuts() -> rx.Component:
    """The "atalhos" hover card."""
    rows = [("j / k · Alt+↓ / Alt+↑", "inbox.shortcut.next"), ("/ · Ctrl+K", "inbox.shortcut.search"),
            ("Enter", "inbox.shortcut.send"), ("Shift+Enter", "inbox.shortcut.newline"),
            ("/", "inbox.shortcut.canned"), ("r", "inbox.shortcut.reply"),
            ("Alt+E", "inbox.shortcut.close"), ("Esc", "inbox.shortcut.escape")]
    return rx.hover_card.root(
        rx.hover_card.trigger(rx.icon_button(rx.icon("keyboard", size=18), variant="ghost", color_scheme="gray",
                                             aria_label=T["inbox.shortcuts"], id="shortcuts")),
        rx.hover_card.content(
            rx.vstack(
                rx.text(T["inbox.shortcuts"], weight="bold", size="2"),
                *[rx.hstack(rx.code(keys, size="1"), rx.text(T[key], size="1"), spacing="2", align="center")
                  for keys, key in rows],
                spacing="2",
            ),
            side="right",
        ),
    )


def _user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.vstack(rx.avatar(fallback=SessionState.user_name.to(str)[:1], size="2", radius="full",
                                            color_scheme="teal"),
                                  rx.text(SessionState.user_name, align="center", line_height="1.2",
                                          color_scheme="gray", max_width="66px", font_size="10px",
                                          style={"hyphens": "auto"}),
                                  spacing="1", align="center", cursor="pointer", id="user-menu",
                                  aria_label=SessionState.user_name, role="button", tab_index=0)),
        rx.menu.content(
            rx.box(rx.text(SessionState.user_name, size="2", weight="medium"),
                   rx.text(SessionState.user_email, size="1", color_scheme="gray"),
                   rx.text(SessionState.role_label, size="1", color_scheme="gray"), padding="4px 8px"),
            rx.menu.separator(),
            rx.menu.item(rx.icon("log-out", size=14), T["menu.logout"], on_select=SessionState.logout, id="logout"),
            side="right",
        ),
    )


def rail() -> rx.Component:
    """Icons for the areas, the shortcuts card, the language, presence and the user menu."""
    items = []
    for route, icon, key, visible in NAV:
        item = _rail_item(route, icon, key)
        items.append(rx.cond(visible, item, rx.fragment()) if visible is not None else item)
    return rx.vstack(
        rx.center(rx.icon("messages-square", size=18, color="white"), width="36px", height="36px",
                  border_radius="10px", background=rx.color("teal", 9), margin_bottom="12px"),
        *items,
        rx.spacer(),
        shortcuts(),
        presence_toggle(compact=True),
        _user_menu(),
        width="72px", min_width="72px", height="100%", padding="14px 6px", spacing="2", align="center",
        border_right=f"1px solid {rx.color('slate', 5)}", background=rx.color("slate", 2),
        display=["none", "none", "flex"], id="inbox-rail",
    )


def bridge() -> rx.Component:
    """Hidden hooks for assets/inbox.js: buttons it clicks, and the notification signal it watches."""
    hidden = {"display": "none"}
    return rx.box(
        rx.el.button(id="conv-next", on_click=S.step(1), type="button", tab_index=-1),
        rx.el.button(id="conv-prev", on_click=S.step(-1), type="button", tab_index=-1),
        rx.el.button(id="conv-escape", on_click=S.escape, type="button", tab_index=-1),
        rx.el.button(id="presence-heartbeat", on_click=S.heartbeat, type="button", tab_index=-1),
        rx.el.button(id="typing-ping", on_click=S.typing, type="button", tab_index=-1),
        rx.el.span(id="notify-signal", data_seq=S.notify_seq.to(str), data_title=S.notify_title,
                   data_body=S.notify_body, data_pagetitle=S.page_title),
        rx.el.audio(src="/notify.wav", id="notify-sound", preload="auto"),
        style=hidden, aria_hidden="true",
    )
