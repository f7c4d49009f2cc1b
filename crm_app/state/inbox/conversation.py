"""The open conversation: header, history, customer panel, who else is looking, and the header's dialogs."""

from __future__ import annotations

import reflex as rx

from crm_app.domain.inbox import display_phone
from crm_app.errors import CRMError
from crm_app.i18n import translate
from crm_app.services import call, channel, conversations, inbox, routing
from crm_app.services.core.actors import Actor
from crm_app.state.errors import toast_errors
from crm_app.state.inbox import view
from crm_app.state.inbox.base import READERS, SUPERVISORS, now
from crm_app.state.inbox.listing import InboxListState

MESSAGE_PAGE = 50


class InboxConversationState(InboxListState):
    """The conversation this tab has open (a substate of the list it was picked from)."""

    selected_id: int = 0
    mobile_chat: bool = False
    header: dict[str, str] = {}
    conv_labels: list[str] = []
    items: list[dict[str, str]] = []
    has_older: bool = False
    older_loading: bool = False
    chat_loading: bool = False
    can_reply: bool = False
    blocked_reason: str = ""
    window_open: bool = True
    note_mode: bool = False
    reply_to: dict[str, str] = {}
    open_dialog: str = ""
    panel_open: bool = True
    contact: dict[str, str] = {}
    contact_attributes: str = ""
    past: list[dict[str, str]] = []
    viewers: list[str] = []
    typing_name: str = ""

    @rx.var(cache=True)
    def blocked_text(self) -> str:
        """Why the composer is locked, in the user's language."""
        return translate(self.lang, self.blocked_reason) if self.blocked_reason else ""

    @rx.var(cache=True)
    def can_take_over(self) -> bool:
        """Assumir shows for the bot's and unassigned conversations, and for staff on someone else's."""
        return self.blocked_reason in ("inbox.blocked.bot", "inbox.blocked.unassigned") or (
            self.user_role in SUPERVISORS and self.header.get("mine", "") == "")

    @rx.var(cache=True)
    def can_manage(self) -> bool:
        """Transfer, snooze and close: staff, or the attendant who owns the conversation."""
        return self.user_role in SUPERVISORS or self.header.get("mine", "") != ""

    @rx.var(cache=True)
    def can_set_priority(self) -> bool:
        """The priority menu: supervisors and admins (cosmetic: the service refuses everyone else)."""
        return self.user_role in SUPERVISORS

    @rx.var(cache=True)
    def typing_text(self) -> str:
        """"Ana is typing…" while a colleague types in the open conversation."""
        return translate(self.lang, "inbox.typing").format(name=self.typing_name) if self.typing_name else ""

    def _load_conversation(self, actor: Actor, *, keep_older: bool = False) -> None:
        opened = call(inbox.open_conversation, actor=actor, conversation_id=self.selected_id, limit=MESSAGE_PAGE)
        detail = opened.detail
        row, contact, moment = detail.row, detail.contact, now()
        level, left = view.window_state(row.window_expires_at, moment)
        self.header = {
            "id": str(row.id), "name": row.contact_name or display_phone(row.contact_phone),
            "phone": display_phone(row.contact_phone), "status": str(row.status),
            "assignee": row.assignee_name or "", "assignee_id": str(row.assignee_id or ""),
            "team": row.team_name or "", "bot": "1" if row.bot_active else "", "window": level,
            "window_left": left, "mine": "1" if row.assignee_id == actor.user_id else "",
            "initials": view.initials(row.contact_name or ""), "priority": view.priority_name(row.priority),
            **view.sla_chip(row.sla_due_at, row.sla_started_at, moment, actor.timezone, self.lang),
        }
        self.conv_labels = list(row.labels or [])
        self.can_reply, self.window_open = bool(detail.can_reply), bool(detail.window_open)
        self.blocked_reason = detail.blocked_reason or ""
        self.contact = {"id": str(contact.id), "name": contact.name or "", "phone": display_phone(contact.phone_e164),
                        "email": contact.email or "", "initials": view.initials(contact.name or "")}
        self.contact_attributes = view.attributes_text(contact.custom_attributes)
        self.past = [{"id": str(p.get("id", "")), "status": str(p.get("status", "")),
                      "when": view.short_time(p.get("created_at"), moment, actor.timezone, self.lang),
                      "preview": str(p.get("preview") or "")[:80]}
                     for p in contact.past_conversations if p.get("id") != row.id]
        fresh = [view.message_item(m, actor.timezone, self.lang) for m in opened.messages]
        merged = view.merge_messages(self.items, fresh) if keep_older else fresh
        if not keep_older:
            self.has_older = len(opened.messages) >= MESSAGE_PAGE
        self.items = view.with_separators(merged, moment, actor.timezone, self.lang)

    def _refresh(self, actor: Actor) -> None:
        """The list and the open conversation again, after this tab changed something."""
        try:
            self._load_list(actor)
            self._load_conversation(actor, keep_older=True)
        except CRMError:
            self._clear_selection()  # handed to someone else: it is no longer ours to show

    def _load_viewers(self, actor: Actor) -> None:
        if not self.selected_id:
            self.viewers = []
            return
        self.viewers = [v["name"] for v in routing.viewers(actor.tenant_id, self.selected_id)
                        if v["user_id"] != actor.user_id]

    def _clear_selection(self) -> None:
        self.selected_id, self.items, self.header, self.contact, self.past = 0, [], {}, {}, []
        self.conv_labels, self.viewers, self.typing_name, self.reply_to = [], [], "", {}
        self.mobile_chat = False

    def _mark_read(self, actor: Actor) -> None:
        if not self.selected_id or self.blocked_reason in ("inbox.blocked.other_assignee", "inbox.blocked.read_only"):
            return  # not ours to read (any more): the unread count and the blue ticks belong to its owner
        try:
            call(channel.mark_conversation_read, actor=actor, conversation_id=self.selected_id)
        except CRMError:
            pass  # reading is best effort; the list shows the unread count until the next load
        self.rows = [dict(r, unread="") if r["id"] == str(self.selected_id) else r for r in self.rows]
        self.unread_total = call(inbox.unread_total, actor=actor)

    @rx.event
    @toast_errors
    def select(self, conversation_id: str | int):
        """Open one conversation (skeleton first when it is another one); it is marked read for this user."""
        previous = self.selected_id
        if str(conversation_id) != str(previous):
            self.chat_loading = True
            yield
        try:
            actor = self._require(*READERS)
            self.selected_id = int(conversation_id)
            self.reply_to, self.typing_name, self.note_mode, self.mobile_chat = {}, "", False, True
            self._load_conversation(actor)
            self._mark_read(actor)
            if actor.role != "executive":  # a reader leaves no trace: nobody sees them "viewing"
                if previous and previous != self.selected_id:
                    routing.stop_viewing(actor.tenant_id, previous, actor.user_id)
                routing.set_viewing(actor.tenant_id, self.selected_id, actor.user_id, actor.name)
            self._load_viewers(actor)
        except CRMError:
            self._clear_selection()  # not found or not allowed: show nothing of it
            raise
        finally:
            self.chat_loading = False
        yield rx.call_script("window.crmInbox && window.crmInbox.opened()")

    @rx.event
    def step(self, delta: int):
        """j/k and Alt+arrows: open the next or previous conversation of the list."""
        ids = [r["id"] for r in self.rows]
        if not ids:
            return None
        current = ids.index(str(self.selected_id)) if str(self.selected_id) in ids else -1
        target = ids[max(0, min(len(ids) - 1, current + int(delta)))] if current >= 0 else ids[0]
        if target == str(self.selected_id):
            return None
        return InboxConversationState.select(target)

    @rx.event
    def back_to_list(self):
        """Phone width: back from the chat to the list."""
        self.mobile_chat = False

    @rx.event
    def escape(self):
        """Esc: drop the reply, the note mode, or go back to the list on a phone."""
        if self.reply_to:
            self.reply_to = {}
        elif self.note_mode:
            self.note_mode = False
        else:
            self.mobile_chat = False

    @rx.event
    def toggle_panel(self):
        """Show or hide the customer panel."""
        self.panel_open = not self.panel_open

    @rx.event
    def set_dialog(self, name: str, value: bool):
        """Open or close one of the chat's dialogs (transfer, snooze, close, buttons and lists)."""
        self.open_dialog = name if value else ""

    @rx.event
    @toast_errors
    def load_older(self):
        """The previous page of the history, above what is shown (scrolling to the top asks for it too)."""
        ids = [int(m["id"]) for m in self.items if m["id"].isdigit()]
        if not self.selected_id or not ids or self.older_loading:
            return
        self.older_loading = True
        yield
        try:
            actor = self._require(*READERS)
            older = call(inbox.list_messages, actor=actor, conversation_id=self.selected_id, before_id=min(ids),
                         limit=MESSAGE_PAGE)
        finally:
            self.older_loading = False
        self.has_older = len(older) >= MESSAGE_PAGE
        fresh = [view.message_item(m, actor.timezone, self.lang) for m in older]
        self.items = view.with_separators(fresh + self.items, now(), actor.timezone, self.lang)

    @rx.event
    @toast_errors
    def save_contact(self, form: dict):
        """Customer panel: save name, e-mail and the `chave: valor` attributes."""
        contact_id = self.contact.get("id", "")
        if not contact_id.isdigit():
            return None
        actor = self._require("admin", "supervisor", "attendant")
        saved = call(conversations.update_contact, actor=actor, contact_id=int(contact_id),
                     name=str(form.get("name", "")).strip(), email=str(form.get("email", "")).strip(),
                     custom_attributes=view.parse_attributes(str(form.get("attributes", ""))))
        self.contact = dict(self.contact, name=saved.name or "", email=saved.email or "")
        self.contact_attributes = view.attributes_text(saved.custom_attributes)
        return rx.toast.success(translate(self.lang, "inbox.toast.contact_saved"))
