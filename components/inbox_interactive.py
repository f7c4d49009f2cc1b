"""The composer's builder for WhatsApp reply buttons (up to 3) and lists (up to 10 rows), with a preview."""

from __future__ import annotations

import reflex as rx

from crm_app.state.inbox import InboxComposerState, InboxState

S = InboxComposerState
T = InboxState.t
DIALOG = "interactive"


def _option(value: rx.Var, index: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.input(value=value, on_change=lambda v: S.set_interactive_option(index, v), width="100%", size="2",
                 placeholder=T["inbox.interactive.option_hint"], aria_label=T["inbox.interactive.option"],
                 max_length=40, class_name="interactive-option"),
        rx.tooltip(rx.icon_button(rx.icon("x", size=14), size="1", variant="ghost", color_scheme="gray",
                                  type="button", on_click=S.remove_interactive_option(index),
                                  aria_label=T["inbox.interactive.remove"]),
                   content=T["inbox.interactive.remove"]),
        width="100%", align="center", spacing="2",
    )


def _preview() -> rx.Component:
    """Roughly what the customer's phone shows: the text, then the buttons or the list button."""
    buttons = rx.vstack(
        rx.foreach(S.interactive_options,
                   lambda o: rx.box(rx.text(o, size="2", color=rx.color("teal", 11), align="center"),
                                    width="100%", padding="6px", border_top=f"1px solid {rx.color('slate', 5)}")),
        spacing="0", width="100%",
    )
    list_button = rx.box(
        rx.hstack(rx.icon("list", size=14, color=rx.color("teal", 11)),
                  rx.text(S.interactive_list_button, size="2", color=rx.color("teal", 11)),
                  justify="center", spacing="2"),
        width="100%", padding="6px", border_top=f"1px solid {rx.color('slate', 5)}",
    )
    return rx.box(
        rx.text(T["inbox.template.preview"], size="1", weight="bold", color_scheme="gray"),
        rx.box(
            rx.text(S.interactive_body, size="2", white_space="pre-wrap", padding="8px 10px"),
            rx.cond(S.interactive_kind == "buttons", buttons, list_button),
            border_radius="8px", background=rx.color("slate", 2), border=f"1px solid {rx.color('slate', 5)}",
            max_width="320px", overflow="hidden",
        ),
        id="interactive-preview", width="100%",
    )


def interactive_dialog() -> rx.Component:
    """A toolbar button that opens the builder; sending queues one message with an idempotency key."""
    body = rx.vstack(
        rx.segmented_control.root(
            rx.segmented_control.item(T["inbox.interactive.buttons"], value="buttons"),
            rx.segmented_control.item(T["inbox.interactive.list"], value="list"),
            value=S.interactive_kind, on_change=S.set_interactive_kind, id="interactive-kind",
        ),
        rx.text(T["inbox.interactive.body"], size="2", weight="medium"),
        rx.text_area(value=S.interactive_body, on_change=S.set_interactive_body, rows="3", width="100%",
                     placeholder=T["inbox.interactive.body_hint"], id="interactive-body"),
        rx.cond(S.interactive_kind == "list",
                rx.vstack(rx.text(T["inbox.interactive.list_button"], size="2", weight="medium"),
                          rx.input(value=S.interactive_list_button, on_change=S.set_interactive_list_button,
                                   width="100%", max_length=40, id="interactive-list-button",
                                   placeholder=T["inbox.interactive.list_button_hint"]),
                          spacing="1", width="100%"),
                rx.fragment()),
        rx.text(rx.cond(S.interactive_kind == "buttons", T["inbox.interactive.options_buttons"],
                        T["inbox.interactive.options_list"]), size="2", weight="medium"),
        rx.foreach(S.interactive_options, _option),
        rx.cond(S.interactive_can_add,
                rx.button(rx.icon("plus", size=14), T["inbox.interactive.add"], size="1", variant="soft",
                          color_scheme="gray", type="button", on_click=S.add_interactive_option,
                          id="interactive-add"),
                rx.fragment()),
        _preview(),
        rx.cond(S.interactive_error != "",
                rx.callout.root(rx.callout.text(S.interactive_error), color_scheme="red", size="1", width="100%",
                                id="interactive-error"),
                rx.fragment()),
        rx.hstack(
            rx.dialog.close(rx.button(T["common.cancel"], variant="soft", color_scheme="gray", type="button")),
            rx.button(rx.icon("send", size=14), T["inbox.send"], on_click=S.send_interactive, type="button",
                      id="interactive-send"),
            justify="end", spacing="2", width="100%",
        ),
        spacing="2", width="100%",
    )
    trigger = rx.button(rx.icon("list-checks", size=14), T["inbox.interactive"], size="1", variant="soft",
                        color_scheme="gray", type="button", id="interactive-open")
    return rx.dialog.root(
        rx.dialog.trigger(trigger),
        rx.dialog.content(rx.dialog.title(T["inbox.interactive.title"]),
                          rx.dialog.description(T["inbox.interactive.help"], size="2", color_scheme="gray"),
                          rx.box(body, margin_top="12px"), max_width="480px", id="interactive-dialog"),
        open=S.open_dialog == DIALOG, on_open_change=lambda value: S.set_dialog(DIALOG, value),
    )
