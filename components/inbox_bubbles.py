"""Message bubbles: who sent it, ticks, media in place, reply quotes, reactions, edits, deletions, day separators.

Customer text is only ever rendered through text components (React escapes
it); never rx.html or markdown. The only link built from customer data is the
map link, made server-side from numeric coordinates.
"""

from __future__ import annotations

import reflex as rx

from crm_app.state.inbox import InboxActionsState, InboxComposerState, InboxState

S = InboxComposerState
A = InboxActionsState
T = InboxState.t


def tick(item: rx.Var) -> rx.Component:
    """✓ sent, ✓✓ delivered, ✓✓ blue read, ⚠ failed with the reason, a clock while queued."""
    return rx.match(
        item["tick"],
        ("pending", rx.tooltip(rx.icon("clock", size=13, color=rx.color("slate", 9), class_name="tick",
                                       data_tick="pending"), content=T["inbox.tick.pending"])),
        ("sent", rx.tooltip(rx.icon("check", size=14, color=rx.color("slate", 10), class_name="tick",
                                    data_tick="sent"), content=T["inbox.tick.sent"])),
        ("delivered", rx.tooltip(rx.icon("check-check", size=14, color=rx.color("slate", 10), class_name="tick",
                                         data_tick="delivered"), content=T["inbox.tick.delivered"])),
        ("read", rx.tooltip(rx.icon("check-check", size=14, color=rx.color("blue", 10), class_name="tick",
                                    data_tick="read"), content=T["inbox.tick.read"])),
        ("failed", rx.hstack(
            rx.tooltip(
                rx.hstack(rx.icon("triangle-alert", size=14, color=rx.color("red", 10)),
                          rx.text(T["inbox.tick.failed"], size="1", color_scheme="red", weight="medium"),
                          spacing="1", align="center", class_name="tick", data_tick="failed", tab_index=0,
                          aria_label=T["inbox.resend.why"] + ": " + item["error"]),
                content=T["inbox.resend.why"] + ": " + item["error"], side="bottom"),
            rx.cond(S.can_reply,
                    rx.button(rx.icon("rotate-cw", size=12), T["inbox.resend"], size="1", variant="soft",
                              color_scheme="red", on_click=A.resend(item["id"]), class_name="resend-button",
                              data_id=item["id"]),
                    rx.fragment()),
            spacing="2", align="center")),
        rx.fragment(),
    )


def _media(item: rx.Var) -> rx.Component:
    url = item["media_url"]
    return rx.match(
        item["kind"],
        ("image", rx.cond(url != "", rx.link(rx.image(src=url, max_width="260px", max_height="260px",
                                                       border_radius="8px", alt=item["file_name"], loading="lazy"),
                                              href=url, is_external=True), rx.fragment())),
        ("sticker", rx.cond(url != "", rx.image(src=url, width="120px", height="120px", alt="sticker"),
                            rx.fragment())),
        ("video", rx.cond(url != "", rx.el.video(src=url, controls=True, preload="metadata",
                                                 style={"maxWidth": "280px", "borderRadius": "8px"}),
                          rx.fragment())),
        ("audio", rx.cond(url != "", rx.el.audio(src=url, controls=True, preload="none"), rx.fragment())),
        ("voice", rx.cond(url != "", rx.el.audio(src=url, controls=True, preload="none"), rx.fragment())),
        ("document", rx.cond(url != "", rx.link(
            rx.hstack(rx.icon("file-text", size=18), rx.text(rx.cond(item["file_name"] != "", item["file_name"],
                                                                      T["inbox.document"]), size="2"),
                      align="center", spacing="2", padding="8px", border_radius="8px",
                      background=rx.color("slate", 3)),
            href=url, is_external=True, underline="none"), rx.fragment())),
        ("location", rx.vstack(
            rx.hstack(rx.icon("map-pin", size=16, color=rx.color("red", 10)),
                      rx.text(rx.cond(item["location"] != "", item["location"], T["inbox.location"]), size="2"),
                      spacing="1", align="center"),
            rx.cond(item["map_url"] != "", rx.link(T["inbox.open_map"], href=item["map_url"], is_external=True,
                                                   size="1", rel="noopener noreferrer nofollow"), rx.fragment()),
            spacing="1")),
        ("contacts", rx.hstack(rx.icon("contact", size=18),
                               rx.text(item["contacts"], size="2", white_space="pre-wrap"),
                               spacing="2", padding="8px", border_radius="8px", background=rx.color("slate", 3))),
        rx.fragment(),
    )


def _quote(item: rx.Var) -> rx.Component:
    return rx.cond(
        item["reply_body"] != "",
        rx.box(
            rx.text(item["reply_sender"], size="1", weight="bold", color=rx.color("teal", 11)),
            rx.text(item["reply_body"], size="1", color_scheme="gray", overflow="hidden",
                    style={"display": "-webkit-box", "-webkit-line-clamp": "2", "-webkit-box-orient": "vertical"}),
            border_left=f"3px solid {rx.color('teal', 9)}", padding="4px 8px", border_radius="4px",
            background="rgba(0,0,0,0.04)", margin_bottom="4px",
        ),
        rx.fragment(),
    )


def _deleted(item: rx.Var) -> rx.Component:
    """"mensagem apagada" in place of the content; the text kept for audit (if any) on hover."""
    return rx.hstack(
        rx.icon("ban", size=14, color=rx.color("slate", 10)),
        rx.text(T["inbox.deleted"], size="2", color=rx.color("slate", 11), style={"fontStyle": "italic"}),
        spacing="1", align="center", class_name="msg-deleted", title=item["history"],
    )


def _edited(item: rx.Var) -> rx.Component:
    """"editada" beside the time; the earlier text(s) on hover."""
    return rx.cond(
        item["edited"] != "",
        rx.text(T["inbox.edited"], size="1", color=rx.color("slate", 10), style={"fontStyle": "italic"},
                class_name="msg-edited", title=item["history"]),
        rx.fragment(),
    )


def _body(item: rx.Var) -> rx.Component:
    return rx.cond(
        (item["body"] != "") & (item["kind"] != "location") & (item["kind"] != "contacts"),
        rx.text(item["body"], size="2", white_space="pre-wrap", word_break="break-word", class_name="msg-body"),
        rx.fragment(),
    )


def _bubble_colors(item: rx.Var) -> dict:
    kind = item["sender_type"]
    return {
        "background": rx.match(kind, ("customer", rx.color("slate", 3)), ("attendant", rx.color("teal", 4)),
                               ("bot", rx.color("violet", 4)), ("note", rx.color("amber", 3)), rx.color("slate", 3)),
        "border": rx.match(kind, ("note", f"1px dashed {rx.color('amber', 8)}"),
                           f"1px solid {rx.color('slate', 4)}"),
    }


def _bubble(item: rx.Var) -> rx.Component:
    colors = _bubble_colors(item)
    right = item["side"] == "right"
    header = rx.match(
        item["sender_type"],
        ("bot", rx.hstack(rx.icon("bot", size=13, color=rx.color("violet", 11)),
                          rx.text(T["inbox.sender.bot"], size="1", weight="bold", color=rx.color("violet", 11)),
                          spacing="1", align="center")),
        ("note", rx.hstack(rx.icon("lock", size=12, color=rx.color("amber", 11)),
                           rx.text(T["inbox.note"], size="1", weight="bold", color=rx.color("amber", 11)),
                           rx.text("· " + item["sender_name"], size="1", color=rx.color("amber", 11)),
                           spacing="1", align="center")),
        ("attendant", rx.text(item["sender_name"], size="1", weight="bold", color=rx.color("teal", 11))),
        rx.fragment(),
    )
    bubble = rx.box(
        header,
        rx.cond(item["deleted"] != "", _deleted(item),
                rx.fragment(_quote(item), _media(item), _body(item))),
        rx.hstack(
            rx.cond(item["reactions"] != "", rx.text(item["reactions"], size="1"), rx.fragment()),
            rx.spacer(),
            _edited(item),
            rx.text(item["time"], size="1", color=rx.color("slate", 10)),
            tick(item),
            spacing="1", align="center", justify="end", margin_top="2px",
        ),
        padding="6px 10px", border_radius=rx.cond(right, "12px 12px 2px 12px", "12px 12px 12px 2px"),
        max_width=["88%", "80%", "70%"], min_width="90px", background=colors["background"], border=colors["border"],
        box_shadow="0 1px 1px rgba(0,0,0,0.04)",
    )
    actions = rx.cond(
        item["id"].to(str).contains("pending-") | (item["sender_type"] == "note"),
        rx.fragment(),
        rx.icon_button(rx.icon("reply", size=14), size="1", variant="ghost", color_scheme="gray",
                       on_click=S.set_reply(item["id"]), aria_label=T["inbox.reply"], title=T["inbox.reply"],
                       class_name="reply-button"),
    )
    return rx.hstack(
        rx.cond(right, actions, rx.fragment()),
        bubble,
        rx.cond(right, rx.fragment(), actions),
        justify=rx.cond(right, "end", "start"), align="center", width="100%", spacing="1",
        class_name="msg-row", data_sender=item["sender_type"], data_id=item["id"],
    )


def _system(item: rx.Var) -> rx.Component:
    return rx.center(
        rx.text(item["body"], " · ", item["time"], size="1", color_scheme="gray", padding="2px 10px",
                border_radius="9999px", background=rx.color("slate", 3), align="center"),
        width="100%", class_name="msg-row", data_sender="system", data_id=item["id"],
    )


def _separator(label) -> rx.Component:
    return rx.hstack(
        rx.separator(size="4", flex="1"),
        rx.text(label, size="1", weight="medium", color_scheme="gray", white_space="nowrap"),
        rx.separator(size="4", flex="1"),
        width="100%", align="center", spacing="3", padding="8px 0", class_name="day-separator",
    )


def message(item: rx.Var) -> rx.Component:
    """One history entry: maybe a day separator, maybe the "novas mensagens" divider, then the bubble."""
    return rx.fragment(
        rx.cond(item["separator"] != "", _separator(item["separator"]), rx.fragment()),
        rx.cond(item["divider"] != "",
                rx.hstack(rx.separator(size="4", flex="1", color_scheme="red"),
                          rx.text(T["inbox.new_messages"], size="1", color_scheme="red", weight="bold"),
                          rx.separator(size="4", flex="1", color_scheme="red"), width="100%", align="center"),
                rx.fragment()),
        rx.cond(item["side"] == "center", _system(item), _bubble(item)),
    )
