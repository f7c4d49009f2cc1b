"""/compliance/retention: retention policies, what each would remove now, and when each last ran."""

import reflex as rx

from components.compliance_tabs import compliance_tabs
from components.page import app_page
from components.shell import shell
from components.ui import empty_state, field_error, page_header
from crm_app.state.compliance_retention import ACTIONS, RetentionState

S = RetentionState
T = S.t


def _form() -> rx.Component:
    return rx.card(rx.flex(
        rx.select.root(rx.select.trigger(width="280px", aria_label=T["compliance.action"]),
                       rx.select.content(*[rx.select.item(T[f"compliance.action.{a}"], value=a) for a in ACTIONS]),
                       value=S.new_action, on_change=S.set_new_action),
        rx.vstack(rx.input(value=S.new_days, on_change=S.set_new_days, id="retention-days", width="120px",
                           inputmode="numeric", aria_label=T["compliance.days"]),
                  field_error(S.days_error, "retention-days-error"), spacing="1"),
        rx.text(T["compliance.days"], size="2", color_scheme="gray"),
        rx.button(rx.icon("plus", size=15), T["compliance.add_policy"], on_click=S.add_policy, id="retention-add"),
        gap="8px", wrap="wrap", align="center"), width="100%")


def _row(p) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(p["action"], weight="medium")), rx.table.cell(p["days"]),
        rx.table.cell(rx.badge(rx.icon("triangle-alert", size=12), p["would"], color_scheme="amber")),
        rx.table.cell(p["last_run"]), rx.table.cell(p["report"]),
        rx.table.cell(rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                                     on_click=S.remove_policy(p["id"]), aria_label=T["compliance.remove"])))


def _table() -> rx.Component:
    header = rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
        "compliance.action", "compliance.days", "compliance.would_remove", "compliance.last_run",
        "compliance.last_report", "compliance.actions")]))
    return rx.cond(S.policy_rows.length() > 0,
                   rx.box(rx.table.root(header, rx.table.body(rx.foreach(S.policy_rows, _row)), width="100%"),
                          overflow_x="auto", width="100%"),
                   empty_state("archive", "compliance.no_retention", empty_id="retention-empty"))


@app_page("/compliance/retention", "Retenção · Atende CRM", on_load=[RetentionState.load_retention])
def compliance_retention_page() -> rx.Component:
    return shell(T["compliance.title"], "/compliance", rx.vstack(
        compliance_tabs("/compliance/retention"),
        page_header("compliance.tab_retention", "compliance.retention_purpose"),
        _form(),
        rx.cond(S.retention_loaded, _table(), rx.skeleton(height="160px", width="100%")),
        spacing="3", width="100%"))
