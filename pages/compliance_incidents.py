"""/compliance/incidents: record a security incident, watch its ANPD (3 business days) and GDPR (72 h) clocks and
copy the draft notice."""

import reflex as rx

from components.compliance_tabs import compliance_tabs
from components.page import app_page
from components.shell import shell
from components.ui import empty_state, page_header
from crm_app.state.compliance_incidents import IncidentsState

S = IncidentsState
T = S.t


def _field(label_key: str, control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(T[label_key], size="1", weight="medium", color_scheme="gray"), control,
                     spacing="1", width="100%")


def _form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["incidents.new"], size="3"),
            rx.grid(
                _field("incidents.f.title", rx.input(value=S.title, on_change=S.set_title, id="incident-title",
                                                     max_length=200, width="100%")),
                rx.grid(
                    _field("incidents.f.day", rx.input(type="date", value=S.detected_day,
                                                       on_change=S.set_detected_day, id="incident-day")),
                    _field("incidents.f.time", rx.input(type="time", value=S.detected_time,
                                                        on_change=S.set_detected_time, id="incident-time")),
                    columns="2", gap="8px"),
                _field("incidents.f.affected", rx.input(value=S.affected, on_change=S.set_affected,
                                                        id="incident-affected", input_mode="numeric")),
                columns=rx.breakpoints(initial="1", md="3"), gap="12px", width="100%"),
            _field("incidents.f.categories", rx.flex(
                rx.foreach(S.category_keys, lambda key: rx.checkbox(
                    T["incidents.cat." + key], checked=S.categories.contains(key),
                    on_change=lambda v: S.toggle_category(key, v), id="incident-cat-" + key)),
                gap="12px", wrap="wrap")),
            _field("incidents.f.description", rx.text_area(value=S.description, on_change=S.set_description,
                                                           id="incident-description", max_length=4000)),
            _field("incidents.f.measures", rx.text_area(value=S.measures, on_change=S.set_measures,
                                                        id="incident-measures", max_length=4000)),
            rx.cond(S.form_error != "", rx.text(S.form_error, color_scheme="red", size="2", role="alert",
                                                id="incident-error")),
            rx.button(rx.icon("shield-alert", size=15), T["incidents.save"], on_click=S.record, id="incident-save",
                      align_self="end"),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _clock(label_key: str, left, due, late) -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], size="1", color_scheme="gray"),
        rx.badge(left, color_scheme=rx.cond(late != "", "red", "amber"), variant=rx.cond(late != "", "solid", "soft")),
        rx.text(T["incidents.until"], " ", due, size="1", color_scheme="gray"),
        spacing="1",
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.text(row["title"], weight="medium"),
                rx.text(T["incidents.detected"], " ", row["detected"], " · ", row["affected"], " ",
                        T["incidents.subjects"], size="1", color_scheme="gray"),
                rx.text(row["categories"], size="1", color_scheme="gray"),
                spacing="1", flex="1", min_width="0"),
            rx.cond(row["status"] == "open",
                    rx.hstack(_clock("incidents.anpd", row["anpd_left"], row["anpd_due"], row["anpd_late"]),
                              _clock("incidents.gdpr", row["gdpr_left"], row["gdpr_due"], row["gdpr_late"]),
                              spacing="4"),
                    rx.badge(T["incidents.status.notified"], color_scheme="green")),
            rx.vstack(
                rx.button(rx.icon("file-text", size=14), T["incidents.draft"], variant="soft", size="1",
                          on_click=S.show_notice(row["notice"]), class_name="incident-draft"),
                rx.cond(row["status"] == "open",
                        rx.button(rx.icon("send", size=14), T["incidents.mark_notified"], size="1", variant="soft",
                                  color_scheme="green", on_click=S.notified(row["id"]),
                                  class_name="incident-notified")),
                spacing="2"),
            gap="16px", wrap="wrap", align="center", width="100%"),
        width="100%", class_name="incident-row",
    )


def _notice_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["incidents.draft"]),
            rx.text_area(value=S.notice, read_only=True, rows="18", width="100%", id="incident-notice",
                         font_family="monospace"),
            rx.flex(rx.dialog.close(rx.button(T["incidents.close"], variant="soft")), justify="end",
                    margin_top="12px"),
            max_width="720px",
        ),
        open=S.notice != "", on_open_change=S.close_notice,
    )


@app_page("/compliance/incidents", "Incidentes · Atende CRM", on_load=[IncidentsState.load])
def compliance_incidents_page() -> rx.Component:
    return shell(
        T["compliance.title"], "/compliance/incidents",
        rx.vstack(
            compliance_tabs("/compliance/incidents"),
            page_header("incidents.title", "incidents.help"),
            _form(),
            rx.cond(S.loaded,
                    rx.cond(S.rows.length() > 0, rx.vstack(rx.foreach(S.rows, _row), spacing="2", width="100%",
                                                           id="incident-list"),
                            empty_state("shield-check", "incidents.empty", empty_id="incidents-empty")),
                    rx.skeleton(height="120px", width="100%")),
            _notice_dialog(),
            spacing="3", width="100%", max_width="1040px",
        ),
    )
