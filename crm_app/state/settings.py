"""The settings page: the tenant's users, failed webhooks and API tokens (numbers have /settings/numbers)."""

from __future__ import annotations

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import ValidationError
from crm_app.services import access, call, channel
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import crm_error_toast, toast_errors
from crm_app.state.session import SessionState

TOKEN_SCOPES = access.TOKEN_SCOPES
_TOKEN_FIELD_ERRORS = {"name": "tokens.error.name", "scopes": "tokens.error.scopes", "user_id": "tokens.error.user"}


class SettingsState(ConfirmMixin, SessionState):
    """Users, API tokens and failed webhooks of the admin's tenant, as plain rows."""

    user_rows: list[dict[str, str]] = []
    dead_rows: list[dict[str, str]] = []
    unsupported_rows: list[dict[str, str]] = []
    token_rows: list[dict[str, str]] = []
    loaded: bool = False
    token_form_open: bool = False
    token_name: str = ""
    token_user_id: str = ""
    token_scopes: list[str] = []
    token_name_error: str = ""
    token_scopes_error: str = ""
    token_user_error: str = ""
    # The new token's secret, shown once: cleared as soon as the dialog closes.
    new_secret: str = ""

    @rx.var(cache=True)
    def token_user_options(self) -> list[dict[str, str]]:
        """Active users; the page names the role in the tab's language (no read of `t` here: see SessionState)."""
        return [{"id": r["id"], "name": r["name"], "role": "role." + r["role"]} for r in self.user_rows if r["active"]]

    @rx.event
    def open_page(self):
        """on_load: a token's secret is shown once, right after its creation, never on a return to the page."""
        self.token_form_open, self.new_secret = False, ""
        return SettingsState.load

    @rx.event
    @toast_errors
    def load(self):
        """Fetch the rows again; the role is checked here too, not only in on_load."""
        self.user_rows, self.token_rows = [], []  # a failed load shows no stale rows
        actor = self._require("admin")
        overview = call(channel.settings_overview, actor=actor)
        self.token_rows = [self._token_row(token, actor.timezone) for token in overview.tokens]
        self.user_rows = [{"id": str(u.id), "name": u.name, "email": u.email, "role": u.role,
                           "active": "1" if u.is_active else ""} for u in overview.users]
        self.dead_rows = [{"id": str(e.id), "received_at": format_local(e.received_at, actor.timezone),
                           "attempts": str(e.attempts), "error": e.last_error, "body": e.body_preview}
                          for e in overview.dead_events]
        self.unsupported_rows = [{"id": str(m.id), "conversation": str(m.conversation_id),
                                  "received_at": format_local(m.received_at, actor.timezone), "raw": m.raw_json}
                                 for m in overview.unsupported]
        self.loaded = True
        return None

    @rx.event
    @toast_errors
    def replay(self, event_id: str):
        """Queue a dead-lettered webhook again; admins only, checked here as well."""
        call(channel.replay_event, actor=self._require("admin"), event_id=int(event_id))
        return [rx.toast.success(self.t["settings.replayed"]), SettingsState.load]

    def _token_row(self, token: access.ApiTokenRow, timezone: str) -> dict[str, str]:
        status = "active" if token.active else ("revoked" if token.revoked_at else "expired")
        return {"id": str(token.id), "name": token.name, "prefix": token.prefix + "…", "user": token.user_name,
                "scopes": ", ".join(self.t.get(f"tokens.scope.{s}", s) for s in token.scopes),
                "created_at": format_local(token.created_at, timezone),
                "last_used": format_local(token.last_used_at, timezone) if token.last_used_at else "",
                "status": status}

    @rx.event
    def open_token_form(self):
        """An empty token form: acting as the admin, reading conversations."""
        self.token_name, self.token_scopes, self.new_secret = "", ["conversations:read"], ""
        self.token_name_error = self.token_scopes_error = self.token_user_error = ""
        actor = self._actor()
        self.token_user_id = str(actor.user_id) if actor else ""
        self.token_form_open = True

    @rx.event
    def set_token_form_open(self, is_open: bool):
        """Closing the dialog forgets the secret for good."""
        self.token_form_open = is_open
        if not is_open:
            self.new_secret = ""

    @rx.event
    def close_token_form(self):
        self.token_form_open, self.new_secret = False, ""

    @rx.event
    def set_token_name(self, value: str):
        self.token_name, self.token_name_error = value, ""

    @rx.event
    def set_token_user_id(self, value: str):
        self.token_user_id, self.token_user_error = value, ""

    @rx.event
    def toggle_token_scope(self, scope: str, checked: bool):
        chosen = set(self.token_scopes) - {scope} | ({scope} if checked else set())
        self.token_scopes = [s for s in TOKEN_SCOPES if s in chosen]
        self.token_scopes_error = ""

    @rx.event
    @toast_errors
    def create_token(self):
        """Create the token and show its secret in the same dialog, once."""
        actor = self._require("admin")
        user_id = int(self.token_user_id) if self.token_user_id.isdigit() else None
        try:
            _, secret = call(access.create, actor=actor, name=self.token_name, scopes=self.token_scopes,
                             user_id=user_id)
        except ValidationError as exc:
            key = _TOKEN_FIELD_ERRORS.get(str(exc.params.get("field", "")))
            if key is None:
                return crm_error_toast(self.lang, exc)
            setattr(self, {"name": "token_name_error", "scopes": "token_scopes_error"}.get(
                str(exc.params["field"]), "token_user_error"), self.t[key])
            return None
        self.new_secret = secret
        return SettingsState.load

    @rx.event
    @toast_errors
    def confirm_revoke(self):
        """Revoke the token the confirmation names; admins only, checked here as well."""
        token_id = self._take_confirm()
        if not token_id:
            return None
        call(access.revoke, actor=self._require("admin"), token_id=int(token_id))
        return [rx.toast.success(self.t["tokens.revoked"]), SettingsState.load]
