"""/compliance: the area's overview: requests by status and due date, consents, retention, legal holds."""

import reflex as rx

from components.compliance_tabs import compliance_tabs
from components.page import app_page
from components.shell import shell
from components.ui import empty_state, page_header
from crm_app.state.compliance import ComplianceState

S = ComplianceState
T = S.t


def _card(title_key: str, body: rx.Component, card_id: str) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(T[title_key], size="3"), body, spacing="3", width="100%"),
                   width="100%", id=card_id)


def _status(row) -> rx.Component:
    return rx.vstack(rx.text(row["count"], size="6", weight="bold"), rx.text(row["label"], size="1",
                                                                            color_scheme="gray"),
                     spacing="0", align="center", padding="8px", min_width="92px")


def _due(row) -> rx.Component:
    badge = rx.cond(row["overdue"] == "1",
                    rx.badge(rx.icon("circle-alert", size=12), T["compliance.overdue"], color_scheme="red",
                             variant="solid"),
                    rx.badge(rx.icon("clock", size=12), T["compliance.due_soon"], color_scheme="amber"))
    return rx.hstack(badge, rx.text(row["kind"], size="2", weight="medium"), rx.text(row["name"], size="2"),
                     rx.spacer(), rx.text(row["due"], size="2", color_scheme="gray"), width="100%", wrap="wrap",
                     align="center")


def _requests_card() -> rx.Component:
    return _card("compliance.requests_card", rx.vstack(
        rx.hstack(rx.foreach(S.status_counts, _status), wrap="wrap", spacing="2"),
        rx.foreach(S.due_rows, _due),
        rx.link(T["compliance.tab_requests"], href="/compliance/requests", size="2"),
        spacing="2", width="100%"), "compliance-requests-card")


def _consents_card() -> rx.Component:
    return _card("compliance.consents_card", rx.table.root(
        rx.table.header(rx.table.row(rx.table.column_header_cell(T["compliance.purpose"]),
                                     rx.table.column_header_cell(T["compliance.granted"]),
                                     rx.table.column_header_cell(T["compliance.withdrawn"]))),
        rx.table.body(rx.foreach(S.consent_rows, lambda r: rx.table.row(
            rx.table.cell(r["purpose"]), rx.table.cell(r["granted"]), rx.table.cell(r["withdrawn"])))),
        width="100%", size="1"), "compliance-consents-card")


def _retention_card() -> rx.Component:
    rows = rx.vstack(rx.foreach(S.policy_rows, lambda p: rx.hstack(
        rx.text(p["action"], size="2", weight="medium"), rx.badge(p["days"] + " d", variant="soft"), rx.spacer(),
        rx.text(T["compliance.last_run"] + ": " + p["last_run"], size="1", color_scheme="gray"),
        rx.text(p["report"], size="1", color_scheme="gray"), width="100%", wrap="wrap")), width="100%")
    return _card("compliance.retention_card", rx.cond(
        S.policy_rows.length() > 0, rows, empty_state("archive", "compliance.no_retention", compact=True,
                                                      empty_id="compliance-no-retention")),
                 "compliance-retention-card")


def _holds_card() -> rx.Component:
    rows = rx.vstack(rx.foreach(S.hold_rows, lambda h: rx.hstack(
        rx.badge(rx.icon("lock", size=12), T["compliance.hold"], color_scheme="amber"),
        rx.text(h["name"], size="2", weight="medium"), rx.text(h["reason"], size="2", color_scheme="gray"),
        rx.spacer(), rx.text(h["since"], size="1", color_scheme="gray"), width="100%", wrap="wrap")), width="100%")
    return _card("compliance.holds_card", rx.cond(
        S.hold_rows.length() > 0, rows, rx.text(T["compliance.no_holds"], size="2", color_scheme="gray")),
                 "compliance-holds-card")


def _factor(row) -> rx.Component:
    icon = rx.match(row["level"], ("ok", rx.icon("circle-check", size=16, color=rx.color("grass", 10))),
                    ("part", rx.icon("circle-alert", size=16, color=rx.color("amber", 10))),
                    rx.icon("circle-x", size=16, color=rx.color("red", 10)))
    return rx.hstack(icon, rx.text(row["text"], size="2"), rx.spacer(),
                     rx.text(row["points"], size="1", color_scheme="gray", white_space="nowrap"),
                     rx.cond(row["level"] != "ok",
                             rx.link(T["compliance.score.fix"], href=row["href"], size="2", white_space="nowrap")),
                     width="100%", align="center", class_name="score-factor")


def _score_card() -> rx.Component:
    color = rx.cond(S.score >= 80, "grass", rx.cond(S.score >= 50, "amber", "red"))
    gauge = rx.vstack(
        rx.text(S.score, size="8", weight="bold", id="compliance-score"),
        rx.progress(value=S.score, max=100, color_scheme=color, width="120px"),
        rx.text("/ 100", size="1", color_scheme="gray"),
        spacing="1", align="center", min_width="140px")
    factors = rx.vstack(rx.foreach(S.score_rows, _factor),
                        rx.text(T["compliance.score.backups"], size="1", color_scheme="gray"),
                        spacing="2", width="100%")
    return _card("compliance.score_card", rx.vstack(
        rx.text(T["compliance.score_help"], size="1", color_scheme="gray"),
        rx.flex(gauge, factors, direction=rx.breakpoints(initial="column", sm="row"), gap="16px", width="100%",
                align="center"),
        spacing="2", width="100%"), "compliance-score-card")


def _reports_card() -> rx.Component:
    rows = rx.vstack(rx.foreach(S.report_rows, lambda r: rx.hstack(
        rx.icon("file-text", size=16, color=rx.color("teal", 10)), rx.text(r["month"], size="2", weight="medium"),
        rx.text(r["size"], size="1", color_scheme="gray"), rx.spacer(),
        rx.button(rx.icon("download", size=14), T["compliance.report_download"], size="1", variant="soft",
                  on_click=S.download_report(r["id"]), class_name="report-download"),
        width="100%", align="center")), width="100%", spacing="2")
    return _card("compliance.reports_card", rx.vstack(
        rx.text(T["compliance.reports_help"], size="1", color_scheme="gray"),
        rx.cond(S.report_rows.length() > 0, rows,
                rx.text(T["compliance.reports_none"], size="2", color_scheme="gray")),
        spacing="2", width="100%"), "compliance-reports-card")


@app_page("/compliance", "Conformidade · Atende CRM", on_load=[ComplianceState.load_overview])
def compliance_page() -> rx.Component:
    return shell(T["compliance.title"], "/compliance", rx.vstack(
        compliance_tabs("/compliance"),
        page_header("compliance.title", "compliance.overview_purpose"),
        rx.cond(S.overview_loaded, rx.vstack(
            _score_card(),
            rx.grid(_requests_card(), _consents_card(), _retention_card(), _holds_card(), _reports_card(),
                    columns=rx.breakpoints(initial="1", md="2"), gap="16px", width="100%"),
            spacing="4", width="100%"), rx.skeleton(height="240px", width="100%")),
        spacing="3", width="100%"))
