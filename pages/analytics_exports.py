"""/analytics/exports (executives, admins, supervisors): the exports asked for from /analytics, with a live
progress bar while their job runs and a download link for the 24 hours their file is kept."""

import reflex as rx

from components.page import app_page
from components.shell import shell
from components.ui import empty_state, page_header
from crm_app.state.exports import ExportsState

S = ExportsState
T = S.t


def _status(row) -> rx.Component:
    colour = rx.match(row["status"], ("done", "green"), ("failed", "red"), ("expired", "gray"),
                      ("running", "blue"), "amber")
    return rx.badge(row["status_label"], color_scheme=colour, variant="soft")


def _progress(row) -> rx.Component:
    return rx.cond((row["status"] == "running") | (row["status"] == "queued"),
                   rx.vstack(rx.progress(value=row["percent"].to(int), max=100, width="160px",
                                         id="export-progress-" + row["id"]),
                             rx.text(row["counts"], size="1", color_scheme="gray"), spacing="1"),
                   rx.cond(row["error"] != "", rx.text(row["error"], size="1", color_scheme="red"),
                           rx.text(row["counts"], size="1", color_scheme="gray")))


def _download(row) -> rx.Component:
    return rx.cond(row["url"] != "", rx.vstack(
        rx.button(rx.icon("download", size=14), T["exports.download"], size="1", variant="soft",
                  on_click=S.download(row["id"]), id="export-download-" + row["id"]),
        rx.text(T["exports.expires"], " ", row["expires"], size="1", color_scheme="gray"), spacing="1"))


def _row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["kind"], weight="medium"), rx.text(row["format"], size="1", color_scheme="gray")),
        rx.table.cell(row["period"]), rx.table.cell(row["created"]), rx.table.cell(_status(row)),
        rx.table.cell(_progress(row)), rx.table.cell(_download(row)), id="export-" + row["id"])


def _table() -> rx.Component:
    header = rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[k]) for k in (
        "exports.kind", "exports.period", "exports.created", "exports.status", "exports.rows", "exports.download")]))
    return rx.cond(S.export_rows.length() > 0,
                   rx.box(rx.table.root(header, rx.table.body(rx.foreach(S.export_rows, _row)), width="100%",
                                        size="2"), overflow_x="auto", width="100%"),
                   empty_state("file-spreadsheet", "exports.empty", empty_id="exports-empty"))


@app_page("/analytics/exports", "Exportações · Atende CRM", on_load=[S.load_exports])
def analytics_exports_page() -> rx.Component:
    back = rx.link(rx.button(rx.icon("arrow-left", size=15), T["exports.back"], variant="soft", color_scheme="gray"),
                   href="/analytics")
    return shell(T["exports.title"], "/analytics", rx.vstack(
        page_header("exports.title", "exports.purpose", back),
        rx.cond(S.exports_loaded, _table(), rx.skeleton(height="200px", width="100%")),
        spacing="3", width="100%", max_width="1200px", margin="0 auto"))
