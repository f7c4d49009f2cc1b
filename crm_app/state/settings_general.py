"""/settings/general: the tenant's settings by category, with their source, "Usar padrão", and the history with
rollback. Admins only (the services check the role and the tenant again on every call)."""

from __future__ import annotations

import reflex as rx

from crm_app.services import call, settings
from crm_app.services.core.actors import Actor
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState
from crm_app.state.settings_form import SettingsFormMixin

ROLES = ("admin",)


class GeneralSettingsState(ConfirmMixin, SettingsFormMixin, SessionState):
    """The tenant's settings form; the tenant is always the logged-in user's own."""

    def _scope(self, actor: Actor) -> int | None:
        return actor.tenant_id

    @rx.event
    @toast_errors
    def load(self):
        """Read the settings and their history again (the role is checked here, not only by the page guard)."""
        self.setting_rows, self.change_rows, self.form_loaded = [], [], False
        actor = self._require(*ROLES)
        page = call(settings.settings_page, actor=actor)
        self._show(page.settings, page.history, actor)

    @rx.event
    @toast_errors
    def save(self):
        """Send every changed field at once, with the reason; bad fields are shown under themselves."""
        return self._save(self._require(*ROLES))

    @rx.event
    def ask_revert(self, change_id: str):
        """Open the confirm dialog for one history row (the id is checked again by `revert`)."""
        self._ask_revert(change_id)

    @rx.event
    @toast_errors
    def revert(self):
        """Put back the value the confirmed history row replaced."""
        return self._revert(self._require(*ROLES))
