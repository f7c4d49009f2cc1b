"""/compliance/consents: how many contacts granted or withdrew each purpose, and one contact's ledger."""

import reflex as rx

from components.compliance_tabs import compliance_tabs
from components.page import app_page
from components.shell import shell
from components.ui import page_header
from crm_app.state.compliance_consents import PURPOSES, ConsentsState

S = ConsentsState
T = S.t


def _counts() -> rx.Component:
    return rx.grid(rx.foreach(S.purpose_counts, lambda c: rx.card(rx.vstack(
        rx.text(c["purpose"], size="2", weight="medium"),
        rx.hstack(rx.badge(T["compliance.granted"] + ": " + c["granted"], color_scheme="green"),
                  rx.badge(T["compliance.withdrawn"] + ": " + c["withdrawn"], color_scheme="gray"), wrap="wrap"),
        spacing="2"))), columns=rx.breakpoints(initial="1", sm="3"), gap="12px", width="100%")


def _ledger_row(r) -> rx.Component:
    return rx.table.row(rx.table.cell(r["when"]), rx.table.cell(r["purpose"]),
                        rx.table.cell(rx.badge(r["state"], color_scheme=rx.cond(r["granted"] == "1", "green",
                                                                                "gray"))),
                        rx.table.cell(r["source"]), rx.table.cell(r["basis"]), rx.table.cell(r["version"]),
                        rx.table.cell(rx.text(r["proof"], size="1", word_break="break-all")))


def _lookup() -> rx.Component:
    header = rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
        "compliance.when", "compliance.purpose", "compliance.status", "compliance.source", "compliance.basis",
        "compliance.version", "compliance.proof")]))
    return rx.card(rx.vstack(
        rx.flex(rx.input(value=S.lookup_contact, on_change=S.set_lookup_contact, placeholder=T["compliance.contact_id"],
                         id="consent-contact", width="160px", aria_label=T["compliance.contact_id"]),
                rx.button(rx.icon("search", size=15), T["compliance.look_up"], on_click=S.look_up, variant="soft",
                          id="consent-look-up"),
                rx.select.root(rx.select.trigger(width="180px", aria_label=T["compliance.purpose"]),
                               rx.select.content(*[rx.select.item(T[f"compliance.purpose.{p}"], value=p)
                                                   for p in PURPOSES]),
                               value=S.new_purpose, on_change=S.set_new_purpose),
                rx.button(T["compliance.record_grant"], on_click=S.record(True), variant="soft", color_scheme="green"),
                rx.button(T["compliance.record_withdrawal"], on_click=S.record(False), variant="soft",
                          color_scheme="gray"),
                gap="8px", wrap="wrap", align="center"),
        rx.cond(S.ledger_for != "", rx.box(rx.table.root(header, rx.table.body(rx.foreach(S.ledger_rows, _ledger_row)),
                                                         width="100%", size="1"), overflow_x="auto", width="100%")),
        spacing="3", width="100%"), width="100%")


@app_page("/compliance/consents", "Consentimentos · Atende CRM", on_load=[ConsentsState.load_consents])
def compliance_consents_page() -> rx.Component:
    return shell(T["compliance.title"], "/compliance", rx.vstack(
        compliance_tabs("/compliance/consents"),
        page_header("compliance.tab_consents", "compliance.consents_purpose"),
        rx.cond(S.consents_loaded, rx.vstack(_counts(), _lookup(), spacing="3", width="100%"),
                rx.skeleton(height="200px", width="100%")),
        spacing="3", width="100%"))
