"""The settings form shared by /settings/general (a tenant's values) and /platform/settings (the global ones):
typed fields with their source, "Usar padrão", a reason on save, and the history with rollback.

The page state mixes `SettingsFormMixin` in and says which scope it edits (`_scope`) and how to read its page
(`_reload`); every handler asks the services again, which check the actor's role and tenant themselves.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import CRMError, ValidationError
from crm_app.i18n import translate
from crm_app.services import call, settings
from crm_app.services.core.actors import Actor
from crm_app.state.errors import crm_error_text

SOURCE_LABELS = {"default": "settings_general.source_default", "global": "settings_general.source_global",
                 "tenant": "settings_general.source_tenant"}


def problem_text(lang: str, problem: dict[str, Any], fallback: str) -> str:
    """One field's validation problem in the user's language (pydantic's type and bounds), else `fallback`."""
    kind = str(problem.get("type", ""))
    template = translate(lang, f"settings_general.problem.{kind}")
    if template == f"settings_general.problem.{kind}":
        return str(problem.get("message") or fallback)
    return template.format(**{k: _number(v) for k, v in problem.items() if k != "type"})


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def choice_label(lang: str, key: str, choice: str) -> str:
    """An option's words: "setting.<key>.choice.<choice>", else the role of that name, else the option itself."""
    for catalogue_key in (f"setting.{key}.choice.{choice}", f"role.{choice}"):
        text = translate(lang, catalogue_key)
        if text != catalogue_key:
            return text
    return choice


def draft_text(kind: str, value: Any) -> str:
    """A stored value as the field's text: lists comma-joined, booleans "true"/"false"."""
    if value is None:
        return ""
    if kind == "switch":
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return _number(value)
    return str(value)


def parse_draft(kind: str, text: str) -> Any:
    """The field's text as the value to send (the service validates it): numbers with a comma accepted."""
    text = text.strip()
    if kind in ("multi", "list"):
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if kind == "number":
        return text.replace(",", ".")
    if kind == "switch":
        return text == "true"
    return text


def shown_value(text: str | None) -> str:
    """A history value (JSON text, MASK, or None for "not set") as the page shows it."""
    if text is None or text == settings.MASK:
        return text or ""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value) if value != "" else "—"


class SettingsFormMixin(rx.State, mixin=True):
    """Rows of plain strings: `setting_rows` (one per setting, with its draft), `choice_rows` (the options of
    multi-choice settings), `category_rows` (the cards, in order) and `change_rows` (the history)."""

    setting_rows: list[dict[str, str]] = []
    choice_rows: list[dict[str, str]] = []
    category_rows: list[dict[str, str]] = []
    change_rows: list[dict[str, str]] = []
    form_loaded: bool = False
    reason: str = ""
    form_error: str = ""

    def _scope(self, actor: Actor) -> int | None:
        raise NotImplementedError

    def _show(self, views: list, history: list, actor: Actor) -> None:
        lang = self.lang
        self.setting_rows = [self._setting_row(v, lang) for v in views]
        self.choice_rows = [{"key": v.key, "choice": c, "label": choice_label(lang, v.key, c),
                             "checked": "1" if c in (v.value if v.kind == "multi" else [v.value]) or [] else ""}
                            for v in views if v.kind in ("multi", "select") for c in v.choices]
        seen = list(dict.fromkeys(v.category for v in views))
        self.category_rows = [{"id": c, "label": translate(lang, f"setting_category.{c}")} for c in seen]
        self.change_rows = [self._change_row(c, lang, actor) for c in history]
        self.form_error, self.form_loaded = "", True

    def _setting_row(self, view, lang: str) -> dict[str, str]:
        text = draft_text(view.kind, view.value)
        bounds = " – ".join(_number(b) for b in (view.minimum, view.maximum) if b is not None)
        return {"key": view.key, "id": view.key.replace(".", "-"), "category": view.category, "kind": view.kind,
                "label": translate(lang, f"setting.{view.key}"), "help": translate(lang, f"setting.{view.key}.help"),
                "draft": text, "loaded": text, "source": view.source,
                "source_label": translate(lang, SOURCE_LABELS[view.source]),
                "editable": "1" if view.editable else "", "secret": "1" if view.secret else "",
                "configured": "1" if view.configured else "", "inherit": "", "error": "",
                "page": view.page or "", "bounds": bounds,
                "default": "" if view.secret else draft_text(view.kind, view.default)}

    def _change_row(self, change, lang: str, actor: Actor) -> dict[str, str]:
        return {"id": str(change.id), "key": change.key, "label": translate(lang, f"setting.{change.key}"),
                "old": shown_value(change.old_display) if change.old_display is not None else
                translate(lang, "settings_general.not_set"),
                "new": shown_value(change.new_display) if change.new_display is not None else
                translate(lang, "settings_general.not_set"),
                "who": change.actor_label.split(" <")[0], "when": format_local(change.created_at, actor.timezone),
                "reason": change.reason or "", "is_rollback": "1" if change.rollback_of else ""}

    def _update_row(self, key: str, **values: str) -> None:
        self.setting_rows = [{**row, **values, "error": ""} if row["key"] == key else row
                             for row in self.setting_rows]
        self.form_error = ""

    @rx.event
    def set_field(self, key: str, value: str):
        """A field's text, kept in this tab until Save."""
        self._update_row(key, draft=str(value)[:5000], inherit="")

    @rx.event
    def set_switch(self, key: str, value: bool):
        self._update_row(key, draft="true" if value else "false", inherit="")

    @rx.event
    def toggle_choice(self, key: str, choice: str, value: bool):
        """One option of a multi-choice setting; the draft is the checked options."""
        self.choice_rows = [{**r, "checked": "1" if value else ""} if (r["key"], r["choice"]) == (key, choice)
                            else r for r in self.choice_rows]
        checked = [r["choice"] for r in self.choice_rows if r["key"] == key and r["checked"]]
        self._update_row(key, draft=", ".join(checked), inherit="")

    @rx.event
    def use_default(self, key: str):
        """Mark a setting to drop this scope's value on Save (it inherits again)."""
        self._update_row(key, inherit="1")

    @rx.event
    def set_reason(self, value: str):
        self.reason = str(value)[:1000]

    def _changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for row in self.setting_rows:
            if not row["editable"]:
                continue
            if row["inherit"]:
                changes[row["key"]] = None
            elif row["secret"]:
                if row["draft"].strip():
                    changes[row["key"]] = row["draft"].strip()
            elif row["draft"] != row["loaded"]:
                changes[row["key"]] = parse_draft(row["kind"], row["draft"])
        return changes

    def _show_errors(self, exc: ValidationError) -> None:
        problems = exc.params.get("problems") or {}
        errors = exc.params.get("errors") or {}
        texts = {key: problem_text(self.lang, problems.get(key, {}), str(message)) for key, message in errors.items()}
        self.setting_rows = [{**row, "error": texts.get(row["key"], "")} for row in self.setting_rows]
        self.form_error = translate(self.lang, "settings_general.fix_fields")

    def _save(self, actor: Actor):
        changes = self._changes()
        if not changes:
            return rx.toast.info(translate(self.lang, "settings_general.nothing_changed"))
        try:
            call(settings.update, actor=actor, changes=changes, tenant_id=self._scope(actor),
                 reason=self.reason.strip() or None)
        except ValidationError as exc:  # shown under each field, not as a toast
            self._show_errors(exc)
            return None
        self.reason = ""
        return [rx.toast.success(translate(self.lang, "settings_general.saved")), type(self).load]

    def _ask_revert(self, change_id: str) -> None:
        row = next((r for r in self.change_rows if r["id"] == str(change_id)), None)
        if row is not None:
            self._open_confirm(row["id"], f"{row['label']}: {row['old']}", "revert")

    def _revert(self, actor: Actor):
        change_id = self._take_confirm("revert")
        if not change_id.isdigit():
            return None
        try:
            done = call(settings.rollback, actor=actor, change_id=int(change_id),
                        reason=translate(self.lang, "settings_general.revert_reason"))
        except CRMError as exc:
            return rx.toast.error(crm_error_text(self.lang, exc) if not isinstance(exc, ValidationError) else
                                  problem_text(self.lang, next(iter((exc.params.get("problems") or {}).values()),
                                                               {}), exc.message))
        key = "settings_general.reverted" if done else "settings_general.nothing_changed"
        return [rx.toast.success(translate(self.lang, key)), type(self).load]


__all__ = ["SettingsFormMixin", "choice_label", "draft_text", "parse_draft", "problem_text", "shown_value"]
