"""/settings/users: admins invite, create, re-role, deactivate and reset the passwords of their tenant's users."""

from __future__ import annotations

import asyncio

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import Conflict, ValidationError
from crm_app.services import access, call
from crm_app.services.core.actors import Actor
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import crm_error_toast, toast_errors
from crm_app.state.session import SessionState

ROLES = ("admin", "supervisor", "attendant",
         "dpo")
_FIELDS = {"name": "form_name_error", "email": "form_email_error", "role": "form_role_error",
           "password": "form_password_error"}


class UsersSettingsState(ConfirmMixin, SessionState):
    """The user list and its dialogs, as plain strings. The one-time link lives only until its dialog closes."""

    user_rows: list[dict[str, str]] = []
    users_loaded: bool = False
    # Create dialog.
    form_open: bool = False
    form_name: str = ""
    form_email: str = ""
    form_role: str = "attendant"
    form_method: str = "invite"
    form_password: str = ""
    form_name_error: str = ""
    form_email_error: str = ""
    form_role_error: str = ""
    form_password_error: str = ""
    form_busy: bool = False
    # Role dialog: the id of the user it is about, and their name. The confirmations are ConfirmMixin's.
    role_id: str = ""
    role_name: str = ""
    role_value: str = ""
    # The link just made, shown once.
    link_url: str = ""
    link_title: str = ""
    link_body: str = ""

    @rx.var(cache=True)
    def role_open(self) -> bool:
        return self.role_id != ""

    @rx.var(cache=True)
    def link_open(self) -> bool:
        return self.link_url != ""

    def _fill(self, key: str, **values: str) -> str:
        text = self.t.get(key, key)
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text

    @rx.event
    def open_page(self):
        """on_load: a link from an earlier visit is never shown again."""
        self.link_url = self.link_title = self.link_body = ""
        self.form_open = False
        self.role_id = ""
        self._take_confirm(self.confirm_kind)
        return UsersSettingsState.load

    @rx.event
    @toast_errors
    def load(self):
        """Fetch the list again; the role is checked here too, not only by the page guard."""
        self.user_rows = []  # a failed load shows no stale rows
        actor = self._require("admin")
        rows = call(access.list_users, actor=actor)
        self.user_rows = [self._row(r, actor) for r in rows]
        self.users_loaded = True
        return None

    def _row(self, row: access.UserRow, actor: Actor) -> dict[str, str]:
        status = "inactive" if not row.is_active else ("pending" if row.link_pending else "active")
        return {"id": str(row.id), "name": row.name, "email": row.email, "role": row.role, "status": status,
                "two_factor": "on" if row.two_factor else "off", "is_self": "1" if row.id == actor.user_id else "",
                "last_login": format_local(row.last_login_at, actor.timezone) if row.last_login_at else ""}

    def _find(self, user_id: str) -> dict[str, str] | None:
        return next((r for r in self.user_rows if r["id"] == user_id), None)

    @rx.event
    def open_new(self):
        """An empty create form: invite link by default, since no one should have to share a password."""
        self.form_name = self.form_email = self.form_password = ""
        self.form_role, self.form_method = "attendant", "invite"
        self._clear_form_errors()
        self.form_open = True

    def _clear_form_errors(self) -> None:
        self.form_name_error = self.form_email_error = self.form_role_error = self.form_password_error = ""

    @rx.event
    def set_form_open(self, is_open: bool):
        self.form_open = is_open
        if not is_open:
            self.form_password = ""

    @rx.event
    def set_form_name(self, value: str):
        self.form_name, self.form_name_error = value, ""

    @rx.event
    def set_form_email(self, value: str):
        self.form_email, self.form_email_error = value, ""

    @rx.event
    def set_form_role(self, value: str):
        self.form_role, self.form_role_error = value, ""

    @rx.event
    def set_form_method(self, value: str):
        self.form_method, self.form_password_error = ("password" if value == "password" else "invite"), ""

    @rx.event
    def set_form_password(self, value: str):
        self.form_password, self.form_password_error = value, ""

    @rx.event
    @toast_errors
    async def create_user(self):
        """Create the user; a bad field shows under the field, anything else as a toast. bcrypt runs off the loop."""
        if self._missing_fields():
            return
        self.form_busy = True
        yield
        password = self.form_password if self.form_method == "password" else None
        try:  # in a worker thread: bcrypt takes a quarter of a second
            actor = self._require("admin")
            row, token = await asyncio.to_thread(call, access.create_user, actor=actor, email=self.form_email,
                                                 name=self.form_name, role=self.form_role, password=password)
        except (ValidationError, Conflict) as exc:
            yield self._show_field_error(exc)
            return
        finally:  # the button works again whatever happened (@toast_errors shows anything else)
            self.form_busy = False
        self.form_open, self.form_password = False, ""
        if token:
            self._show_link(token, row, "admin.link.invite_title", "mail.link.emailed")
        yield [rx.toast.success(self.t["admin.created"]), UsersSettingsState.load]

    def _missing_fields(self) -> bool:
        """Blank required fields, all flagged at once before asking the server (which checks everything again)."""
        if not self.form_name.strip():
            self.form_name_error = self.t["admin.error.name"]
        if not self.form_email.strip():
            self.form_email_error = self.t["admin.error.email"]
        if self.form_method == "password" and not self.form_password:
            self.form_password_error = self.t["admin.error.password_required"]
        return bool(self.form_name_error or self.form_email_error or self.form_password_error)

    def _show_field_error(self, exc: ValidationError | Conflict):
        field = str(exc.params.get("field", ""))
        if isinstance(exc, Conflict) and field == "email":
            self.form_email_error = self.t["admin.error.email_taken"]
        elif field == "password":
            problems = exc.params.get("problems") or []
            self.form_password_error = " ".join(self.t.get(p, "") for p in problems).strip() \
                or self.t["admin.error.password"]
        elif field in _FIELDS:
            setattr(self, _FIELDS[field], self.t[f"admin.error.{field}"])
        else:
            return crm_error_toast(self.lang, exc)
        return None

    def _show_link(self, token: str, row: access.UserRow, title_key: str, emailed_key: str) -> None:
        """The link, once, saying whether it was also e-mailed (the e-mail log shows whether that e-mail left)."""
        self.link_url = access.link_url(token)
        self.link_title = self.t[title_key]
        self.link_body = self._fill(emailed_key if row.link_emailed else "mail.link.not_emailed", name=row.name,
                                    email=row.email)

    @rx.event
    def close_link(self):
        """The link is forgotten for good once its dialog closes."""
        self.link_url = self.link_title = self.link_body = ""

    @rx.event
    def set_link_open(self, is_open: bool):
        if not is_open:
            self.link_url = self.link_title = self.link_body = ""

    @rx.event
    def open_role(self, user_id: str):
        """The role dialog for one row; the save checks the user again on the server."""
        row = self._find(user_id)
        if row is not None:
            self.role_id, self.role_name, self.role_value = user_id, row["name"], row["role"]

    @rx.event
    def set_role_value(self, value: str):
        self.role_value = value

    @rx.event
    def set_role_open(self, is_open: bool):
        if not is_open:
            self.role_id = self.role_name = ""

    @rx.event
    @toast_errors
    def save_role(self):
        """Change the role; the last active admin is refused with a toast that says why."""
        call(access.change_role, actor=self._require("admin"), user_id=int(self.role_id or 0), role=self.role_value)
        self.role_id = self.role_name = ""
        return [rx.toast.success(self.t["admin.role.saved"]), UsersSettingsState.load]

    @rx.event
    @toast_errors
    def confirm_deactivate(self):
        """Deactivate the user the confirmation names; their sessions end in the same transaction."""
        user_id = self._take_confirm("deactivate")
        return self._set_active(user_id, False, "admin.deactivated")

    @rx.event
    @toast_errors
    def reactivate(self, user_id: str):
        """Reactivation is harmless, so it needs no confirmation."""
        return self._set_active(user_id, True, "admin.reactivated")

    def _set_active(self, user_id: str, active: bool, ok_key: str):
        if not user_id.isdigit():
            return None
        call(access.set_active, actor=self._require("admin"), user_id=int(user_id), active=active)
        return [rx.toast.success(self.t[ok_key]), UsersSettingsState.load]

    @rx.event
    @toast_errors
    def confirm_reset(self):
        """Reset the password of the user the confirmation names, and show the new link once."""
        user_id = self._take_confirm("reset")
        if not user_id.isdigit():
            return None
        row, token = call(access.reset_password, actor=self._require("admin"), user_id=int(user_id))
        self._show_link(token, row, "admin.link.reset_title", "mail.link.reset_emailed")
        return UsersSettingsState.load
