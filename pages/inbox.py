"""/ and /inbox: the attendants' workspace (list, conversation, customer panel), live over the websocket."""

import reflex as rx

from components.inbox_chat import chat
from components.inbox_list import conversation_list
from components.inbox_panel import customer_panel
from components.inbox_rail import bridge, presence_toggle, shortcuts
from components.page import app_page
from components.shell import shell
from crm_app.state.inbox import InboxConversationState, InboxLiveState, InboxState

S = InboxConversationState
T = InboxState.t


# Phone width (under 768 px): the list and the chat are separate screens.
LAYOUT_CSS = """
@media (max-width: 767px) {
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
        rx.vstack(
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
        spacing="0", width="100%", height="100%", overflow="hidden",
    )


def _inbox() -> rx.Component:
    """The app shell around the three panes; the rail's foot holds the shortcuts and presence."""
    return rx.box(
        shell(T["nav.inbox"], "/inbox", _workspace(), full_bleed=True,
              rail_footer=rx.vstack(shortcuts(), rx.cond(S.read_only, rx.fragment(), presence_toggle(compact=True)),
                                    spacing="2", align="center"),
              bar_extra=rx.cond(S.read_only, rx.fragment(), rx.box(presence_toggle(), class_name="shell-phone"))),
        rx.el.style(LAYOUT_CSS),
        bridge(),
        rx.script(src="/inbox.js"),
        rx.script(src="/sla.js"),
        lang=S.lang, width="100%", id="inbox-page",
    )


@app_page("/inbox", "Atendimento · Atende CRM", on_load=[InboxLiveState.load])
def inbox_page() -> rx.Component:
    return _inbox()


@app_page("/", "Atendimento · Atende CRM", on_load=[InboxLiveState.load])
def index_page() -> rx.Component:
    return _inbox()
