"""The settings page: the tenant's users and WhatsApp numbers."""

from __future__ import annotations

import reflex as rx

from crm_app.services import inboxes, transaction, users
from crm_app.state.session import SessionState


class SettingsState(SessionState):
    """Users and inboxes of the admin's tenant, as plain rows."""

    user_rows: list[dict[str, str]] = []
    inbox_rows: list[dict[str, str]] = []
    loaded: bool = False

    @rx.event
    def load(self):
        """Fetch the rows again; the role is checked here too, not only in on_load."""
        try:
            actor = self._require("admin")
            with transaction() as session:
                user_list = users.list_users(session, actor=actor)
                inbox_list = inboxes.list_inboxes(session, actor=actor)
        except Exception as exc:
            self.user_rows, self.inbox_rows = [], []
            return rx.toast.error(self._error_text(exc))
        self.user_rows = [{"name": u.name, "email": u.email, "role": u.role,
                           "active": "1" if u.is_active else ""} for u in user_list]
        self.inbox_rows = [{"name": i.name, "number": i.display_number,
                            "phone_number_id": i.phone_number_id} for i in inbox_list]
        self.loaded = True
        return None
