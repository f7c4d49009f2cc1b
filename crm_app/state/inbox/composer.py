"""The composer of the open conversation: replies and notes, canned responses, AI drafts, templates,
reply buttons and lists, and attachments."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import reflex as rx

from crm_app.domain import outbound_content
from crm_app.errors import PermissionDenied
from crm_app.i18n import translate
from crm_app.services import bot, call, channel, inbox, routing
from crm_app.services.core.actors import Actor
from crm_app.state.errors import toast_errors
from crm_app.state.inbox import view
from crm_app.state.inbox.base import now
from crm_app.state.inbox.conversation import InboxConversationState


def client_key(value: object) -> str:
    """The browser's idempotency key if it is a UUID (unguessable), else a fresh one."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(uuid.uuid4())


class InboxComposerState(InboxConversationState):
    """What the composer of the open conversation holds."""

    canned_query: str = ""
    canned_rows: list[dict[str, str]] = []
    template_rows: list[dict[str, str]] = []
    template_id: str = ""
    template_names: list[str] = []
    template_values: list[str] = []
    upload_open: bool = False
    interactive_kind: str = "buttons"
    interactive_body: str = ""
    interactive_options: list[str] = ["", ""]
    interactive_list_button: str = ""
    interactive_error: str = ""
    suggesting: bool = False

    @rx.var(cache=True)
    def template_preview(self) -> str:
        """The chosen template's body with the typed values in place."""
        body = next((t["body"] for t in self.template_rows if t["id"] == self.template_id), "")
        return view.template_preview(body, self.template_names, self.template_values)

    @rx.var(cache=True)
    def template_ready(self) -> bool:
        """A template is chosen and every variable is filled in."""
        return bool(self.template_id) and all(v.strip() for v in self.template_values)

    @rx.var
    def interactive_can_add(self) -> bool:
        """Room for one more option: 3 reply buttons, 10 list rows."""
        return len(self.interactive_options) < (3 if self.interactive_kind == "buttons" else 10)

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
    @toast_errors
    def send(self, form: dict):
        """Enter or the send button: an optimistic bubble, then the service call with an idempotency key."""
        body = str(form.get("body", "")).strip()
        if not body or not self.selected_id:
            return
        key = client_key(form.get("client_key"))
        note, reply = self.note_mode, dict(self.reply_to)
        self.items = self.items + [view.pending_item(body, key, note, self.user_name, now(), self._tz,
                                                     reply.get("body", ""))]
        self.reply_to = {}
        yield rx.call_script("window.crmInbox && window.crmInbox.sent()")
        delivered = False
        try:
            self._deliver(body, key, note, reply)
            delivered = True
        finally:
            if not delivered:  # whatever failed: the bubble goes, the text returns to the composer
                self.items = [m for m in self.items if m["id"] != f"pending-{key}"]
                yield rx.call_script(f"window.crmInbox && window.crmInbox.restore({json.dumps(body)})")

    def _deliver(self, body: str, key: str, note: bool, reply: dict[str, str]) -> None:
        actor = self._require("admin", "supervisor", "attendant")
        if note:  # a note is stored at once and has no client key: drop its placeholder now
            call(inbox.add_note, actor=actor, conversation_id=self.selected_id, body=body)
            self.items = [m for m in self.items if m["id"] != f"pending-{key}"]
        else:
            reply_id = int(reply["id"]) if reply.get("id", "").isdigit() else None
            call(channel.send_message, actor=actor, conversation_id=self.selected_id,
                 content={"type": "text", "body": body}, client_key=key, reply_to_message_id=reply_id)
        self._load_conversation(actor, keep_older=True)

    @rx.event
    def typing(self):
        """Throttled in the browser and again in the service: tell the others I am typing."""
        if not self.selected_id or self.note_mode:
            return
        actor = self._actor()
        if actor is not None and actor.role != "executive":  # a reader leaves no trace
            routing.set_typing(actor.tenant_id, self.selected_id, actor.user_id, actor.name)

    @rx.event
    @toast_errors
    def open_canned(self):
        """Load the canned responses for the popover."""
        self._search_canned("")

    @rx.event
    @toast_errors
    def set_canned_query(self, value: str):
        """Filter the canned responses."""
        self._search_canned(value)

    def _search_canned(self, value: str) -> None:
        self.canned_query = value[:60]
        actor = self._require("admin", "supervisor", "attendant")
        rows = call(inbox.list_canned, actor=actor, query=self.canned_query.lstrip("/") or None)
        self.canned_rows = [{"id": str(r.id), "code": r.short_code, "content": r.content} for r in rows[:30]]

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

    @rx.event(background=True)
    @toast_errors
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
            draft = await asyncio.to_thread(call, bot.suggest_reply, actor=actor, conversation_id=conversation_id)
        finally:
            async with self:
                self.suggesting = False
        async with self:
            still_open = self.selected_id == conversation_id
            done = translate(self.lang, "inbox.suggest.ready")
        if still_open:
            yield rx.call_script("(function(t){const el=document.getElementById('composer-text');"
                                 "if(!el)return;el.value=t;el.focus();el.setSelectionRange(t.length,t.length);"
                                 f"}})({json.dumps(draft)})")
            yield rx.toast.info(done)

    @rx.event
    @toast_errors
    def open_templates(self):
        """Load the approved templates of this tenant."""
        rows = call(channel.list_templates, actor=self._require("admin", "supervisor", "attendant"))
        self.template_rows = [{"id": str(t.id), "name": t.name, "language": t.language, "body": t.body_text,
                               "category": t.category} for t in rows]
        if self.template_rows and not self.template_id:
            self.pick_template(self.template_rows[0]["id"])

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
        call(channel.send_message, actor=actor, conversation_id=self.selected_id, content=content,
             client_key=str(uuid.uuid4()))
        self._load_conversation(actor, keep_older=True)

    @rx.event
    @toast_errors
    def send_template(self):
        """Send the chosen template with its variables (allowed with the window closed)."""
        row = next((t for t in self.template_rows if t["id"] == self.template_id), None)
        if row is None or not self.selected_id:
            return None
        content = {"type": "template", "name": row["name"], "language": row["language"]}
        if self.template_names:
            content["body_params"] = view.template_body_params(self.template_names, self.template_values)
        self._send_content(content)
        self.template_values = ["" for _ in self.template_names]
        return rx.toast.success(translate(self.lang, "inbox.toast.template_sent"))

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
        """The message text above the buttons or the list."""
        self.interactive_body, self.interactive_error = value[:4096], ""

    @rx.event
    def set_interactive_list_button(self, value: str):
        """The label of the button that opens the list."""
        self.interactive_list_button, self.interactive_error = value[:40], ""

    @rx.event
    def set_interactive_option(self, index: int, value: str):
        """One button or list row."""
        options = list(self.interactive_options)
        if 0 <= int(index) < len(options):
            options[int(index)] = value[:40]
        self.interactive_options, self.interactive_error = options, ""

    @rx.event
    def add_interactive_option(self):
        """One more button or row, up to the limit."""
        if self.interactive_can_add:
            self.interactive_options = [*self.interactive_options, ""]

    @rx.event
    def remove_interactive_option(self, index: int):
        """Drop one button or row (at least one stays)."""
        if len(self.interactive_options) > 1:
            self.interactive_options = [o for i, o in enumerate(self.interactive_options) if i != int(index)]

    @rx.event
    @toast_errors
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
        self._send_content(outbound_content.interactive_content(*args))
        self.open_dialog = ""
        self.interactive_body, self.interactive_options, self.interactive_list_button = "", ["", ""], ""
        return rx.toast.success(translate(self.lang, "inbox.interactive.sent"))

    @rx.event
    def set_upload_open(self, value: bool):
        """Open or close the attachment dialog."""
        self.upload_open = bool(value)

    @rx.event
    @toast_errors
    async def upload(self, files: list[rx.UploadFile]):
        """Store each file for sending and queue it as a media message."""
        if not self.selected_id or not files:
            return None
        actor = self._require("admin", "supervisor", "attendant")
        for file in files[:5]:
            await self._send_file(actor, file)
        self._load_conversation(actor, keep_older=True)
        self.upload_open = False
        return rx.clear_selected_files("attachments")

    async def _send_file(self, actor: Actor, file: rx.UploadFile) -> None:
        data = await file.read()
        mime = file.content_type or "application/octet-stream"
        kind = next((k for k in ("image", "video", "audio") if mime.startswith(k + "/")), "document")
        content = await asyncio.to_thread(channel.store_outbound_file, actor=actor, kind=kind, data=data, mime=mime,
                                          filename=(file.name or "arquivo")[-120:])
        call(channel.send_message, actor=actor, conversation_id=self.selected_id, content=content,
             client_key=str(uuid.uuid4()))
