"""/settings/email: the tenant's own SMTP server (checked by logging in before it is saved), a test e-mail, and the
e-mail log with a resend for failed ones. Admins only. The SMTP password is write-only: it never reaches the tab."""

from __future__ import annotations

import asyncio

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import ValidationError
from crm_app.services import call, mail
from crm_app.services.core.actors import Actor
from crm_app.state.errors import crm_error_text, toast_errors
from crm_app.state.session import SessionState

ROLES = ("admin",)
SECURITY_MODES = ("starttls", "tls", "none")


class EmailSettingsState(SessionState):
    """The SMTP form as plain strings and the log as rows of strings."""

    email_loaded: bool = False
    host: str = ""
    port: str = ""
    security: str = "starttls"
    username: str = ""
    # What the admin types to replace the password; blank keeps the stored one. Never filled from the server.
    password: str = ""
    password_set: bool = False
    from_address: str = ""
    from_name: str = ""
    overridden: bool = False
    form_error: str = ""
    error_field: str = ""
    saving: bool = False
    log_rows: list[dict[str, str]] = []

    @rx.event
    @toast_errors
    def load(self):
        """Read the effective SMTP settings and the log again (the role is checked here too)."""
        self.log_rows = []
        actor = self._require(*ROLES)
        self._show(call(mail.email_page, actor=actor), actor)
        self.email_loaded = True
        return None

    def _show(self, page: mail.EmailPage, actor: Actor) -> None:
        smtp = page.smtp
        self.host, self.port, self.security, self.username = smtp.host, str(smtp.port), smtp.security, smtp.username
        self.from_address, self.from_name = smtp.from_address, smtp.from_name
        self.password, self.password_set, self.overridden = "", smtp.password_set, smtp.overridden
        self.form_error = self.error_field = ""
        self.log_rows = [self._row(r, actor) for r in page.log]

    def _row(self, row: mail.EmailRow, actor: Actor) -> dict[str, str]:
        return {"id": str(row.id), "recipient": row.recipient, "subject": row.subject, "status": row.status,
                "attempts": str(row.attempts), "error": row.last_error or "",
                "template": self.t.get(f"mail.template.{row.template}", row.template),
                "created": format_local(row.created_at, actor.timezone)}

    @rx.event
    def set_host(self, value: str):
        self.host, self.form_error, self.error_field = value, "", ""

    @rx.event
    def set_port(self, value: str):
        self.port, self.form_error, self.error_field = value, "", ""

    @rx.event
    def set_security(self, value: str):
        self.security = value if value in SECURITY_MODES else "starttls"

    @rx.event
    def set_username(self, value: str):
        self.username, self.form_error, self.error_field = value, "", ""

    @rx.event
    def set_password(self, value: str):
        self.password, self.form_error, self.error_field = value, "", ""

    @rx.event
    def set_from_address(self, value: str):
        self.from_address, self.form_error, self.error_field = value, "", ""

    @rx.event
    def set_from_name(self, value: str):
        self.from_name = value

    def _changes(self) -> dict[str, object]:
        return {"mail.smtp_host": self.host.strip(), "mail.smtp_port": self.port.strip(),
                "mail.smtp_security": self.security, "mail.smtp_username": self.username.strip(),
                "mail.smtp_password": self.password, "mail.from_address": self.from_address.strip(),
                "mail.from_name": self.from_name.strip()}

    @rx.event
    @toast_errors
    async def save(self):
        """Log in to the server with the form's values, and save them only if it accepts (off the event loop)."""
        self.saving = True
        yield
        try:
            actor = self._require(*ROLES)
            await asyncio.to_thread(call, mail.save_smtp, actor=actor, changes=self._changes())
        except ValidationError as exc:  # a refused login or a bad value: under the form, nothing saved
            self._show_error(exc)
            return
        finally:
            self.saving = False
        yield [rx.toast.success(self.t["mail.settings.saved"]), EmailSettingsState.load]

    def _show_error(self, exc: ValidationError) -> None:
        field = str(exc.params.get("field", ""))
        self.error_field = field
        if isinstance(exc, mail.SmtpRefused):
            login = exc.params.get("reason") == "login"
            text = self.t["mail.settings.refused_login" if login else "mail.settings.refused_connect"]
            self.form_error = text.replace("{detail}", str(exc.params.get("code") or "") if login else exc.message)
        elif field.startswith("mail.") and exc.code == "validation":
            detail = (exc.params.get("errors") or {}).get(field, exc.message)
            self.form_error = f"{self.t.get(f'setting.{field}', field)}: {detail}"
        else:
            self.form_error = crm_error_text(self.lang, exc)

    @rx.event
    @toast_errors
    def use_platform(self):
        """Drop the tenant's own values: mail goes through the platform's server again."""
        call(mail.reset_smtp, actor=self._require(*ROLES))
        return [rx.toast.success(self.t["mail.settings.reset_done"]), EmailSettingsState.load]

    @rx.event
    @toast_errors
    def send_test(self):
        """Queue a test e-mail to the admin; the log below shows when it left (or why not)."""
        row = call(mail.send_test_email, actor=self._require(*ROLES))
        return [rx.toast.success(self.t["mail.settings.test_queued"].replace("{email}", row.recipient)),
                EmailSettingsState.load]

    @rx.event
    @toast_errors
    def resend(self, email_id: str):
        """Send a failed e-mail again from its first attempt."""
        if not email_id.isdigit():
            return None
        call(mail.resend_email, actor=self._require(*ROLES), email_id=int(email_id))
        return [rx.toast.success(self.t["mail.log.resent"]), EmailSettingsState.load]
