"""The settings page: the tenant's users and WhatsApp numbers."""

from __future__ import annotations

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.services import inbound, inboxes, messages, transaction, users
from crm_app.state.session import SessionState


class SettingsState(SessionState):
    """Users and inboxes of the admin's tenant, as plain rows."""

    user_rows: list[dict[str, str]] = []
    inbox_rows: list[dict[str, str]] = []
    dead_rows: list[dict[str, str]] = []
    unsupported_rows: list[dict[str, str]] = []
    loaded: bool = False

    @rx.event
    def load(self):
        """Fetch the rows again; the role is checked here too, not only in on_load."""
        try:
            actor = self._require("admin")
            with transaction() as session:
                user_list = users.list_users(session, actor=actor)
                inbox_list = inboxes.list_inboxes(session, actor=actor)
                dead_list = inbound.list_dead_events(session, actor=actor)
                unsupported = messages.list_unsupported(session, actor=actor)
        except Exception as exc:
            self.user_rows, self.inbox_rows = [], []
            return rx.toast.error(self._error_text(exc))
        self.user_rows = [{"name": u.name, "email": u.email, "role": u.role,
                           "active": "1" if u.is_active else ""} for u in user_list]
        self.inbox_rows = [{"name": i.name, "number": i.display_number,
                            "phone_number_id": i.phone_number_id} for i in inbox_list]
        self.dead_rows = [{"id": str(e.id), "received_at": format_local(e.received_at, actor.timezone),
                           "attempts": str(e.attempts), "error": e.last_error, "body": e.body_preview}
                          for e in dead_list]
        self.unsupported_rows = [{"id": str(m.id), "conversation": str(m.conversation_id),
                                  "received_at": format_local(m.received_at, actor.timezone), "raw": m.raw_json}
                                 for m in unsupported]
        self.loaded = True
        return None

    @rx.event
    def replay(self, event_id: str):
        """Queue a dead-lettered webhook again; admins only, checked here as well."""
        try:
            actor = self._require("admin")
            with transaction() as session:
                inbound.replay_event(session, actor=actor, event_id=int(event_id))
        except Exception as exc:
            return rx.toast.error(self._error_text(exc))
        return [rx.toast.success(self.t["settings.replayed"]), SettingsState.load]
