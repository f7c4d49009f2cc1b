"""/settings/canned: supervisors and admins keep the tenant's canned responses."""

from __future__ import annotations

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import Conflict, ValidationError
from crm_app.services import call, inbox
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import crm_error_toast, toast_errors
from crm_app.state.session import SessionState

ROLES = ("admin", "supervisor")
VARIABLES = ("nome", "primeiro_nome", "telefone", "email", "atendente")
_FIELD_ERRORS = {"short_code": "canned.error.short_code", "content": "canned.error.content"}


class CannedSettingsState(ConfirmMixin, SessionState):
    """The list, the create/edit dialog and the delete confirmation, as plain strings."""

    canned_rows: list[dict[str, str]] = []
    canned_loaded: bool = False
    form_open: bool = False
    editing_id: str = ""
    form_code: str = ""
    form_content: str = ""
    code_error: str = ""
    content_error: str = ""
    @rx.event
    @toast_errors
    def load(self):
        """Fetch the list again; the role is checked here too, not only by the page guard."""
        self.canned_rows = []  # a failed load shows no stale rows
        actor = self._require(*ROLES)
        rows = call(inbox.list_canned, actor=actor)
        self.canned_rows = [{"id": str(r.id), "short_code": r.short_code, "content": r.content,
                             "updated_at": format_local(r.updated_at, actor.timezone)} for r in rows]
        self.canned_loaded = True
        return None

    def _open_form(self, canned_id: str, code: str, content: str) -> None:
        self.editing_id, self.form_code, self.form_content = canned_id, code, content
        self.code_error = self.content_error = ""
        self.form_open = True

    @rx.event
    def open_new(self):
        """Start an empty form."""
        self._open_form("", "", "")

    @rx.event
    def open_edit(self, canned_id: str):
        """Fill the form from the row shown; the save checks the row again on the server."""
        row = next((r for r in self.canned_rows if r["id"] == canned_id), None)
        if row is not None:
            self._open_form(canned_id, row["short_code"], row["content"])

    @rx.event
    def set_form_open(self, is_open: bool):
        self.form_open = is_open

    @rx.event
    def set_form_code(self, value: str):
        self.form_code, self.code_error = value, ""

    @rx.event
    def set_form_content(self, value: str):
        self.form_content, self.content_error = value, ""

    @rx.event
    def insert_variable(self, name: str):
        """Append a {{variable}} to the text."""
        if name in VARIABLES:
            separator = "" if not self.form_content or self.form_content.endswith((" ", "\n")) else " "
            self.form_content = f"{self.form_content}{separator}{{{{{name}}}}}"
            self.content_error = ""

    @rx.event
    @toast_errors
    def save(self):
        """Create or update; a bad field is shown under the field, anything else as a toast."""
        actor = self._require(*ROLES)
        try:
            if self.editing_id:
                call(inbox.update_canned, actor=actor, canned_id=int(self.editing_id), short_code=self.form_code,
                     content=self.form_content)
            else:
                call(inbox.create_canned, actor=actor, short_code=self.form_code, content=self.form_content)
        except (ValidationError, Conflict) as exc:
            return self._show_field_error(exc)
        self.form_open = False
        return [rx.toast.success(self.t["canned.saved"]), CannedSettingsState.load]

    def _show_field_error(self, exc: ValidationError | Conflict):
        if isinstance(exc, Conflict):
            self.code_error = self.t["canned.error.taken"]
            return None
        field = str(exc.params.get("field", ""))
        if field in _FIELD_ERRORS:
            setattr(self, "code_error" if field == "short_code" else "content_error", self.t[_FIELD_ERRORS[field]])
            return None
        return crm_error_toast(self.lang, exc)

    @rx.event
    @toast_errors
    def confirm_delete(self):
        """Delete the row the confirmation names."""
        canned_id = self._take_confirm()
        if not canned_id:
            return None
        call(inbox.delete_canned, actor=self._require(*ROLES), canned_id=int(canned_id))
        return [rx.toast.success(self.t["canned.deleted"]), CannedSettingsState.load]
