"""The open conversation: header with actions, the history, and the composer."""

from __future__ import annotations

import reflex as rx

from components.inbox_bubbles import message
from components.inbox_interactive import interactive_dialog
from components.inbox_list import priority_badge, priority_label, sla_chip, status_badge, window_chip
from crm_app.state.inbox import InboxActionsState, InboxComposerState, InboxConversationState, InboxState

S = InboxComposerState
A = InboxActionsState
T = InboxState.t
H = InboxConversationState.header


def icon_action(icon: str, label_key: str, **props) -> rx.Component:
    """An icon-only button with its name for screen readers and a tooltip for the eyes."""
    return rx.icon_button(rx.icon(icon, size=14), size="1", variant="soft", color_scheme="gray",
                          aria_label=T[label_key], **props)


def _dialog(trigger: rx.Component, title_key: str, body: rx.Component, dialog_id: str,
            tooltip_key: str | None = None) -> rx.Component:
    """A dialog whose open state lives in the state: it closes only when its action succeeded."""
    opener = rx.dialog.trigger(trigger)
    return rx.dialog.root(
        rx.tooltip(opener, content=T[tooltip_key]) if tooltip_key else opener,
        rx.dialog.content(rx.dialog.title(T[title_key]), body, max_width="440px", id=dialog_id),
        open=S.open_dialog == dialog_id, on_open_change=lambda value: S.set_dialog(dialog_id, value),
    )


def _form_buttons(submit_key: str, submit_id: str, color: str = "teal") -> rx.Component:
    return rx.hstack(
        rx.dialog.close(rx.button(T["common.cancel"], variant="soft", color_scheme="gray", type="button")),
        rx.button(T[submit_key], type="submit", color_scheme=color, id=submit_id),
        justify="end", spacing="2", width="100%", margin_top="12px",
    )


def _transfer() -> rx.Component:
    body = rx.form(
        rx.vstack(
            rx.text(T["inbox.transfer.to"], size="2", weight="medium"),
            rx.select.root(
                rx.select.trigger(placeholder=T["inbox.transfer.pick"], width="100%", id="transfer-target"),
                rx.select.content(
                    rx.select.group(rx.select.label(T["inbox.filter.team"]),
                                    rx.foreach(S.team_options,
                                               lambda o: rx.select.item(o["name"], value="team:" + o["id"]))),
                    rx.select.separator(),
                    rx.select.group(rx.select.label(T["inbox.transfer.people"]),
                                    rx.foreach(S.user_options,
                                               lambda o: rx.select.item(o["name"], value="user:" + o["id"]))),
                ),
                name="target",
            ),
            rx.text(T["inbox.transfer.reason"], size="2", weight="medium"),
            rx.text_area(name="reason", placeholder=T["inbox.transfer.reason_hint"], width="100%", rows="3"),
            _form_buttons("inbox.transfer", "transfer-submit"),
            spacing="2", width="100%",
        ),
        on_submit=A.transfer, reset_on_submit=True,
    )
    trigger = rx.button(rx.icon("arrow-right-left", size=14), T["inbox.transfer"], size="1", variant="soft",
                        color_scheme="gray", id="transfer-button", on_click=A.open_transfer)
    return _dialog(trigger, "inbox.transfer.title", body, "transfer-dialog")


def _close() -> rx.Component:
    body = rx.form(
        rx.vstack(
            rx.text(T["inbox.close.help"], size="2", color_scheme="gray"),
            rx.text_area(name="note", placeholder=T["inbox.close.note"], width="100%", rows="3"),
            _form_buttons("inbox.close", "close-submit", "red"),
            spacing="2", width="100%",
        ),
        on_submit=A.close, reset_on_submit=True,
    )
    trigger = rx.button(rx.icon("circle-check", size=14), T["inbox.close"], size="1", variant="soft",
                        color_scheme="red", id="close-button")
    return _dialog(trigger, "inbox.close.title", body, "close-dialog")


def _snooze() -> rx.Component:
    body = rx.form(
        rx.vstack(
            rx.text(T["inbox.snooze.until"], size="2", weight="medium"),
            rx.input(type="datetime-local", name="until", width="100%", required=True),
            _form_buttons("inbox.snooze", "snooze-submit"),
            spacing="2", width="100%",
        ),
        on_submit=A.snooze, reset_on_submit=True,
    )
    trigger = icon_action("alarm-clock", "inbox.snooze", id="snooze-button")
    return _dialog(trigger, "inbox.snooze.title", body, "snooze-dialog", tooltip_key="inbox.snooze")


def _labels() -> rx.Component:
    chips = rx.foreach(S.conv_labels, lambda name: rx.badge(
        name,
        rx.el.button(rx.icon("x", size=10), on_click=A.remove_label(name), type="button", class_name="remove-label",
                     aria_label=T["inbox.remove"] + " " + name, title=T["inbox.remove"],
                     style={"background": "none", "border": "none", "padding": "1px", "color": "inherit"}),
        variant="surface", color_scheme="gray", radius="full", class_name="label-chip", data_label=name))
    return rx.popover.root(
        rx.tooltip(rx.popover.trigger(icon_action("tag", "inbox.labels", id="labels-button")),
                   content=T["inbox.labels"]),
        rx.popover.content(
            rx.vstack(
                rx.text(T["inbox.labels"], weight="bold", size="2"),
                rx.flex(chips, wrap="wrap", gap="4px"),
                rx.form(
                    rx.hstack(
                        rx.input(name="label", placeholder=T["inbox.labels.add"], list="label-options", size="1",
                                 flex="1", id="label-input"),
                        rx.button(rx.icon("plus", size=14), size="1", type="submit", aria_label=T["inbox.labels.add"]),
                        width="100%",
                    ),
                    rx.el.datalist(rx.foreach(S.label_options, lambda o: rx.el.option(value=o["name"])),
                                   id="label-options"),
                    on_submit=A.add_label, reset_on_submit=True, width="100%",
                ),
                spacing="2", width="240px",
            ),
        ),
    )


def _priority_menu() -> rx.Component:
    """Prioridade: supervisors and admins pick none, low, medium, high or urgent."""
    return rx.dropdown_menu.root(
        rx.dropdown_menu.trigger(rx.button(rx.icon("flag", size=14), priority_label(H["priority"]), size="1",
                                           variant="soft", color_scheme="gray", id="priority-button",
                                           aria_label=T["inbox.priority.change"], title=T["inbox.priority.change"])),
        rx.dropdown_menu.content(
            *[rx.dropdown_menu.item(T[f"sla.priority.{p}"], on_click=A.set_priority(p), id=f"priority-{p}")
              for p in ("urgent", "high", "medium", "low", "none")],
        ),
    )


def _actions() -> rx.Component:
    take = rx.button(rx.icon("hand", size=14), T["inbox.take_over"], size="1", on_click=A.take_over,
                     id="take-over")
    reopen = rx.button(rx.icon("rotate-ccw", size=14), T["inbox.reopen"], size="1", variant="soft",
                       on_click=A.reopen, id="reopen-button")
    return rx.hstack(
        rx.cond(H["status"] == "closed",
                rx.cond(S.can_manage, reopen, rx.fragment()),
                rx.fragment(
                    rx.cond(S.can_take_over, take, rx.fragment()),
                    rx.cond(S.can_manage & (H["status"] == "snoozed"), reopen, rx.fragment()),
                    rx.cond(S.can_manage, rx.fragment(_transfer(), _snooze(), _close()), rx.fragment()),
                )),
        rx.cond(S.can_manage | S.can_take_over, _labels(), rx.fragment()),
        rx.cond(S.can_set_priority, _priority_menu(), rx.fragment()),
        rx.box(rx.tooltip(rx.icon_button(rx.icon("panel-right", size=14), size="1", variant="ghost",
                                         color_scheme="gray", on_click=S.toggle_panel, aria_label=T["inbox.panel"],
                                         aria_pressed=rx.cond(S.panel_open, "true", "false"), id="panel-toggle"),
                          content=T["inbox.panel"]),
               display=["none", "none", "none", "inline-flex"]),
        spacing="2", align="center", wrap="wrap", justify=rx.breakpoints(initial="start", sm="end"),
        width=rx.breakpoints(initial="100%", sm="auto"), padding_left=rx.breakpoints(initial="44px", sm="0"),
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.icon_button(rx.icon("arrow-left", size=18), variant="ghost", color_scheme="gray",
                       on_click=S.back_to_list, aria_label=T["inbox.back"], id="back-to-list",
                       display=["inline-flex", "inline-flex", "none"]),
        rx.avatar(fallback=H["initials"], size="3", radius="full", color_scheme="teal", variant="soft"),
        rx.vstack(
            rx.hstack(rx.text(H["name"], weight="bold", size="3", id="chat-name", trim="both"),
                      status_badge(H["status"], H["bot"]),
                      rx.box(priority_badge(H["priority"]), id="chat-priority", display="contents"),
                      spacing="2", align="center", wrap="wrap"),
            rx.hstack(
                rx.text(H["phone"], size="1", color_scheme="gray"),
                window_chip(H["window"], H["window_left"]),
                sla_chip(H),
                rx.cond(H["assignee"] != "",
                        rx.text(T["inbox.assigned_to"] + " " + H["assignee"], size="1", color_scheme="gray",
                                id="chat-assignee"),
                        rx.text(T["inbox.unassigned"], size="1", color_scheme="gray", id="chat-assignee")),
                spacing="2", align="center", wrap="wrap",
            ),
            spacing="1", min_width=rx.breakpoints(initial="0", sm="220px"), flex="1",
        ),
        _actions(),
        width="100%", align="center", spacing="3", padding="10px 16px", wrap="wrap",
        border_bottom=f"1px solid {rx.color('slate', 5)}", background=rx.color("slate", 1),
    )


def _chat_skeleton() -> rx.Component:
    """Bubbles-shaped placeholders while a conversation opens."""
    shapes = (("start", "55%"), ("start", "35%"), ("end", "60%"), ("start", "45%"), ("end", "30%"))
    return rx.vstack(*[rx.flex(rx.skeleton(height="44px", width=w, border_radius="12px"), justify=side,
                               width="100%") for side, w in shapes],
                     spacing="3", width="100%", id="chat-skeleton", aria_busy="true")


def _history() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.cond(S.has_older,
                    rx.center(rx.button(rx.cond(S.older_loading, T["inbox.loading_older"], T["inbox.load_older"]),
                                        size="1", variant="soft", color_scheme="gray", loading=S.older_loading,
                                        on_click=S.load_older, id="load-older"), width="100%"),
                    rx.fragment()),
            rx.cond(S.chat_loading, _chat_skeleton(), rx.foreach(S.items, message)),
            rx.cond(S.typing_text != "",
                    rx.text(S.typing_text, size="1", color_scheme="gray", font_style="italic", id="typing"),
                    rx.fragment()),
            rx.box(id="messages-end", data_count=S.items.length().to(str), data_conv=S.selected_id.to(str)),
            spacing="2", width="100%", padding="16px", id="messages",
        ),
        flex="1", overflow_y="auto", width="100%", id="chat-scroll",
        background=rx.color("slate", 2),
    )


def _canned_popover() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.button(rx.icon("zap", size=14), T["inbox.canned"], size="1", variant="soft",
                                     color_scheme="gray", id="canned-open", on_click=S.open_canned,
                                     type="button")),
        rx.popover.content(
            rx.vstack(
                rx.input(placeholder=T["inbox.canned.search"], value=S.canned_query, on_change=S.set_canned_query,
                         debounce_timeout=200, size="1", width="100%", id="canned-search", auto_focus=True),
                rx.cond(S.canned_rows.length() > 0,
                        rx.vstack(rx.foreach(S.canned_rows, lambda r: rx.popover.close(rx.box(
                            rx.text("/" + r["code"], size="1", weight="bold", color=rx.color("teal", 11)),
                            rx.text(r["content"], size="1", color_scheme="gray", overflow="hidden",
                                    white_space="nowrap", text_overflow="ellipsis"),
                            on_click=S.use_canned(r["id"]), padding="6px 8px", border_radius="6px", width="100%",
                            cursor="pointer", _hover={"background": rx.color("slate", 3)}, class_name="canned-item",
                            tab_index=0))), spacing="0", width="100%", max_height="260px", overflow_y="auto"),
                        rx.text(T["inbox.canned.empty"], size="1", color_scheme="gray")),
                spacing="2", width="320px",
            ),
            side="top", align="start",
        ),
    )


def _template_form() -> rx.Component:
    return rx.vstack(
        rx.select.root(
            rx.select.trigger(placeholder=T["inbox.template.pick"], width="100%", id="template-select"),
            rx.select.content(rx.foreach(S.template_rows, lambda t: rx.select.item(
                t["name"] + " (" + t["language"] + ")", value=t["id"]))),
            value=S.template_id, on_change=S.pick_template,
        ),
        rx.foreach(S.template_names, lambda name, i: rx.hstack(
            rx.text("{{" + name + "}}", size="1", weight="bold", width="110px", color_scheme="gray"),
            rx.input(value=S.template_values[i], on_change=lambda v: S.set_template_value(i, v), size="2",
                     flex="1", class_name="template-param", placeholder=T["inbox.template.value"]),
            width="100%", align="center")),
        rx.cond(S.template_id != "",
                rx.box(rx.text(T["inbox.template.preview"], size="1", weight="bold", color_scheme="gray"),
                       rx.text(S.template_preview, size="2", white_space="pre-wrap", id="template-preview"),
                       padding="8px 10px", border_radius="8px", background=rx.color("teal", 3), width="100%"),
                rx.text(T["inbox.template.none"], size="1", color_scheme="gray")),
        spacing="2", width="100%",
    )


def _template_dialog(trigger: rx.Component) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(trigger),
        rx.dialog.content(
            rx.dialog.title(T["inbox.templates"]),
            rx.dialog.description(T["inbox.template.help"], size="2", color_scheme="gray"),
            rx.box(_template_form(), margin_top="12px"),
            rx.hstack(
                rx.dialog.close(rx.button(T["common.cancel"], variant="soft", color_scheme="gray")),
                rx.dialog.close(rx.button(rx.icon("send", size=14), T["inbox.template.send"],
                                          on_click=S.send_template, disabled=~S.template_ready,
                                          id="template-send")),
                justify="end", spacing="2", margin_top="12px",
            ),
            max_width="520px", id="template-dialog",
        ),
    )


def _upload_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.tooltip(rx.dialog.trigger(icon_action("paperclip", "inbox.attach", id="attach-button", type="button")),
                   content=T["inbox.attach"]),
        rx.dialog.content(
            rx.dialog.title(T["inbox.attach"]),
            rx.upload(
                rx.vstack(rx.icon("upload", size=22), rx.text(T["inbox.attach.drop"], size="2"), align="center"),
                id="attachments", multiple=True, max_files=5, border=f"1px dashed {rx.color('slate', 7)}",
                padding="24px", border_radius="8px", width="100%",
            ),
            rx.foreach(rx.selected_files("attachments"), lambda f: rx.text(f, size="1")),
            rx.hstack(
                rx.dialog.close(rx.button(T["common.cancel"], variant="soft", color_scheme="gray")),
                rx.button(T["inbox.attach.send"], on_click=S.upload(rx.upload_files(upload_id="attachments")),
                          id="attach-send"),
                justify="end", spacing="2", margin_top="12px",
            ),
            max_width="440px", id="attach-dialog",
        ),
        open=S.upload_open, on_open_change=S.set_upload_open,
    )


def _reply_bar() -> rx.Component:
    return rx.cond(
        S.reply_to.contains("id"),
        rx.hstack(
            rx.box(rx.text(T["inbox.replying_to"] + " " + S.reply_to["sender"], size="1", weight="bold",
                           color=rx.color("teal", 11)),
                   rx.text(S.reply_to["body"], size="1", color_scheme="gray", overflow="hidden", white_space="nowrap",
                           text_overflow="ellipsis"),
                   border_left=f"3px solid {rx.color('teal', 9)}", padding_left="8px", flex="1", min_width="0"),
            rx.tooltip(rx.icon_button(rx.icon("x", size=14), size="1", variant="ghost", color_scheme="gray",
                                      on_click=S.clear_reply, aria_label=T["inbox.reply.cancel"]),
                       content=T["inbox.reply.cancel"]),
            width="100%", align="center", padding="6px 8px", id="reply-bar",
        ),
        rx.fragment(),
    )


def _blocked() -> rx.Component:
    return rx.callout.root(
        rx.hstack(
            rx.callout.icon(rx.icon("lock", size=16)),
            rx.callout.text(S.blocked_text, flex="1"),
            rx.cond(H["status"] == "closed",
                    rx.button(T["inbox.reopen"], size="1", on_click=A.reopen),
                    rx.cond(S.can_take_over,
                            rx.button(rx.icon("hand", size=14), T["inbox.take_over"], size="1", on_click=A.take_over,
                                      id="blocked-take-over"),
                            rx.fragment())),
            align="center", width="100%", spacing="2",
        ),
        color_scheme="gray", variant="surface", width="100%", id="composer-blocked",
    )


def _window_closed() -> rx.Component:
    return rx.callout.root(
        rx.hstack(
            rx.callout.icon(rx.icon("clock-alert", size=16)),
            rx.callout.text(T["inbox.window_closed"], flex="1"),
            _template_dialog(rx.button(rx.icon("file-text", size=14), T["inbox.template.choose"], size="1",
                                       on_click=S.open_templates, id="template-forced")),
            align="center", width="100%", spacing="2",
        ),
        color_scheme="amber", variant="surface", width="100%", id="window-closed",
    )


def _composer_form() -> rx.Component:
    note = S.note_mode
    return rx.form(
        rx.vstack(
            _reply_bar(),
            rx.el.input(type="hidden", name="client_key", id="composer-key"),
            rx.text_area(
                name="body", id="composer-text", placeholder=rx.cond(note, T["inbox.note.placeholder"],
                                                                     T["inbox.composer.placeholder"]),
                rows="2", width="100%", resize="none", variant="soft",
                color_scheme=rx.cond(note, "amber", "gray"), aria_label=T["inbox.composer.placeholder"],
                style={"minHeight": "56px", "maxHeight": "200px"},
            ),
            rx.hstack(
                _canned_popover(),
                rx.cond(~note, rx.button(rx.icon("sparkles", size=14), T["inbox.suggest"], size="1", variant="soft",
                                         color_scheme="violet", on_click=S.suggest_reply, loading=S.suggesting,
                                         type="button", id="suggest-reply")),
                _upload_dialog(),
                _template_dialog(rx.button(rx.icon("file-text", size=14), T["inbox.templates"], size="1",
                                           variant="soft", color_scheme="gray", on_click=S.open_templates,
                                           type="button", id="template-open")),
                interactive_dialog(),
                rx.button(rx.icon("lock", size=14), T["inbox.note"], size="1",
                          variant=rx.cond(note, "solid", "soft"), color_scheme=rx.cond(note, "amber", "gray"),
                          on_click=S.toggle_note, type="button", id="note-toggle", aria_pressed=rx.cond(note, "true",
                                                                                                   "false")),
                rx.spacer(),
                rx.text(T["inbox.composer.hint"], size="1", color_scheme="gray", display=["none", "none", "block"]),
                rx.button(rx.icon("send", size=14), rx.cond(note, T["inbox.note.save"], T["inbox.send"]),
                          type="submit", id="composer-send", size="2",
                          color_scheme=rx.cond(note, "amber", "teal")),
                width="100%", align="center", spacing="2", wrap="wrap",
            ),
            spacing="2", width="100%",
        ),
        on_submit=S.send, reset_on_submit=True, width="100%", id="composer",
    )


def composer() -> rx.Component:
    """Blocked (bot or someone else owns it), template-only (window closed), or the free-text composer."""
    return rx.box(
        rx.cond(
            ~S.can_reply & ~S.note_mode,
            rx.vstack(_blocked(),
                      rx.cond((S.blocked_reason != "inbox.blocked.other_assignee") & ~S.read_only,
                              rx.button(rx.icon("lock", size=14), T["inbox.note.write"], size="1", variant="ghost",
                                        color_scheme="amber", on_click=S.toggle_note, id="note-anyway"),
                              rx.fragment()),
                      spacing="2", align="start", width="100%"),
            rx.cond(~S.window_open & ~S.note_mode,
                    rx.vstack(_window_closed(),
                              rx.button(rx.icon("lock", size=14), T["inbox.note.write"], size="1", variant="ghost",
                                        color_scheme="amber", on_click=S.toggle_note),
                              spacing="2", align="start", width="100%"),
                    _composer_form()),
        ),
        padding="10px 16px 12px 16px", width="100%", border_top=f"1px solid {rx.color('slate', 5)}",
        background=rx.color("slate", 1),
    )


def _no_selection() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.center(rx.icon("messages-square", size=30, color=rx.color("teal", 11)), width="64px", height="64px",
                      border_radius="9999px", background=rx.color("teal", 3)),
            rx.text(T["inbox.pick.title"], weight="bold", size="3"),
            rx.text(T["inbox.pick.body"], size="2", color_scheme="gray", align="center"),
            rx.text(T["inbox.shortcuts.hint"], size="1", color_scheme="gray", align="center"),
            align="center", spacing="2", max_width="340px",
        ),
        height="100%", width="100%", background=rx.color("slate", 2),
    )


def chat() -> rx.Component:
    """The middle pane."""
    return rx.cond(
        S.selected_id > 0,
        rx.vstack(_header(), _history(), composer(), spacing="0", height="100%", width="100%", min_width="0"),
        _no_selection(),
    )
