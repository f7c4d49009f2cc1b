"""/settings/knowledge: admins set the AI, watch its monthly spend, test questions and keep the entries."""

import reflex as rx

from components.confirm import confirm_dialog
from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, form_row, page_header
from crm_app.state.settings_knowledge import KnowledgeSettingsState

S = KnowledgeSettingsState
T = S.t
WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")
CLAMP = {"display": "-webkit-box", "-webkit-line-clamp": "2", "-webkit-box-orient": "vertical",
         "overflow": "hidden", "white-space": "pre-wrap", "word-break": "break-word"}


def _label(key: str, html_for: str) -> rx.Component:
    return rx.text(T[key], as_="label", size="2", weight="medium", html_for=html_for)


def _error(field: str) -> rx.Component:
    return rx.cond(S.ai_error_field == field,
                   rx.text(S.ai_error, size="1", color_scheme="red", role="alert", id=f"ai-error-{field}"))


def _setting_input(name: str, key: str, **props) -> rx.Component:
    return rx.vstack(
        _label(key, f"ai-{name}"),
        rx.input(value=S.ai_values[name], on_change=lambda v: S.set_ai_value(name, v), id=f"ai-{name}", name=name,
                 width="100%", auto_complete="off",
                 color_scheme=rx.cond(S.ai_error_field == name, "red", "teal"), **props),
        _error(name),
        spacing="1", width="100%",
    )


def _key_field() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _label("ai.settings.key", "ai-key"),
            rx.cond(S.ai_key_set,
                    rx.badge(rx.icon("key-round", size=12), T["ai.settings.key_set"], color_scheme="green",
                             id="ai-key-state"),
                    rx.badge(T["ai.settings.key_unset"], color_scheme="gray", id="ai-key-state")),
            align="center", spacing="2",
        ),
        rx.hstack(
            rx.input(name="api_key", type="password", placeholder=T["ai.settings.key_placeholder"], id="ai-key",
                     auto_complete="new-password", width="100%", disabled=S.ai_clear_key),
            rx.cond(S.ai_key_set,
                    rx.button(rx.cond(S.ai_clear_key, T["ai.settings.key_keep"], T["ai.settings.key_clear"]),
                              type="button", variant="soft", color_scheme=rx.cond(S.ai_clear_key, "gray", "red"),
                              on_click=S.toggle_clear_key, id="ai-key-clear")),
            width="100%", spacing="2",
        ),
        rx.cond(S.ai_clear_key, rx.text(T["ai.settings.key_will_clear"], size="1", color_scheme="red"),
                rx.text(T["ai.settings.key_hint"], size="1", color_scheme="gray")),
        spacing="1", width="100%",
    )


def _settings_card() -> rx.Component:
    two = rx.breakpoints(initial="1", sm="2")
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(rx.heading(T["ai.settings.title"], size="3"), rx.spacer(),
                          rx.text(T["ai.settings.enabled"], as_="label", size="2", html_for="ai-enabled"),
                          rx.switch(checked=S.ai_enabled, on_change=S.set_ai_enabled, id="ai-enabled", name="enabled"),
                          align="center", width="100%"),
                _setting_input("base_url", "ai.settings.base_url", placeholder="https://api.openai.com/v1"),
                rx.text(T["ai.settings.base_url_hint"], size="1", color_scheme="gray"),
                _setting_input("model", "ai.settings.model"),
                _key_field(),
                rx.grid(
                    _setting_input("timeout_seconds", "ai.settings.timeout", input_mode="decimal"),
                    _setting_input("min_confidence", "ai.settings.min_confidence", input_mode="decimal"),
                    _setting_input("input_cost_per_mtok", "ai.settings.input_cost", input_mode="decimal"),
                    _setting_input("output_cost_per_mtok", "ai.settings.output_cost", input_mode="decimal"),
                    columns=two, gap="12px", width="100%",
                ),
                rx.text(T["ai.settings.min_confidence_hint"], size="1", color_scheme="gray"),
                _setting_input("monthly_budget_usd", "ai.settings.budget", input_mode="decimal"),
                rx.hstack(rx.button(rx.icon("save", size=15), T["ai.settings.save"], type="submit",
                                    id="ai-save"), justify="end", width="100%"),
                spacing="3", width="100%",
            ),
            on_submit=S.save_settings, reset_on_submit=True, width="100%", id="ai-settings-form",
        ),
        width="100%",
    )


def _stat(key: str, value: rx.Var, stat_id: str) -> rx.Component:
    return rx.vstack(rx.text(T[key], size="1", color_scheme="gray"),
                     rx.text(value, size="4", weight="bold", id=stat_id), spacing="0")


def _usage_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["ai.usage.title"], size="3"),
            rx.grid(
                _stat("ai.usage.calls", S.usage["calls"], "ai-usage-calls"),
                _stat("ai.usage.answered", S.usage["answered"], "ai-usage-answered"),
                _stat("ai.usage.cost", S.usage["cost"], "ai-usage-cost"),
                _stat("ai.usage.budget", S.usage["budget"], "ai-usage-budget"),
                columns="2", gap="12px", width="100%",
            ),
            rx.progress(value=S.budget_percent, max=100, width="100%",
                        color_scheme=rx.cond(S.budget_percent >= 90, "red", "teal")),
            rx.hstack(rx.text(T["ai.usage.tokens"], size="1", color_scheme="gray"),
                      rx.text(S.usage["tokens"], size="1"), rx.spacer(),
                      rx.text(T["ai.usage.refused"], size="1", color_scheme="gray"),
                      rx.text(S.usage["refused"], size="1"), width="100%", wrap="wrap", spacing="2"),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _test_result() -> rx.Component:
    result = S.test_result
    return rx.cond(
        result.contains("outcome"),
        rx.vstack(
            rx.callout(result["outcome_text"], icon=rx.cond(result["ok"] == "1", "circle-check", "triangle-alert"),
                       color_scheme=rx.cond(result["ok"] == "1", "green", "amber"), size="1", width="100%",
                       id="ai-test-outcome"),
            rx.cond(result["answer"] != "",
                    rx.box(rx.text(T["ai.test.answer"], size="1", color_scheme="gray"),
                           rx.text(result["answer"], size="2", white_space="pre-wrap", id="ai-test-answer"),
                           width="100%")),
            rx.hstack(rx.text(T["ai.test.confidence"], size="1", color_scheme="gray"),
                      rx.badge(result["confidence"], id="ai-test-confidence"),
                      rx.text(T["ai.test.sources"], size="1", color_scheme="gray", margin_left="8px"),
                      rx.text(result["sources"], size="1", id="ai-test-sources"),
                      align="center", wrap="wrap", spacing="2"),
            spacing="2", width="100%",
        ),
    )


def _test_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["ai.test.title"], size="3"),
            rx.text(T["ai.test.help"], size="1", color_scheme="gray"),
            rx.hstack(
                rx.input(value=S.test_question, on_change=S.set_test_question, placeholder=T["ai.test.placeholder"],
                         id="ai-test-question", width="100%", max_length=500,
                         aria_label=T["ai.test.title"]),
                rx.button(rx.icon("flask-conical", size=15), T["ai.test.button"], on_click=S.run_test,
                          loading=S.test_running, id="ai-test-run", type="button"),
                width="100%", spacing="2",
            ),
            _test_result(),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["title"], size="2", weight="medium"), min_width="140px"),
        rx.table.cell(rx.text(row["content"], size="2", style=CLAMP), min_width="200px", display=WIDE_ONLY),
        rx.table.cell(rx.text(row["tags"], size="1", color_scheme="gray"), display=WIDE_ONLY),
        rx.table.cell(rx.cond(row["active"] == "1", rx.badge(T["kb.active"], color_scheme="green"),
                              rx.badge(T["kb.inactive"], color_scheme="gray"))),
        rx.table.cell(rx.hstack(
            rx.tooltip(rx.icon_button(rx.icon("pencil", size=15), size="1", variant="soft",
                                      aria_label=T["kb.edit"], on_click=S.open_edit(row["id"]),
                                      class_name="kb-edit"), content=T["kb.edit"]),
            rx.tooltip(rx.icon_button(rx.icon("trash-2", size=15), size="1", variant="soft", color_scheme="red",
                                      aria_label=T["kb.delete"], on_click=S.ask_confirm(row["id"], row["title"]),
                                      class_name="kb-delete"), content=T["kb.delete"]),
            spacing="2",
        )),
        align="center", class_name="kb-row",
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(T["kb.col.title"]),
                rx.table.column_header_cell(T["kb.col.content"], display=WIDE_ONLY),
                rx.table.column_header_cell(T["kb.col.tags"], display=WIDE_ONLY),
                rx.table.column_header_cell(T["kb.col.status"]),
                rx.table.column_header_cell(T["kb.col.actions"]),
            )),
            rx.table.body(rx.foreach(S.kb_rows, _row)),
            variant="surface", width="100%", id="kb-table",
        ),
        width="100%", overflow_x="auto",
    )


def _form_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing_id != "", T["kb.edit_title"], T["kb.new_title"])),
            rx.vstack(
                form_row("kb.field.title",
                         rx.input(value=S.form_title, on_change=S.set_form_title, id="kb-title", width="100%",
                                  max_length=200, color_scheme=rx.cond(S.title_error != "", "red", "teal")),
                         "kb-title", error=S.title_error),
                form_row("kb.field.content",
                         rx.text_area(value=S.form_content, on_change=S.set_form_content, id="kb-content", rows="7",
                                      width="100%", max_length=4000, resize="vertical",
                                      color_scheme=rx.cond(S.content_error != "", "red", "teal")),
                         "kb-content", error=S.content_error),
                form_row("kb.field.tags",
                         rx.input(value=S.form_tags, on_change=S.set_form_tags, id="kb-tags", width="100%",
                                  max_length=400),
                         "kb-tags", error=S.tags_error),
                rx.hstack(rx.switch(checked=S.form_active, on_change=S.set_form_active, id="kb-active"),
                          rx.text(T["kb.field.active"], as_="label", size="2", html_for="kb-active"),
                          align="center", spacing="2", margin_top="4px"),
                rx.hstack(
                    rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                              type="button")),
                    rx.button(T["settings.save"], on_click=S.save_entry, id="kb-save", type="button"),
                    justify="end", spacing="3", width="100%", margin_top="12px",
                ),
                spacing="1", width="100%",
            ),
            max_width="600px",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


def _delete_dialog() -> rx.Component:
    return confirm_dialog(S, title="kb.delete_title", body="kb.delete_body", action="kb.delete",
                          on_confirm=S.confirm_delete, action_id="kb-confirm-delete")


def _entries() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.vstack(rx.heading(T["kb.title"], size="4"), rx.text(T["kb.help"], size="2", color_scheme="gray"),
                      spacing="1", flex="1"),
            rx.input(rx.input.slot(rx.icon("search", size=14)), value=S.kb_query, on_change=S.set_kb_query,
                     debounce_timeout=250, placeholder=T["kb.search"], id="kb-search",
                     width=rx.breakpoints(initial="100%", sm="260px"), aria_label=T["kb.search"]),
            rx.button(rx.icon("plus", size=16), T["kb.new"], on_click=S.open_new, id="kb-new"),
            direction=rx.breakpoints(initial="column", sm="row"), align=rx.breakpoints(initial="stretch",
                                                                                       sm="center"),
            gap="12px", width="100%",
        ),
        rx.cond(S.kb_rows.length() > 0, _table(),
                empty_state("book-open", rx.cond(S.kb_query != "", T["kb.no_match"], T["kb.empty"]),
                            empty_id="kb-empty", compact=True)),
        spacing="3", width="100%",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _settings_card(),
            rx.vstack(_usage_card(), _test_card(), spacing="3", width="100%"),
            columns=rx.breakpoints(initial="1", md="2"), gap="12px", width="100%",
        ),
        _entries(),
        spacing="5", width="100%",
    )


@app_page("/settings/knowledge", "Base de conhecimento · Atende CRM", on_load=[KnowledgeSettingsState.load])
def settings_knowledge_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/knowledge",
        rx.vstack(
            settings_tabs("/settings/knowledge"),
            page_header("ai.title", "ai.help"),
            rx.cond(S.loaded, _content(), rx.skeleton(height="320px", width="100%")),
            _form_dialog(),
            _delete_dialog(),
            spacing="3", width="100%", max_width="1100px",
        ),
    )
