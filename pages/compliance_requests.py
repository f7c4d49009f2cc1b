"""/compliance/requests: data-subject requests, soonest due first, with a live progress bar for running jobs."""

import reflex as rx

from components.compliance_tabs import compliance_tabs
from components.page import app_page
from components.shell import shell
from components.ui import empty_state, field_error, page_header
from crm_app.state.compliance_requests import KINDS, RequestsState

S = RequestsState
T = S.t


def _form() -> rx.Component:
    return rx.card(rx.flex(
        rx.vstack(rx.text(T["compliance.contact_id"], size="1", weight="medium", as_="label",
                          html_for="request-contact"),
                  rx.input(value=S.form_contact, on_change=S.set_form_contact, id="request-contact",
                           placeholder="123", inputmode="numeric", width="140px"),
                  field_error(S.form_error, "request-contact-error"), spacing="1"),
        rx.vstack(rx.text(T["compliance.kind"], size="1", weight="medium", as_="label", html_for="request-kind"),
                  rx.select.root(rx.select.trigger(id="request-kind", width="240px"),
                                 rx.select.content(*[rx.select.item(T[f"compliance.kind.{k}"], value=k)
                                                     for k in KINDS]),
                                 value=S.form_kind, on_change=S.set_form_kind), spacing="1"),
        rx.button(rx.icon("plus", size=15), T["compliance.create"], on_click=S.create_request, id="request-create"),
        gap="12px", align="end", wrap="wrap"), width="100%")


def _status(row) -> rx.Component:
    colour = rx.match(row["status"], ("done", "green"), ("failed", "red"), ("rejected", "gray"),
                      ("in_progress", "blue"), "amber")
    return rx.badge(row["status_label"], color_scheme=colour, variant="soft")


def _due(row) -> rx.Component:
    return rx.hstack(rx.text(row["due"], size="2"), rx.match(
        row["warn"],
        ("overdue", rx.badge(rx.icon("circle-alert", size=12), T["compliance.overdue"], color_scheme="red",
                             variant="solid")),
        ("soon", rx.badge(rx.icon("clock", size=12), T["compliance.due_soon"], color_scheme="amber")),
        rx.fragment()), spacing="2", align="center", wrap="wrap")


def _progress(row) -> rx.Component:
    return rx.cond(row["status"] == "in_progress",
                   rx.vstack(rx.progress(value=row["percent"].to(int), max=100, width="140px"),
                             rx.text(row["counts"], size="1", color_scheme="gray"), spacing="1"),
                   rx.cond(row["error"] != "", rx.text(row["error"], size="1", color_scheme="red"), rx.fragment()))


def _actions(row) -> rx.Component:
    return rx.hstack(
        rx.cond(row["bundle"] == "1", rx.button(rx.icon("download", size=14), T["compliance.download"], size="1",
                                                variant="soft", on_click=S.download(row["id"]))),
        rx.cond((row["kind"] == "correction") & (row["status"] == "open"),
                rx.button(T["compliance.mark_done"], size="1", variant="soft", on_click=S.close_request(row["id"]))),
        spacing="2")


def _row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_due(row)), rx.table.cell(row["kind_label"]),
        rx.table.cell(rx.text(row["contact"], weight="medium"), rx.text("#" + row["contact_id"], size="1",
                                                                      color_scheme="gray")),
        rx.table.cell(_status(row)), rx.table.cell(_progress(row)), rx.table.cell(_actions(row)),
        id="request-" + row["id"])


def _table() -> rx.Component:
    header = rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
        "compliance.due_on", "compliance.kind", "compliance.contact", "compliance.status", "compliance.progress",
        "compliance.actions")]), position="sticky", top="0", background=rx.color("slate", 2))
    return rx.cond(S.request_rows.length() > 0,
                   rx.box(rx.table.root(header, rx.table.body(rx.foreach(S.request_rows, _row)), width="100%",
                                        size="2"), overflow_x="auto", width="100%"),
                   empty_state("file-lock-2", "compliance.no_requests", empty_id="requests-empty"))


@app_page("/compliance/requests", "Pedidos de titulares · Atende CRM", on_load=[RequestsState.load_requests])
def compliance_requests_page() -> rx.Component:
    return shell(T["compliance.title"], "/compliance", rx.vstack(
        compliance_tabs("/compliance/requests"),
        page_header("compliance.tab_requests", "compliance.requests_purpose"),
        _form(),
        rx.cond(S.requests_loaded, _table(), rx.skeleton(height="200px", width="100%")),
        spacing="3", width="100%"))
