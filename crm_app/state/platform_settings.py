"""/platform/settings: platform operators edit the install's global settings and the settings templates, preview
a template against a tenant and apply it. Every handler asks the services, which check the operator again."""

from __future__ import annotations

import json

import reflex as rx

from crm_app.errors import PermissionDenied, ValidationError
from crm_app.i18n import translate
from crm_app.services import call, settings
from crm_app.services.core.actors import Actor
from crm_app.services.settings import templates
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState
from crm_app.state.settings_form import SettingsFormMixin, problem_text, shown_value


class PlatformSettingsState(ConfirmMixin, SettingsFormMixin, SessionState):
    """The global values (the shared settings form), the templates, the template editor and the preview."""

    template_rows: list[dict[str, str]] = []
    tenant_options: list[dict[str, str]] = []
    editor_open: bool = False
    tpl_id: str = ""
    tpl_name: str = ""
    tpl_description: str = ""
    tpl_values: str = ""
    tpl_error: str = ""
    preview_template: str = ""
    preview_tenant: str = ""
    diff_rows: list[dict[str, str]] = []

    def _scope(self, actor: Actor) -> int | None:
        return None

    def _operator(self) -> Actor:
        actor = self._require("admin")
        if not actor.is_platform_operator:
            raise PermissionDenied("platform operators only")
        return actor

    @rx.event
    def guard(self):
        """on_load, after the role guard: admins who are not platform operators get the access-denied page."""
        actor = self._actor()
        if actor is None:
            return None
        if not (actor.is_platform_operator and actor.role == "admin"):
            self.setting_rows, self.template_rows, self.form_loaded = [], [], False
            return rx.redirect("/denied")
        return PlatformSettingsState.load

    @rx.event
    @toast_errors
    def load(self):
        """Read the global values, their history, the templates and the tenants again."""
        self.setting_rows, self.template_rows, self.diff_rows, self.form_loaded = [], [], [], False
        actor = self._operator()
        page = call(settings.platform_settings_page, actor=actor)
        self._show(page.settings, page.history, actor)
        self.template_rows = [{"id": str(t.id), "name": t.name, "description": t.description,
                               "values": json.dumps(t.values, ensure_ascii=False, indent=2),
                               "count": str(len(t.values)), "updated": t.updated_by_label.split(" <")[0]}
                              for t in page.templates]
        self.tenant_options = [{"id": str(i), "name": n} for i, n in page.tenants]
        if self.preview_tenant not in {o["id"] for o in self.tenant_options}:
            self.preview_tenant = self.tenant_options[0]["id"] if self.tenant_options else ""

    @rx.event
    @toast_errors
    def save(self):
        """Send every changed global value at once, with the reason."""
        return self._save(self._operator())

    @rx.event
    def ask_revert(self, change_id: str):
        self._ask_revert(change_id)

    @rx.event
    @toast_errors
    def revert(self):
        """Put back the global value the confirmed history row replaced."""
        return self._revert(self._operator())

    @rx.event
    def open_template(self, template_id: str):
        """Open the editor on a template of the list, or empty ("") for a new one."""
        row = next((r for r in self.template_rows if r["id"] == template_id), None)
        self.tpl_id = row["id"] if row else ""
        self.tpl_name = row["name"] if row else ""
        self.tpl_description = row["description"] if row else ""
        self.tpl_values = row["values"] if row else "{\n  \n}"
        self.tpl_error, self.editor_open = "", True

    @rx.event
    def set_editor_open(self, is_open: bool):
        self.editor_open = bool(is_open)

    @rx.event
    def set_tpl_name(self, value: str):
        self.tpl_name, self.tpl_error = str(value)[:120], ""

    @rx.event
    def set_tpl_description(self, value: str):
        self.tpl_description = str(value)[:2000]

    @rx.event
    def set_tpl_values(self, value: str):
        self.tpl_values, self.tpl_error = str(value)[:20000], ""

    @rx.event
    @toast_errors
    def save_template(self):
        """Create or change the template in the editor; a bad key or value is named under the editor."""
        actor = self._operator()
        try:
            values = json.loads(self.tpl_values or "{}")
        except ValueError as exc:
            self.tpl_error = translate(self.lang, "platform_settings.bad_json").format(detail=str(exc))
            return None
        if not isinstance(values, dict):
            self.tpl_error = translate(self.lang, "platform_settings.not_object")
            return None
        try:
            call(templates.save_template, actor=actor, name=self.tpl_name, description=self.tpl_description,
                 values=values, template_id=int(self.tpl_id) if self.tpl_id.isdigit() else None)
        except ValidationError as exc:
            self.tpl_error = self._template_problem(exc)
            return None
        self.editor_open = False
        return [rx.toast.success(translate(self.lang, "platform_settings.template_saved")), PlatformSettingsState.load]

    def _template_problem(self, exc: ValidationError) -> str:
        problems = exc.params.get("problems") or {}
        errors = exc.params.get("errors") or {exc.params.get("field", ""): exc.message}
        return " · ".join(f"{key}: {problem_text(self.lang, problems.get(key, {}), str(message))}"
                          for key, message in errors.items())

    @rx.event
    def ask_delete_template(self, template_id: str):
        row = next((r for r in self.template_rows if r["id"] == template_id), None)
        if row is not None:
            self._open_confirm(row["id"], row["name"], "delete_template")

    @rx.event
    @toast_errors
    def delete_template(self):
        """Remove the confirmed template."""
        template_id = self._take_confirm("delete_template")
        if not template_id.isdigit():
            return None
        call(templates.delete_template, actor=self._operator(), template_id=int(template_id))
        return [rx.toast.success(translate(self.lang, "platform_settings.template_deleted")),
                PlatformSettingsState.load]

    @rx.event
    def set_preview_tenant(self, tenant_id: str):
        self.preview_tenant, self.diff_rows = str(tenant_id), []

    @rx.event
    @toast_errors
    def preview(self, template_id: str):
        """The diff of one template against the chosen tenant: each key, its value now and the template's."""
        self.diff_rows = []
        if not (str(template_id).isdigit() and self.preview_tenant.isdigit()):
            return None
        rows = call(templates.preview, actor=self._operator(), template_id=int(template_id),
                    tenant_id=int(self.preview_tenant))
        self.preview_template = str(template_id)
        self.diff_rows = [{"key": d.key, "label": translate(self.lang, f"setting.{d.key}"),
                           "current": shown_value(d.current) if d.current else "—", "new": shown_value(d.new),
                           "changes": "1" if d.changes else ""} for d in rows]
        return None

    @rx.event
    @toast_errors
    def apply(self):
        """Apply the previewed template to the previewed tenant, all or nothing."""
        if not (self.preview_template.isdigit() and self.preview_tenant.isdigit() and self.diff_rows):
            return None
        try:
            done = call(templates.apply, actor=self._operator(), template_id=int(self.preview_template),
                        tenant_id=int(self.preview_tenant))
        except ValidationError as exc:
            return rx.toast.error(self._template_problem(exc))
        self.diff_rows = []
        message = translate(self.lang, "platform_settings.applied").format(count=len(done))
        return rx.toast.success(message)
