"""The customer panel (right, collapsible): contact, labels, attributes, past conversations, viewers."""

from __future__ import annotations

import reflex as rx

from components.inbox_list import status_badge
from crm_app.state.inbox import InboxConversationState, InboxState

S = InboxConversationState
T = InboxState.t
C = InboxConversationState.contact


def _section(title_key: str, *children: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.text(T[title_key], size="1", weight="bold", color_scheme="gray", text_transform="uppercase",
                letter_spacing="0.04em"),
        *children,
        spacing="2", width="100%", padding="12px 16px", border_bottom=f"1px solid {rx.color('slate', 4)}",
    )


def _contact_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(T["inbox.contact.name"], size="1", color_scheme="gray"),
            rx.input(name="name", default_value=C["name"], key=C["id"] + "-name-" + C["name"], size="2", width="100%",
                     id="contact-name", read_only=S.read_only),
            rx.text(T["inbox.contact.email"], size="1", color_scheme="gray"),
            rx.input(name="email", type="email", default_value=C["email"], key=C["id"] + "-email-" + C["email"],
                     size="2", width="100%", id="contact-email", read_only=S.read_only),
            rx.text(T["inbox.contact.attributes"], size="1", color_scheme="gray"),
            rx.text_area(name="attributes", default_value=S.contact_attributes,
                         key=C["id"] + "-attrs-" + S.contact_attributes, rows="3", width="100%",
                         placeholder=T["inbox.contact.attributes_hint"], id="contact-attributes",
                         read_only=S.read_only),
            rx.cond(S.read_only, rx.fragment(),
                    rx.button(T["common.save"], size="1", type="submit", variant="soft", id="contact-save")),
            spacing="1", width="100%",
        ),
        on_submit=S.save_contact, width="100%",
    )


def _past(row: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.vstack(rx.text(row["when"], size="1", weight="medium"),
                  rx.text(row["preview"], size="1", color_scheme="gray", overflow="hidden", white_space="nowrap",
                          text_overflow="ellipsis", max_width="170px"),
                  spacing="0", min_width="0"),
        rx.spacer(),
        status_badge(row["status"], ""),
        width="100%", align="center", cursor="pointer", on_click=S.select(row["id"]),
        padding="4px 6px", border_radius="6px", _hover={"background": rx.color("slate", 3)},
    )


def customer_panel() -> rx.Component:
    """The right pane; shown on wide screens while open."""
    return rx.vstack(
        rx.vstack(
            rx.avatar(fallback=C["initials"], size="5", radius="full", color_scheme="teal", variant="soft"),
            rx.text(rx.cond(C["name"] != "", C["name"], C["phone"]), weight="bold", size="3", align="center"),
            rx.text(C["phone"], size="2", color_scheme="gray"),
            rx.cond(C["email"] != "", rx.text(C["email"], size="1", color_scheme="gray"), rx.fragment()),
            align="center", spacing="1", width="100%", padding="20px 16px 12px 16px",
            border_bottom=f"1px solid {rx.color('slate', 4)}",
        ),
        _section("inbox.viewing",
                 rx.cond(S.viewers.length() > 0,
                         rx.vstack(rx.foreach(S.viewers, lambda n: rx.hstack(
                             rx.box(width="8px", height="8px", border_radius="9999px", background=rx.color("grass", 9)),
                             rx.text(n, size="2"), align="center", spacing="2")), spacing="1", id="viewers"),
                         rx.text(T["inbox.viewing.none"], size="1", color_scheme="gray", id="viewers"))),
        _section("inbox.labels",
                 rx.cond(S.conv_labels.length() > 0,
                         rx.flex(rx.foreach(S.conv_labels, lambda n: rx.badge(n, variant="surface", radius="full")),
                                 wrap="wrap", gap="4px", id="panel-labels"),
                         rx.text(T["inbox.labels.none"], size="1", color_scheme="gray"))),
        _section("inbox.contact", _contact_form()),
        _section("inbox.past",
                 rx.cond(S.past.length() > 0, rx.vstack(rx.foreach(S.past, _past), spacing="1", width="100%"),
                         rx.text(T["inbox.past.none"], size="1", color_scheme="gray"))),
        spacing="0", width="100%", height="100%", overflow_y="auto", id="customer-panel",
    )
