"""The attendant inbox: conversation list, open conversation, composer, customer panel, real-time updates.

Every handler re-derives the actor from the session cookie (`SessionState._require`);
per-tab vars only say what the tab shows, never who the user is. The services
check role and tenant on each call. Real-time events arrive through
`crm_app.state.realtime` and are applied by `push_events` under `app.modify_state`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from typing import Any

import reflex as rx

from crm_app.domain import outbound_content
from crm_app.domain.inbox import display_phone
from crm_app.errors import CRMError, PermissionDenied
from crm_app.i18n import translate
from crm_app.services import access, bot, channel, conversations, inbox, routing, transaction
from crm_app.services.core import realtime as rt_events
from crm_app.services.core.actors import Actor
from crm_app.state import inbox_view as view
from crm_app.state import realtime
from crm_app.state.burst import shared
from crm_app.state.session import SessionState

log = logging.getLogger(__name__)

PAGE_SIZE = 40
MESSAGE_PAGE = 50
SUPERVISORS = ("admin", "supervisor")
LIST_KINDS = frozenset({"message.new", "message.status", "conversation.updated", "conversation.new"})
TYPING_SHOWN_SECONDS = 4.0
SEQ_RESET_WINDOW = 1000  # an event this far behind the tab's last seq means the tenant's counter was reset


def _client_key(value: object) -> str:
    """The browser's idempotency key if it is a UUID (unguessable), else a fresh one."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(uuid.uuid4())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class InboxState(SessionState):
    """What one tab of the inbox shows."""

    # list
    tab: str = "mine"
    counts: dict[str, int] = {}
    query: str = ""
    filter_team: str = ""
    filter_label: str = ""
    filter_status: str = ""
    filter_inbox: str = ""
    sort: str = "recent"
    rows: list[dict[str, str]] = []
    next_cursor: str = ""
    list_loading: bool = True
    team_options: list[dict[str, str]] = []
    label_options: list[dict[str, str]] = []
    inbox_options: list[dict[str, str]] = []
    user_options: list[dict[str, str]] = []
    # open conversation
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
    # composer
    note_mode: bool = False
    reply_to: dict[str, str] = {}
    canned_query: str = ""
    canned_rows: list[dict[str, str]] = []
    template_rows: list[dict[str, str]] = []
    template_id: str = ""
    template_names: list[str] = []
    template_values: list[str] = []
    upload_open: bool = False
    open_dialog: str = ""
    interactive_kind: str = "buttons"
    interactive_body: str = ""
    interactive_options: list[str] = ["", ""]
    interactive_list_button: str = ""
    interactive_error: str = ""
    suggesting: bool = False
    # customer panel
    panel_open: bool = True
    contact: dict[str, str] = {}
    contact_attributes: str = ""
    past: list[dict[str, str]] = []
    viewers: list[str] = []
    typing_name: str = ""
    # presence, real time, notifications
    presence_status: str = "online"
    last_seq: int = 0
    notify_seq: int = 0
    notify_title: str = ""
    notify_body: str = ""
    unread_total: int = 0
    _user_id: int = 0
    _tz: str = "America/Sao_Paulo"
    _typing_stamp: float = 0.0

    # ---- computed vars ------------------------------------------------------------------------------
    @rx.var(cache=True)
    def is_supervisor(self) -> bool:
        return self.user_role in SUPERVISORS

    @rx.var(cache=True)
    def filters_active(self) -> bool:
        """Whether a filter or the "window" sort narrows the list (the filter button lights up)."""
        return bool(self.filter_team or self.filter_label or self.filter_status or self.filter_inbox
                    or self.sort != "recent")

    @rx.var(cache=True)
    def blocked_text(self) -> str:
        return translate(self.lang, self.blocked_reason) if self.blocked_reason else ""

    @rx.var(cache=True)
    def can_take_over(self) -> bool:
        return self.blocked_reason in ("inbox.blocked.bot", "inbox.blocked.unassigned") or (
            self.user_role in SUPERVISORS and self.header.get("mine", "") == "")

    @rx.var(cache=True)
    def can_manage(self) -> bool:
        """Transfer, snooze and close: staff, or the attendant who owns the conversation."""
        return self.user_role in SUPERVISORS or self.header.get("mine", "") != ""

    @rx.var(cache=True)
    def template_preview(self) -> str:
        body = next((t["body"] for t in self.template_rows if t["id"] == self.template_id), "")
        return view.template_preview(body, self.template_names, self.template_values)

    @rx.var(cache=True)
    def template_ready(self) -> bool:
        return bool(self.template_id) and all(v.strip() for v in self.template_values)

    @rx.var(cache=True)
    def page_title(self) -> str:
        base = translate(self.lang, "inbox.title") + " · " + translate(self.lang, "app.name")
        return f"({self.unread_total}) {base}" if self.unread_total else base

    @rx.var(cache=True)
    def typing_text(self) -> str:
        return translate(self.lang, "inbox.typing").format(name=self.typing_name) if self.typing_name else ""

    # ---- helpers ------------------------------------------------------------------------------------
    def _fail(self, exc: Exception):
        if isinstance(exc, CRMError) and exc.code == "window_closed":
            return rx.toast.error(translate(self.lang, "error.window_closed"))
        return rx.toast.error(self._error_text(exc))

    def _filters(self) -> dict[str, Any]:
        def as_int(value: str) -> int | None:
            return int(value) if value.isdigit() else None

        return {"query": self.query.strip() or None, "team_id": as_int(self.filter_team),
                "label_id": as_int(self.filter_label), "status": self.filter_status or None,
                "inbox_id": as_int(self.filter_inbox), "sort": self.sort}

    def _load_list(self, session, actor: Actor, *, append: bool = False) -> None:
        if self.tab not in inbox.TABS or (self.tab == "all" and actor.role not in SUPERVISORS):
            self.tab = "mine"  # the value also comes back from the browser's storage
        cursor = self.next_cursor if append and self.next_cursor else None
        filters = self._filters()

        def read_page():
            page = inbox.list_conversations(session, actor=actor, tab=self.tab, cursor=cursor, limit=PAGE_SIZE,
                                            **filters)
            now = _now()
            return [view.conversation_row(r, now, actor.timezone, self.lang) for r in page.rows], page.next_cursor

        # Tabs refreshed by the same burst share this read when they would get the same page: the key
        # names all it depends on, the user only for the tabs that are per user.
        per_user = actor.user_id if self.tab in ("mine", "closed") else None
        key = ("list", actor.tenant_id, actor.role in SUPERVISORS, per_user, self.tab, cursor,
               tuple(sorted(filters.items())), actor.timezone, self.lang)
        shared_rows, next_cursor = shared(key, read_page)
        fresh = [dict(r) for r in shared_rows]  # each tab gets its own copies
        if append:
            known = {r["id"] for r in self.rows}
            self.rows = self.rows + [r for r in fresh if r["id"] not in known]
        else:
            keep = len(self.rows) if len(self.rows) > PAGE_SIZE else 0
            self.rows = fresh if not keep else self._refresh_long_list(session, actor, fresh)
        self.next_cursor = next_cursor or ""
        counts, unread = shared(("counts", actor.tenant_id, actor.user_id, actor.role), lambda: (
            dict(inbox.tab_counts(session, actor=actor)), inbox.unread_total(session, actor=actor)))
        self.counts, self.unread_total = dict(counts), unread
        self.list_loading = False

    def _refresh_long_list(self, session, actor: Actor, fresh: list[dict[str, str]]) -> list[dict[str, str]]:
        """After "carregar mais", a live update keeps the extra rows: fresh first page, then the rest."""
        known = {r["id"] for r in fresh}
        return fresh + [r for r in self.rows[PAGE_SIZE:] if r["id"] not in known]

    def _load_conversation(self, session, actor: Actor, *, keep_older: bool = False) -> None:
        detail = inbox.get_conversation(session, actor=actor, conversation_id=self.selected_id)
        row, contact = detail.row, detail.contact
        now = _now()
        level, left = view.window_state(row.window_expires_at, now)
        self.header = {
            "id": str(row.id), "name": row.contact_name or display_phone(row.contact_phone),
            "phone": display_phone(row.contact_phone), "status": str(row.status),
            "assignee": row.assignee_name or "", "assignee_id": str(row.assignee_id or ""),
            "team": row.team_name or "", "bot": "1" if row.bot_active else "", "window": level,
            "window_left": left, "mine": "1" if row.assignee_id == actor.user_id else "",
            "initials": view.initials(row.contact_name or ""),
        }
        self.conv_labels = list(row.labels or [])
        self.can_reply, self.window_open = bool(detail.can_reply), bool(detail.window_open)
        self.blocked_reason = detail.blocked_reason or ""
        self.contact = {"id": str(contact.id), "name": contact.name or "", "phone": display_phone(contact.phone_e164),
                        "email": contact.email or "", "initials": view.initials(contact.name or "")}
        self.contact_attributes = view.attributes_text(contact.custom_attributes)
        self.past = [{"id": str(p.get("id", "")), "status": str(p.get("status", "")),
                      "when": view.short_time(p.get("created_at"), now, actor.timezone, self.lang),
                      "preview": str(p.get("preview") or "")[:80]}
                     for p in contact.past_conversations if p.get("id") != row.id]
        newest = inbox.list_messages(session, actor=actor, conversation_id=self.selected_id, limit=MESSAGE_PAGE)
        fresh = [view.message_item(m, actor.timezone, self.lang) for m in newest]
        merged = view.merge_messages(self.items, fresh) if keep_older else fresh
        if not keep_older:
            self.has_older = len(newest) >= MESSAGE_PAGE
        self.items = view.with_separators(merged, now, actor.timezone, self.lang)

    def _load_viewers(self, actor: Actor) -> None:
        if not self.selected_id:
            self.viewers = []
            return
        self.viewers = [v["name"] for v in routing.viewers(actor.tenant_id, self.selected_id)
                        if v["user_id"] != actor.user_id]

    def _reload_all(self, actor: Actor, events: list[dict[str, Any]] | None = None) -> None:
        """Everything again (page load, reconnect, a gap in the seq); `events` explain a lost conversation."""
        self.last_seq = rt_events.current_seq(actor.tenant_id)  # read first: later events are applied on top
        with transaction() as session:
            self._load_list(session, actor)
            if self.selected_id:
                try:
                    self._load_conversation(session, actor)
                except PermissionDenied:
                    changes = [e for e in events or [] if e.get("conversation_id") == self.selected_id
                               and str(e.get("kind", "")).startswith("conversation.")]
                    if changes:
                        self._lost_access(session, actor, changes[-1].get("data") or {})
                    else:
                        self._clear_selection()
                except CRMError:
                    self._clear_selection()

    def _clear_selection(self) -> None:
        self.selected_id, self.items, self.header, self.contact, self.past = 0, [], {}, {}, []
        self.conv_labels, self.viewers, self.typing_name, self.reply_to = [], [], "", {}
        self.mobile_chat = False

    # ---- page load -----------------------------------------------------------------------------------
    @rx.event
    def load(self):
        """on_load (and again after a reconnect): register this tab for pushes and load everything."""
        try:
            actor = self._require("admin", "supervisor", "attendant")
            realtime.register_tab(actor.tenant_id, self.router.session.client_token)
            self._user_id, self._tz = actor.user_id, actor.timezone
            self.presence_status = routing.statuses(actor.tenant_id).get(actor.user_id, self.presence_status)
            self._load_options(actor)
            self._reload_all(actor)
            routing.heartbeat(actor.tenant_id, actor.user_id, self.presence_status)
            self._load_viewers(actor)
        except Exception as exc:
            self.list_loading = False
            return self._fail(exc)
        return None

    def _load_options(self, actor: Actor) -> None:
        with transaction() as session:
            self.team_options = [{"id": str(t.id), "name": t.name} for t in routing.list_teams(session, actor=actor)]
            self.label_options = [{"id": str(label["id"]), "name": str(label["name"]),
                                   "color": str(label.get("color") or "gray")}
                                  for label in conversations.list_labels(session, actor=actor)]
            if actor.role in SUPERVISORS:
                people = [{"id": str(u.id), "name": u.name} for u in access.list_users(session, actor=actor)
                          if u.is_active and u.role in ("attendant", "supervisor", "admin")]
            else:
                people = [{"id": str(u["id"]), "name": str(u["name"])}
                          for u in routing.online_users(session, actor=actor)]
            self.user_options = [p for p in people if p["id"] != str(actor.user_id)]
            self.inbox_options = [{"id": str(i.id), "name": i.name}
                                  for i in channel.list_inboxes(session, actor=actor)]

    # ---- list ----------------------------------------------------------------------------------------
    def _relist(self):
        try:
            actor = self._require("admin", "supervisor", "attendant")
            self.next_cursor = ""
            with transaction() as session:
                self.rows = []
                self._load_list(session, actor)
        except Exception as exc:
            return self._fail(exc)
        return None

    @rx.event
    def set_tab(self, tab: str):
        """Show one tab of the list."""
        if tab not in inbox.TABS:
            return None
        self.tab, self.list_loading = tab, True
        return self._relist()

    @rx.event
    def set_query(self, value: str):
        """Server-side search (the input debounces)."""
        self.query = value[:100]
        return self._relist()

    @rx.event
    def set_filter(self, name: str, value: str):
        """One of team / label / status / inbox; "all" clears it."""
        value = "" if value == "all" else value
        if name in ("team", "label", "status", "inbox"):
            setattr(self, f"filter_{name}", value)
        return self._relist()

    @rx.event
    def clear_filters(self):
        """Drop every filter and the search."""
        self.filter_team = self.filter_label = self.filter_status = self.filter_inbox = self.query = ""
        self.sort = "recent"
        return self._relist()

    @rx.event
    def set_sort(self, value: str | list[str]):
        """recent, or window (closing soonest first)."""
        value = value[0] if isinstance(value, list) and value else value
        self.sort = value if value in ("recent", "window") else "recent"
        return self._relist()

    @rx.event
    def load_more(self):
        """Keyset pagination: the next page of the list."""
        if not self.next_cursor:
            return None
        try:
            actor = self._require("admin", "supervisor", "attendant")
            with transaction() as session:
                self._load_list(session, actor, append=True)
        except Exception as exc:
            return self._fail(exc)
        return None

    # ---- open conversation ---------------------------------------------------------------------------
    @rx.event
    def select(self, conversation_id: str | int):
        """Open one conversation (skeleton first when it is another one); it is marked read for this user."""
        previous = self.selected_id
        if str(conversation_id) != str(previous):
            self.chat_loading = True
            yield
        try:
            actor = self._require("admin", "supervisor", "attendant")
            self.selected_id = int(conversation_id)
            self.reply_to, self.typing_name, self.note_mode, self.mobile_chat = {}, "", False, True
            with transaction() as session:
                self._load_conversation(session, actor)
            self._mark_read(actor)
            if previous and previous != self.selected_id:
                routing.stop_viewing(actor.tenant_id, previous, actor.user_id)
            routing.set_viewing(actor.tenant_id, self.selected_id, actor.user_id, actor.name)
            self._load_viewers(actor)
        except Exception as exc:
            self._clear_selection()
            yield self._fail(exc)
            return
        finally:
            self.chat_loading = False
        yield rx.call_script("window.crmInbox && window.crmInbox.opened()")

    def _mark_read(self, actor: Actor) -> None:
        if not self.selected_id or self.blocked_reason == "inbox.blocked.other_assignee":
            return  # not ours to read any more: the unread count and the blue ticks belong to its owner
        try:
            with transaction() as session:
                channel.mark_conversation_read(session, actor=actor, conversation_id=self.selected_id)
        except CRMError:
            pass  # reading is best effort; the list shows the unread count until the next load
        self.rows = [dict(r, unread="") if r["id"] == str(self.selected_id) else r for r in self.rows]
        with transaction() as session:
            self.unread_total = inbox.unread_total(session, actor=actor)

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
        return InboxState.select(target)

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
    def load_older(self):
        """The previous page of the history, above what is shown (scrolling to the top asks for it too)."""
        ids = [int(m["id"]) for m in self.items if m["id"].isdigit()]
        if not self.selected_id or not ids or self.older_loading:
            return
        self.older_loading = True
        yield
        try:
            actor = self._require("admin", "supervisor", "attendant")
            with transaction() as session:
                older = inbox.list_messages(session, actor=actor, conversation_id=self.selected_id,
                                            before_id=min(ids), limit=MESSAGE_PAGE)
        except Exception as exc:
            yield self._fail(exc)
            return
        finally:
            self.older_loading = False
        self.has_older = len(older) >= MESSAGE_PAGE
        fresh = [view.message_item(m, actor.timezone, self.lang) for m in older]
        self.items = view.with_separators(fresh + self.items, _now(), actor.timezone, self.lang)

    # ---- conversation actions ------------------------------------------------------------------------
    def _act(self, fn, ok_key: str, **kwargs):
        """One conversation action; on success its dialog closes and the chat and list reload."""
        if not self.selected_id:
            return None
        try:
            actor = self._require("admin", "supervisor", "attendant")
            with transaction() as session:
                fn(session, actor=actor, conversation_id=self.selected_id, **kwargs)
        except Exception as exc:
            return self._fail(exc)
        self.open_dialog = ""
        try:
            with transaction() as session:
                self._load_list(session, actor)
                self._load_conversation(session, actor, keep_older=True)
        except CRMError:
            self._clear_selection()  # handed to someone else: it is no longer ours to show
        return rx.toast.success(translate(self.lang, ok_key)) if ok_key else None

    @rx.event
    def set_dialog(self, name: str, value: bool):
        """Open or close one of the header's dialogs (transfer, snooze, close)."""
        self.open_dialog = name if value else ""

    @rx.event
    def take_over(self):
        """Assumir: the conversation becomes mine and the bot steps back."""
        return self._act(inbox.take_over, "inbox.toast.taken")

    @rx.event
    def open_transfer(self):
        """Fresh teams and people (who is online now) for the transfer dialog."""
        actor = self._actor()
        if actor is not None:
            self._load_options(actor)

    @rx.event
    def transfer(self, form: dict):
        """Transferir to a team or a person, with a reason."""
        target = str(form.get("target", ""))
        kind, _, ident = target.partition(":")
        if not ident.isdigit():
            return rx.toast.error(translate(self.lang, "inbox.transfer.pick"))
        kwargs = {"team_id": int(ident)} if kind == "team" else {"user_id": int(ident)}
        return self._act(inbox.transfer, "inbox.toast.transferred", reason=str(form.get("reason", ""))[:500],
                         **kwargs)

    @rx.event
    def close(self, form: dict):
        """Encerrar, with an optional note."""
        note = str(form.get("note", "")).strip()[:1000] or None
        return self._act(inbox.close, "inbox.toast.closed", note=note)

    @rx.event
    def reopen(self):
        """Reabrir a closed conversation."""
        return self._act(inbox.reopen, "inbox.toast.reopened")

    @rx.event
    def snooze(self, form: dict):
        """Adiar until a local date and time."""
        try:
            until = dt.datetime.fromisoformat(str(form.get("until", ""))).replace(tzinfo=view.zone(self._tz))
        except ValueError:
            return rx.toast.error(translate(self.lang, "inbox.snooze.invalid"))
        return self._act(inbox.snooze, "inbox.toast.snoozed", until=until.astimezone(dt.UTC))

    @rx.event
    def add_label(self, form: dict):
        """Add a label (an existing one, or a new name)."""
        name = str(form.get("label", "")).strip()[:40]
        if not name:
            return None
        result = self._act(conversations.add_label, "", name=name)
        actor = self._actor()
        if result is None and actor is not None and name not in {o["name"] for o in self.label_options}:
            self._load_options(actor)  # a new label joins the filter and the suggestions
        return result

    @rx.event
    def remove_label(self, name: str):
        """Remove one label from the open conversation."""
        return self._act(conversations.remove_label, "", name=name)

    @rx.event
    def resend(self, message_id: str):
        """Reenviar: queue a failed message again."""
        if not str(message_id).isdigit() or not self.selected_id:
            return None
        try:
            actor = self._require("admin", "supervisor", "attendant")
            with transaction() as session:
                channel.resend_failed(session, actor=actor, message_id=int(message_id))
            with transaction() as session:
                self._load_conversation(session, actor, keep_older=True)
        except Exception as exc:
            return self._fail(exc)
        return rx.toast.info(translate(self.lang, "inbox.toast.resent"))

    # ---- composer ------------------------------------------------------------------------------------
    @rx.event
    def toggle_note(self):
        """Switch between a reply to the customer and a private note."""
        self.note_mode = not self.note_mode

    @rx.event
    def set_reply(self, message_id: str):
        """Quote one message in the next reply."""
        item = next((m for m in self.items if m["id"] == message_id), None)
        if item is not None and message_id.isdigit():
            self.reply_to = {"id": message_id, "body": item["body"][:200] or item["file_name"],
                             "sender": item["sender_name"]}

    @rx.event
    def clear_reply(self):
        """Drop the quote."""
        self.reply_to = {}

    @rx.event
    def send(self, form: dict):
        """Enter or the send button: an optimistic bubble, then the service call with an idempotency key."""
        body = str(form.get("body", "")).strip()
        if not body or not self.selected_id:
            return
        key = _client_key(form.get("client_key"))
        note, reply = self.note_mode, dict(self.reply_to)
        self.items = self.items + [view.pending_item(body, key, note, self.user_name, _now(), self._tz,
                                                     reply.get("body", ""))]
        self.reply_to = {}
        yield rx.call_script("window.crmInbox && window.crmInbox.sent()")
        try:
            actor = self._require("admin", "supervisor", "attendant")
            with transaction() as session:
                if note:  # a note is stored at once and has no client key: drop its placeholder now
                    inbox.add_note(session, actor=actor, conversation_id=self.selected_id, body=body)
                    self.items = [m for m in self.items if m["id"] != f"pending-{key}"]
                else:
                    reply_id = int(reply["id"]) if reply.get("id", "").isdigit() else None
                    channel.send_message(session, actor=actor, conversation_id=self.selected_id,
                                          content={"type": "text", "body": body}, client_key=key,
                                          reply_to_message_id=reply_id)
            with transaction() as session:
                self._load_conversation(session, actor, keep_older=True)
        except Exception as exc:
            self.items = [m for m in self.items if m["id"] != f"pending-{key}"]
            yield self._fail(exc)
            yield rx.call_script(f"window.crmInbox && window.crmInbox.restore({json.dumps(body)})")

    @rx.event
    def typing(self):
        """Throttled in the browser and again in the service: tell the others I am typing."""
        if not self.selected_id or self.note_mode:
            return
        actor = self._actor()
        if actor is not None:
            routing.set_typing(actor.tenant_id, self.selected_id, actor.user_id, actor.name)

    # canned responses
    @rx.event
    def open_canned(self):
        """Load the canned responses for the popover."""
        return self._search_canned("")

    @rx.event
    def set_canned_query(self, value: str):
        """Filter the canned responses."""
        return self._search_canned(value)

    def _search_canned(self, value: str):
        self.canned_query = value[:60]
        try:
            actor = self._require("admin", "supervisor", "attendant")
            with transaction() as session:
                rows = inbox.list_canned(session, actor=actor, query=self.canned_query.lstrip("/") or None)
        except Exception as exc:
            return self._fail(exc)
        self.canned_rows = [{"id": str(r.id), "code": r.short_code, "content": r.content} for r in rows[:30]]
        return None

    @rx.event
    def use_canned(self, canned_id: str):
        """Put a canned response, with its variables filled in, into the composer."""
        row = next((r for r in self.canned_rows if r["id"] == canned_id), None)
        actor = self._actor()
        if row is None or actor is None:
            return None
        text = inbox.render(row["content"], contact_name=self.contact.get("name") or None,
                             contact_phone=self.contact.get("phone") or None,
                             contact_email=self.contact.get("email") or None, attendant_name=actor.name)
        return rx.call_script(f"window.crmInbox && window.crmInbox.insert({json.dumps(text)})")

    # AI suggestion
    @rx.event(background=True)
    async def suggest_reply(self):
        """Ask the AI for a draft from the last messages; it lands in the composer for the attendant to edit.

        A background task, so a slow model never holds this tab's state (and its live updates) hostage.
        """
        async with self:
            if self.suggesting or not self.selected_id:
                return
            self.suggesting, conversation_id = True, self.selected_id
            actor = self._actor()
        try:
            if actor is None:
                raise PermissionDenied()
            draft = await asyncio.to_thread(_suggest, actor, conversation_id)
        except Exception as exc:
            async with self:
                self.suggesting = False
                failure = self._fail(exc)
            yield failure
            return
        async with self:
            self.suggesting = False
            still_open = self.selected_id == conversation_id
            done = translate(self.lang, "inbox.suggest.ready")
        if still_open:
            yield rx.call_script("(function(t){const el=document.getElementById('composer-text');"
                                 "if(!el)return;el.value=t;el.focus();el.setSelectionRange(t.length,t.length);"
                                 f"}})({json.dumps(draft)})")
            yield rx.toast.info(done)

    # templates
    @rx.event
    def open_templates(self):
        """Load the approved templates of this tenant."""
        try:
            actor = self._require("admin", "supervisor", "attendant")
            with transaction() as session:
                rows = channel.list_templates(session, actor=actor)
        except Exception as exc:
            return self._fail(exc)
        self.template_rows = [{"id": str(t.id), "name": t.name, "language": t.language, "body": t.body_text,
                               "category": t.category} for t in rows]
        if self.template_rows and not self.template_id:
            self.pick_template(self.template_rows[0]["id"])
        return None

    @rx.event
    def pick_template(self, template_id: str):
        """Choose a template; its variables become inputs."""
        row = next((t for t in self.template_rows if t["id"] == template_id), None)
        self.template_id = template_id if row else ""
        self.template_names = view.template_params(row["body"]) if row else []
        self.template_values = ["" for _ in self.template_names]

    @rx.event
    def set_template_value(self, index: int, value: str):
        """One variable of the template form."""
        values = list(self.template_values)
        if 0 <= int(index) < len(values):
            values[int(index)] = value[:500]
        self.template_values = values

    def _send_content(self, content: dict[str, Any]) -> None:
        """Queue one message (template, buttons, list) under a fresh idempotency key, then show it."""
        actor = self._require("admin", "supervisor", "attendant")
        with transaction() as session:
            channel.send_message(session, actor=actor, conversation_id=self.selected_id, content=content,
                                  client_key=str(uuid.uuid4()))
        with transaction() as session:
            self._load_conversation(session, actor, keep_older=True)

    @rx.event
    def send_template(self):
        """Send the chosen template with its variables (allowed with the window closed)."""
        row = next((t for t in self.template_rows if t["id"] == self.template_id), None)
        if row is None or not self.selected_id:
            return None
        content = {"type": "template", "name": row["name"], "language": row["language"]}
        if self.template_names:
            content["body_params"] = view.template_body_params(self.template_names, self.template_values)
        try:
            self._send_content(content)
        except Exception as exc:
            return self._fail(exc)
        self.template_values = ["" for _ in self.template_names]
        return rx.toast.success(translate(self.lang, "inbox.toast.template_sent"))

    # reply buttons and lists
    @rx.var
    def interactive_can_add(self) -> bool:
        return len(self.interactive_options) < (3 if self.interactive_kind == "buttons" else 10)

    @rx.event
    def set_interactive_kind(self, value: str | list[str]):
        """Reply buttons (up to 3) or a list (up to 10 rows)."""
        kind = value[0] if isinstance(value, list) else value
        if kind in outbound_content.INTERACTIVE_KINDS:
            self.interactive_kind, self.interactive_error = kind, ""
            if kind == "buttons":
                self.interactive_options = self.interactive_options[:3]

    @rx.event
    def set_interactive_body(self, value: str):
        self.interactive_body, self.interactive_error = value[:4096], ""

    @rx.event
    def set_interactive_list_button(self, value: str):
        self.interactive_list_button, self.interactive_error = value[:40], ""

    @rx.event
    def set_interactive_option(self, index: int, value: str):
        options = list(self.interactive_options)
        if 0 <= int(index) < len(options):
            options[int(index)] = value[:40]
        self.interactive_options, self.interactive_error = options, ""

    @rx.event
    def add_interactive_option(self):
        if self.interactive_can_add:
            self.interactive_options = [*self.interactive_options, ""]

    @rx.event
    def remove_interactive_option(self, index: int):
        if len(self.interactive_options) > 1:
            self.interactive_options = [o for i, o in enumerate(self.interactive_options) if i != int(index)]

    @rx.event
    def send_interactive(self):
        """Check the form (inline error), then queue it like any message, with an idempotency key."""
        if not self.selected_id:
            return None
        args = (self.interactive_kind, self.interactive_body, list(self.interactive_options),
                self.interactive_list_button)
        problem = outbound_content.interactive_problem(*args)
        if problem is not None:
            self.interactive_error = translate(self.lang, f"inbox.interactive.error.{problem}")
            return None
        try:
            self._send_content(outbound_content.interactive_content(*args))
        except Exception as exc:
            return self._fail(exc)
        self.open_dialog = ""
        self.interactive_body, self.interactive_options, self.interactive_list_button = "", ["", ""], ""
        return rx.toast.success(translate(self.lang, "inbox.interactive.sent"))

    # attachments
    @rx.event
    def set_upload_open(self, value: bool):
        """Open or close the attachment dialog."""
        self.upload_open = bool(value)

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        """Store each file for sending and queue it as a media message."""
        if not self.selected_id or not files:
            return None
        try:
            actor = self._require("admin", "supervisor", "attendant")
            for file in files[:5]:
                data = await file.read()
                mime = file.content_type or "application/octet-stream"
                kind = next((k for k in ("image", "video", "audio") if mime.startswith(k + "/")), "document")
                content = await asyncio.to_thread(channel.store_outbound_file, actor=actor, kind=kind, data=data,
                                                  mime=mime, filename=(file.name or "arquivo")[-120:])
                with transaction() as session:
                    channel.send_message(session, actor=actor, conversation_id=self.selected_id, content=content,
                                          client_key=str(uuid.uuid4()))
            with transaction() as session:
                self._load_conversation(session, actor, keep_older=True)
        except Exception as exc:
            return self._fail(exc)
        self.upload_open = False
        return rx.clear_selected_files("attachments")

    # ---- customer panel ------------------------------------------------------------------------------
    @rx.event
    def save_contact(self, form: dict):
        """Save name, e-mail and the `chave: valor` attributes."""
        contact_id = self.contact.get("id", "")
        if not contact_id.isdigit():
            return None
        try:
            actor = self._require("admin", "supervisor", "attendant")
            with transaction() as session:
                saved = conversations.update_contact(
                    session, actor=actor, contact_id=int(contact_id), name=str(form.get("name", "")).strip(),
                    email=str(form.get("email", "")).strip(),
                    custom_attributes=view.parse_attributes(str(form.get("attributes", ""))))
        except Exception as exc:
            return self._fail(exc)
        self.contact = dict(self.contact, name=saved.name or "", email=saved.email or "")
        self.contact_attributes = view.attributes_text(saved.custom_attributes)
        return rx.toast.success(translate(self.lang, "inbox.toast.contact_saved"))

    # ---- presence ------------------------------------------------------------------------------------
    @rx.event
    def set_presence(self, status: str):
        """Disponível / Ausente."""
        self.presence_status = "away" if status == "away" else "online"
        return InboxState.heartbeat

    @rx.event
    def heartbeat(self):
        """Every ~20 s from the page: I am here, and I am looking at this conversation."""
        actor = self._actor()
        if actor is None:
            return
        realtime.register_tab(actor.tenant_id, self.router.session.client_token)
        routing.heartbeat(actor.tenant_id, actor.user_id, self.presence_status)
        if self.selected_id:
            routing.set_viewing(actor.tenant_id, self.selected_id, actor.user_id, actor.name)

    # ---- real time -----------------------------------------------------------------------------------
    def _apply_events(self, events: list[dict[str, Any]]) -> bool:
        """Bring this tab up to date after a burst of events; False when the user is gone (drop the tab).

        Durable events are folded into one reload of the list (and of the open conversation if it
        is among them); a gap in the tenant's seq reloads everything.
        """
        token = self._session_token()
        try:
            # One session check per browser session and burst (each event is re-checked: nothing is kept).
            actor = _push_actor(token, self.router.session.client_ip or None)
            if actor is None:
                return False
            self._apply_for(actor, events)
        except Exception:
            self.last_seq = -1  # this refresh failed (the database restarting?): the next event reloads all
            raise
        return True

    def _apply_for(self, actor: Actor, events: list[dict[str, Any]]) -> None:
        self.last_seq, fresh, gap = view.fresh_events(self.last_seq, events, SEQ_RESET_WINDOW)
        durable: list[dict[str, Any]] = []
        for event in fresh:
            if event.get("kind") in LIST_KINDS:
                durable.append(event)
            else:
                self._apply_ephemeral(actor, event)
        if gap:
            before = dict(self.counts)
            self._reload_all(actor, durable)
            for event in durable:
                self._maybe_notify(actor, event["kind"], event.get("conversation_id"), before)
        elif durable:
            self._apply_durable(actor, durable)

    def _apply_ephemeral(self, actor: Actor, event: dict[str, Any]) -> None:
        kind, data = event.get("kind"), event.get("data") or {}
        if event.get("conversation_id") != self.selected_id:
            return
        if kind == "viewers":
            self.viewers = [str(v.get("name", "")) for v in data.get("viewers", [])
                            if v.get("user_id") != actor.user_id]
        elif kind == "typing" and data.get("user_id") != actor.user_id:
            self.typing_name = str(data.get("name", ""))[:60]
            self._typing_stamp = _now().timestamp()

    def _apply_durable(self, actor: Actor, events: list[dict[str, Any]]) -> None:
        before = dict(self.counts)
        mine = [e for e in events if self.selected_id and e.get("conversation_id") == self.selected_id]
        with transaction() as session:
            self._load_list(session, actor)
            if mine:
                try:
                    self._load_conversation(session, actor, keep_older=True)
                except PermissionDenied:
                    changes = [e for e in mine if str(e.get("kind", "")).startswith("conversation.")]
                    self._lost_access(session, actor, (changes[-1].get("data") or {}) if changes else {})
                except CRMError:
                    self._clear_selection()
        if any(e["kind"] == "message.new" for e in mine):
            self.typing_name = ""
            self._mark_read(actor)
        notified = set()
        for event in events:
            key = (event["kind"], event.get("conversation_id"))
            if key not in notified:
                notified.add(key)
                self._maybe_notify(actor, event["kind"], event.get("conversation_id"), before)

    def _lost_access(self, session, actor: Actor, data: dict) -> None:
        """Another attendant took the open conversation: keep what was shown, lock the composer, name them."""
        header = dict(self.header, mine="")
        if "assignee_id" in data:  # message events carry no assignee: keep what was shown
            assignee = str(data.get("assignee_id") or "")
            names = {o["id"]: o["name"] for o in self.user_options}
            if assignee and assignee not in names and actor.role not in SUPERVISORS:
                names.update({str(u["id"]): str(u["name"]) for u in routing.online_users(session, actor=actor)})
            header.update(assignee=names.get(assignee, ""), assignee_id=assignee)
        if "bot_active" in data:
            header["bot"] = "1" if data.get("bot_active") else ""
        if "status" in data:
            header["status"] = str(data.get("status"))
        self.header = header
        self.can_reply, self.note_mode, self.reply_to = False, False, {}
        self.blocked_reason = "inbox.blocked.other_assignee"

    def _maybe_notify(self, actor: Actor, kind: str, conversation_id: int | None, before: dict) -> None:
        """A sound and a browser notification for my conversations and new unassigned ones."""
        if kind == "conversation.new" or self.counts.get("unassigned", 0) > before.get("unassigned", 0):
            self._notify(translate(self.lang, "inbox.notify.unassigned"), "")
            return
        if kind != "message.new" or not conversation_id:
            return
        def read_row():
            with transaction() as session:
                return inbox.conversation_row(session, conversation_id, tenant_id=actor.tenant_id)

        try:  # read once for every tab of the burst; shown only to its assignee, who may see it
            row = shared(("row", actor.tenant_id, conversation_id), read_row)
        except Exception:  # noqa: BLE001 - gone meanwhile: nothing to notify
            return
        if row.assignee_id == actor.user_id and row.unread_count:
            self._notify(row.contact_name or display_phone(row.contact_phone), row.preview or "")

    def _notify(self, title: str, body: str) -> None:
        self.notify_seq += 1
        self.notify_title, self.notify_body = title[:80], body[:140]

    def _expire_typing(self, stamp: float) -> None:
        if self._typing_stamp == stamp:
            self.typing_name = ""


# Sessions checked for pushes in this process: token hash -> (checked at, actor). A live session is trusted
# for PUSH_SESSION_TTL seconds, so a burst that reaches 50 tabs costs no 50 session queries; a session
# revoked meanwhile stops receiving pushes within that time (every handler the user triggers checks at once).
PUSH_SESSION_TTL = 10.0
_push_sessions: dict[tuple[str, str | None], tuple[float, Actor]] = {}


def _suggest(actor: Actor, conversation_id: int) -> str:
    """The AI draft, read in its own transaction (runs in a worker thread)."""
    with transaction() as session:
        return bot.suggest_reply(session, actor=actor, conversation_id=conversation_id)


def _push_actor(token: str | None, ip: str | None) -> Actor | None:
    if not token:
        return None
    key = (hashlib.sha256(token.encode()).hexdigest(), ip)
    known = _push_sessions.get(key)
    if known is not None and time.monotonic() - known[0] < PUSH_SESSION_TTL:
        return known[1]
    actor = shared(("actor",) + key, lambda: access.peek_actor(token, ip=ip))
    if actor is None:
        _push_sessions.pop(key, None)
    else:
        if len(_push_sessions) > 10_000:
            _push_sessions.clear()
        _push_sessions[key] = (time.monotonic(), actor)
    return actor


async def push_events(app: Any, token: str, events: list[dict[str, Any]]) -> bool:
    """Apply a burst of real-time events to one tab (called by the listener); False drops the tab."""
    started = time.perf_counter()
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=InboxState)) as root:
        state = await root.get_state(InboxState)
        if not state.user_role:
            return False  # a fresh, never-loaded state: the tab's own state is gone
        alive = await asyncio.to_thread(state._apply_events, events)
        stamp = state._typing_stamp if any(e.get("kind") == "typing" for e in events) else None
    log.debug("pushed %d event(s) to a tab in %.1f ms", len(events), (time.perf_counter() - started) * 1000)
    if alive and stamp:
        asyncio.get_running_loop().create_task(_clear_typing_later(app, token, stamp))
    return alive


async def _clear_typing_later(app: Any, token: str, stamp: float) -> None:
    await asyncio.sleep(TYPING_SHOWN_SECONDS)
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=InboxState)) as root:
        state = await root.get_state(InboxState)
        state._expire_typing(stamp)


async def listen(app: Any) -> None:
    """The lifespan task of each web process."""
    await realtime.listen(app, push_events)
