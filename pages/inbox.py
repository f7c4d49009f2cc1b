"""/ and /inbox: the attendants' workspace (list, conversation, customer panel), live over the websocket."""

import reflex as rx

from components.inbox_chat import chat
from components.inbox_list import conversation_list
from components.inbox_panel import customer_panel
from components.inbox_rail import bridge, presence_toggle, rail
from components.page import app_page
from components.shell import mobile_nav
from crm_app.state.inbox import InboxState

S = InboxState
T = InboxState.t


def _phone_bar() -> rx.Component:
    """On phones the rail becomes a top bar with the menu and the presence toggle."""
    return rx.hstack(
        mobile_nav(), rx.text(T["app.name"], weight="bold", size="3"), rx.spacer(), presence_toggle(),
        width="100%", align="center", padding="8px 12px", border_bottom=f"1px solid {rx.color('slate', 5)}",
        class_name="phone-bar",
    )


# Phone width (under 768 px): the list and the chat are separate screens.
LAYOUT_CSS = """
.phone-bar { display: none !important; }
@media (max-width: 767px) {
  .phone-bar { display: flex !important; }
  .list-pane.chat-open { display: none !important; }
  .chat-pane:not(.chat-open) { display: none !important; }
}
.conv-row:focus-visible, #chat-scroll button:focus-visible { outline: 2px solid var(--teal-8); outline-offset: -2px; }
#inbox-page button:focus-visible, #inbox-page [role=button]:focus-visible, #inbox-page a:focus-visible {
  outline: 2px solid var(--teal-8); outline-offset: 2px; }
.inbox-tabs .rt-Button { margin: 0 !important; padding: 0 8px; height: 26px; }
.label-chip .remove-label { cursor: pointer; border-radius: 9999px; display: inline-flex; }
.label-chip .remove-label:hover, .label-chip .remove-label:focus-visible { background: var(--slate-5); }
.msg-row .reply-button { opacity: 0; transition: opacity .1s; }
.msg-row:hover .reply-button, .msg-row .reply-button:focus-visible { opacity: 1; }
@media (hover: none) { .msg-row .reply-button { opacity: .6; } }
"""


def _workspace() -> rx.Component:
    return rx.hstack(
        rail(),
        rx.vstack(
            _phone_bar(),
            rx.box(conversation_list(), flex="1", min_height="0", width="100%"),
            width=rx.breakpoints(initial="100%", sm="320px", lg="360px"),
            min_width=rx.breakpoints(initial="0", sm="320px", lg="360px"), height="100%", spacing="0",
            border_right=f"1px solid {rx.color('slate', 5)}", background=rx.color("slate", 1),
            class_name=rx.cond(S.mobile_chat, "list-pane chat-open", "list-pane"), id="list-pane",
        ),
        rx.box(chat(), flex="1", min_width="0", height="100%",
               class_name=rx.cond(S.mobile_chat, "chat-pane chat-open", "chat-pane"), id="chat-pane"),
        rx.cond(S.panel_open & (S.selected_id > 0),
                rx.box(customer_panel(), width="300px", min_width="300px", height="100%",
                       border_left=f"1px solid {rx.color('slate', 5)}", background=rx.color("slate", 1),
                       display=rx.breakpoints(initial="none", lg="block")),
                rx.fragment()),
        spacing="0", width="100%", height="100dvh", overflow="hidden",
    )


def _inbox() -> rx.Component:
    return rx.box(
        rx.cond(
            S.user_role != "",
            _workspace(),
            rx.hstack(rx.skeleton(width="72px", height="100vh"), rx.skeleton(width="340px", height="100vh"),
                      rx.skeleton(height="100vh", flex="1"), width="100%", spacing="2"),
        ),
        rx.el.style(LAYOUT_CSS),
        bridge(),
        rx.script(src="/inbox.js"),
        lang=S.lang, width="100%", id="inbox-page",
    )


@app_page("/inbox", "Atendimento · Atende CRM", on_load=[InboxState.load])
def inbox_page() -> rx.Component:
    return _inbox()


@app_page("/", "Atendimento · Atende CRM", on_load=[InboxState.load])
def index_page() -> rx.Component:
    return _inbox()
