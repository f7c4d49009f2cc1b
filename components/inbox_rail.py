"""The inbox's pieces of the app shell (presence toggle, shortcuts card) and the hidden page bridge."""

from __future__ import annotations

import reflex as rx

from crm_app.state.inbox import InboxComposerState, InboxLiveState, InboxState

S = InboxLiveState
T = InboxState.t


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


def bridge() -> rx.Component:
    """Hidden hooks for assets/inbox.js: buttons it clicks, and the notification signal it watches."""
    hidden = {"display": "none"}
    return rx.box(
        rx.el.button(id="conv-next", on_click=S.step(1), type="button", tab_index=-1),
        rx.el.button(id="conv-prev", on_click=S.step(-1), type="button", tab_index=-1),
        rx.el.button(id="conv-escape", on_click=S.escape, type="button", tab_index=-1),
        rx.el.button(id="presence-heartbeat", on_click=S.heartbeat, type="button", tab_index=-1),
        rx.el.button(id="typing-ping", on_click=InboxComposerState.typing, type="button", tab_index=-1),
        rx.el.span(id="notify-signal", data_seq=S.notify_seq.to(str), data_title=S.notify_title,
                   data_body=S.notify_body, data_pagetitle=S.page_title),
        rx.el.audio(src="/notify.wav", id="notify-sound", preload="auto"),
        style=hidden, aria_hidden="true",
    )
