"""/settings/knowledge: admins set the tenant's AI, keep its knowledge entries and try questions.

The API key never reaches the browser: the page only learns whether one is set. A new key typed
in the form is read from the submitted form and never kept in a var.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from crm_app.errors import ValidationError
from crm_app.services import bot, call
from crm_app.services.core.actors import Actor
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import crm_error_toast, toast_errors
from crm_app.state.session import SessionState

ROLES = ("admin",)
SETTING_FIELDS = ("base_url", "model", "timeout_seconds", "min_confidence", "input_cost_per_mtok",
                  "output_cost_per_mtok", "monthly_budget_usd")
_KB_ERRORS = {"title": "kb.error.title", "content": "kb.error.content", "tags": "kb.error.tags"}


def money(value: float, lang: str) -> str:
    """US dollars with up to 4 decimals, in the locale's separators: "US$ 0,0123" / "US$0.0123"."""
    text = f"{value:,.4f}" if value < 1 else f"{value:,.2f}"
    if lang == "en":
        return f"US${text}"
    return "US$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def number_text(value: float) -> str:
    """A setting shown in its input: no trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


class KnowledgeSettingsState(ConfirmMixin, SessionState):
    """The AI form, the usage summary, the test box and the entries table, as plain strings."""

    loaded: bool = False
    # AI settings
    ai_enabled: bool = False
    ai_values: dict[str, str] = {}
    ai_key_set: bool = False
    ai_clear_key: bool = False
    ai_error_field: str = ""
    ai_error: str = ""
    ai_saving: bool = False
    usage: dict[str, str] = {}
    budget_percent: int = 0
    # test box
    test_question: str = ""
    test_running: bool = False
    test_result: dict[str, str] = {}
    # entries
    kb_rows: list[dict[str, str]] = []
    kb_query: str = ""
    form_open: bool = False
    editing_id: str = ""
    form_title: str = ""
    form_content: str = ""
    form_tags: str = ""
    form_active: bool = True
    title_error: str = ""
    content_error: str = ""
    tags_error: str = ""

    @rx.event
    @toast_errors
    def load(self):
        """Settings, usage and entries, re-read with the role checked again."""
        overview = call(bot.knowledge_overview, actor=self._require(*ROLES), query=self.kb_query or None)
        self._show_settings(overview.settings)
        self._show_usage(overview.usage)
        self._show_rows(overview.entries)
        self.loaded = True
        return None

    def _show_settings(self, view: bot.AiSettingsView) -> None:
        self.ai_enabled, self.ai_key_set, self.ai_clear_key = view.enabled, view.key_set, False
        self.ai_values = {"base_url": view.base_url, "model": view.model,
                          **{name: number_text(getattr(view, name)) for name in SETTING_FIELDS[2:]}}
        self.ai_error_field = self.ai_error = ""

    def _show_usage(self, summary: bot.UsageSummary) -> None:
        budget = summary.budget_usd
        self.usage = {"calls": str(summary.calls), "answered": str(summary.answered),
                      "refused": str(summary.refused_budget),
                      "tokens": f"{summary.prompt_tokens} / {summary.completion_tokens}",
                      "cost": money(summary.cost_usd, self.lang),
                      "budget": money(budget, self.lang) if budget > 0 else self.t["ai.usage.no_budget"]}
        self.budget_percent = min(100, int(summary.cost_usd / budget * 100)) if budget > 0 else 0

    def _show_rows(self, rows: list[bot.KnowledgeRow]) -> None:
        self.kb_rows = [{"id": str(r.id), "title": r.title, "content": r.content, "tags": ", ".join(r.tags),
                         "active": "1" if r.is_active else ""} for r in rows]

    # ---- AI settings -------------------------------------------------------------------------------
    @rx.event
    def set_ai_enabled(self, value: bool):
        self.ai_enabled = bool(value)

    @rx.event
    def set_ai_value(self, name: str, value: str):
        """One text or number input of the AI form."""
        if name in SETTING_FIELDS:
            self.ai_values = {**self.ai_values, name: str(value)[:255]}
            if self.ai_error_field == name:
                self.ai_error_field = self.ai_error = ""

    @rx.event
    def toggle_clear_key(self):
        self.ai_clear_key = not self.ai_clear_key

    @rx.event
    @toast_errors
    def save_settings(self, form: dict):
        """Save the form; the new key (if any) comes from the submitted form, never from a var."""
        new_key = str(form.get("api_key") or "").strip() or None
        actor = self._require(*ROLES)
        try:
            view = call(bot.save_ai_settings, actor=actor, api_key=None if self.ai_clear_key else new_key,
                        clear_key=self.ai_clear_key, enabled=self.ai_enabled, **self.ai_values)
        except ValidationError as exc:
            field = str(exc.params.get("field", ""))
            self.ai_error_field = field
            self.ai_error = self.t["ai.settings.error." + (field if field in ("base_url", "model") else "number")]
            return None
        self._show_settings(view)
        return [rx.toast.success(self.t["ai.settings.saved"]), KnowledgeSettingsState.load]

    # ---- test box ----------------------------------------------------------------------------------
    @rx.event
    def set_test_question(self, value: str):
        self.test_question = value[:500]

    @rx.event
    @toast_errors
    async def run_test(self):
        """Ask the question the way the bot would; the call runs in a thread, the tab shows a spinner."""
        question = self.test_question.strip()
        if not question or self.test_running:
            return
        self.test_running, self.test_result = True, {}
        yield
        try:
            actor = self._require(*ROLES)
            result = await asyncio.to_thread(bot.try_question, actor=actor, question=question)
        finally:  # the spinner stops whatever happened (@toast_errors shows the error)
            self.test_running = False
        self._show_result(actor, result)
        yield KnowledgeSettingsState.load

    def _show_result(self, actor: Actor, result: bot.AiAnswer) -> None:
        titles = {r["id"]: r["title"] for r in self.kb_rows}
        sources = [titles.get(str(s), f"#{s}") for s in result.sources]
        self.test_result = {"outcome": result.outcome, "ok": "1" if result.outcome == "ok" else "",
                            "outcome_text": self.t[f"ai.outcome.{result.outcome}"], "answer": result.text or "",
                            "confidence": f"{round(result.confidence * 100)}%",
                            "sources": ", ".join(sources) or self.t["ai.test.no_sources"]}

    # ---- entries -----------------------------------------------------------------------------------
    @rx.event
    @toast_errors
    def set_kb_query(self, value: str):
        """Filter the entries."""
        self.kb_query = value[:80]
        self._show_rows(call(bot.list_entries, actor=self._require(*ROLES), query=self.kb_query or None))
        return None

    def _open_form(self, entry_id: str, title: str, content: str, tags: str, active: bool) -> None:
        self.editing_id, self.form_title, self.form_content, self.form_tags = entry_id, title, content, tags
        self.form_active = active
        self.title_error = self.content_error = self.tags_error = ""
        self.form_open = True

    @rx.event
    def open_new(self):
        self._open_form("", "", "", "", True)

    @rx.event
    def open_edit(self, entry_id: str):
        """Fill the form from the row shown; saving checks the row again on the server."""
        row = next((r for r in self.kb_rows if r["id"] == entry_id), None)
        if row is not None:
            self._open_form(entry_id, row["title"], row["content"], row["tags"], row["active"] == "1")

    @rx.event
    def set_form_open(self, value: bool):
        self.form_open = bool(value)

    @rx.event
    def set_form_title(self, value: str):
        self.form_title, self.title_error = value, ""

    @rx.event
    def set_form_content(self, value: str):
        self.form_content, self.content_error = value, ""

    @rx.event
    def set_form_tags(self, value: str):
        self.form_tags, self.tags_error = value, ""

    @rx.event
    def set_form_active(self, value: bool):
        self.form_active = bool(value)

    @rx.event
    @toast_errors
    def save_entry(self):
        """Create or update; a bad field is shown under it, anything else as a toast."""
        values = dict(title=self.form_title, content=self.form_content, tags=self.form_tags,
                      is_active=self.form_active)
        actor = self._require(*ROLES)
        try:
            if self.editing_id:
                call(bot.update_entry, actor=actor, entry_id=int(self.editing_id), **values)
            else:
                call(bot.create_entry, actor=actor, **values)
        except ValidationError as exc:
            field = str(exc.params.get("field", ""))
            if field in _KB_ERRORS:
                setattr(self, f"{field}_error", self.t[_KB_ERRORS[field]])
                return None
            return crm_error_toast(self.lang, exc)
        self.form_open = False
        return [rx.toast.success(self.t["kb.saved"]), KnowledgeSettingsState.load]

    @rx.event
    @toast_errors
    def confirm_delete(self):
        """Delete the entry the confirmation names."""
        entry_id = self._take_confirm()
        if not entry_id:
            return None
        call(bot.delete_entry, actor=self._require(*ROLES), entry_id=int(entry_id))
        return [rx.toast.success(self.t["kb.deleted"]), KnowledgeSettingsState.load]
