"""What the chat header does to the open conversation: take over, transfer, close, reopen, snooze, labels, priority,
resend."""

from __future__ import annotations

import datetime as dt

import reflex as rx

from crm_app.i18n import translate
from crm_app.services import call, channel, conversations, inbox
from crm_app.services.sla import priority as sla_priority
from crm_app.state.errors import toast_errors
from crm_app.state.inbox import view
from crm_app.state.inbox.conversation import InboxConversationState


class InboxActionsState(InboxConversationState):
    """The conversation actions; their dialogs' flag (`open_dialog`) lives on the conversation."""

    def _act(self, use_case, ok_key: str, **kwargs):
        """One conversation action; on success its dialog closes and the chat and list reload."""
        if not self.selected_id:
            return None
        actor = self._require("admin", "supervisor", "attendant")
        call(use_case, actor=actor, conversation_id=self.selected_id, **kwargs)
        self.open_dialog = ""
        self._refresh(actor)
        return rx.toast.success(translate(self.lang, ok_key)) if ok_key else None

    @rx.event
    @toast_errors
    def take_over(self):
        """Assumir: the conversation becomes mine and the bot steps back."""
        return self._act(inbox.take_over, "inbox.toast.taken")

    @rx.event
    @toast_errors
    def open_transfer(self):
        """Fresh teams and people (who is online now) for the transfer dialog."""
        actor = self._actor()
        if actor is not None:
            self._load_options(actor)

    @rx.event
    @toast_errors
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
    @toast_errors
    def close(self, form: dict):
        """Encerrar, with an optional note."""
        note = str(form.get("note", "")).strip()[:1000] or None
        return self._act(inbox.close, "inbox.toast.closed", note=note)

    @rx.event
    @toast_errors
    def reopen(self):
        """Reabrir a closed conversation."""
        return self._act(inbox.reopen, "inbox.toast.reopened")

    @rx.event
    @toast_errors
    def snooze(self, form: dict):
        """Adiar until a local date and time."""
        try:
            until = dt.datetime.fromisoformat(str(form.get("until", ""))).replace(tzinfo=view.zone(self._tz))
        except ValueError:
            return rx.toast.error(translate(self.lang, "inbox.snooze.invalid"))
        return self._act(inbox.snooze, "inbox.toast.snoozed", until=until.astimezone(dt.UTC))

    @rx.event
    @toast_errors
    def set_priority(self, name: str):
        """Prioridade: none, low, medium, high or urgent (supervisors and admins; the service refuses others)."""
        return self._act(sla_priority.set_priority, "inbox.toast.priority", priority=str(name)[:10])

    @rx.event
    @toast_errors
    def add_label(self, form: dict):
        """Add a label (an existing one, or a new name)."""
        name = str(form.get("label", "")).strip()[:40]
        if not name:
            return None
        result = self._act(conversations.add_label, "", name=name)
        actor = self._actor()
        if actor is not None and name not in {o["name"] for o in self.label_options}:
            self._load_options(actor)  # a new label joins the filter and the suggestions
        return result

    @rx.event
    @toast_errors
    def remove_label(self, name: str):
        """Remove one label from the open conversation."""
        return self._act(conversations.remove_label, "", name=name)

    @rx.event
    @toast_errors
    def resend(self, message_id: str):
        """Reenviar: queue a failed message again."""
        if not str(message_id).isdigit() or not self.selected_id:
            return None
        actor = self._require("admin", "supervisor", "attendant")
        call(channel.resend_failed, actor=actor, message_id=int(message_id))
        self._load_conversation(actor, keep_older=True)
        return rx.toast.info(translate(self.lang, "inbox.toast.resent"))
