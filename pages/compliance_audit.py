"""/compliance/audit: the audit trail as sentences, searchable, with Verificar integridade and a CSV export.

/settings/audit, where the log used to live, now leads here."""

import reflex as rx

from components.compliance_tabs import compliance_tabs
from components.page import app_page
from components.shell import shell
from components.ui import empty_state, page_header
from crm_app.state.compliance_audit import ALL, AuditLogState

S = AuditLogState
T = S.t


def _select(value, on_change, all_key: str, options, select_id: str, label_key: str) -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], size="1", weight="medium", color_scheme="gray", as_="label", html_for=select_id),
        rx.select.root(
            rx.select.trigger(id=select_id, width="100%"),
            rx.select.content(rx.select.item(T[all_key], value=ALL),
                              rx.foreach(options, lambda o: rx.select.item(o["label"], value=o["value"]))),
            value=value, on_change=on_change,
        ),
        spacing="1", width="100%", min_width="0",
    )


def _date(value, on_change, input_id: str, label_key: str) -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], size="1", weight="medium", color_scheme="gray", as_="label", html_for=input_id),
        rx.input(type="date", value=value, on_change=on_change, id=input_id, width="100%"),
        spacing="1", width="100%",
    )


def _text(value, on_change, input_id: str, label_key: str, placeholder: str = "") -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], size="1", weight="medium", color_scheme="gray", as_="label", html_for=input_id),
        rx.input(value=value, on_change=on_change, on_blur=S.search, id=input_id, width="100%",
                 placeholder=placeholder, max_length=64),
        spacing="1", width="100%",
    )


def _filters() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _select(S.filter_action, S.set_filter_action, "admin.audit.all_actions", S.action_options,
                    "audit-action", "admin.audit.action"),
            _select(S.filter_user, S.set_filter_user, "admin.audit.all_users", S.user_options, "audit-user",
                    "audit.page.search_actor"),
            _select(S.filter_type, S.set_filter_type, "audit.page.all_types", S.type_options, "audit-type",
                    "audit.page.search_type"),
            rx.grid(_text(S.filter_id, S.set_filter_id, "audit-target-id", "audit.page.search_id", "12"),
                    _text(S.filter_ip, S.set_filter_ip, "audit-ip", "audit.page.search_ip", "203.0.113.7"),
                    columns="2", gap="8px"),
            rx.grid(_date(S.date_from, S.set_date_from, "audit-from", "admin.audit.from"),
                    _date(S.date_to, S.set_date_to, "audit-to", "admin.audit.to"), columns="2", gap="8px"),
            rx.button(rx.icon("filter-x", size=15), T["admin.audit.clear"], variant="soft", color_scheme="gray",
                      on_click=S.clear_filters, id="audit-clear", align_self="end", width="fit-content"),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"), gap="12px", width="100%", align_items="end",
        ),
        rx.cond(S.period_error != "", rx.text(S.period_error, size="1", color_scheme="red", role="alert",
                                              id="audit-period-error")),
        padding="12px", border_radius="8px", background=rx.color("slate", 2),
        border=f"1px solid {rx.color('slate', 5)}", width="100%", spacing="2",
    )


def _change(change: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(change.field, size="1", color_scheme="gray", min_width="120px"),
        rx.match(
            change.kind,
            ("added", rx.text(change.after, size="1", weight="medium", color_scheme="green")),
            ("removed", rx.text(change.before, size="1", color_scheme="red", text_decoration="line-through")),
            rx.hstack(rx.text(change.before, size="1", color_scheme="red", text_decoration="line-through"),
                      rx.icon("arrow-right", size=12, color=rx.color("slate", 10)),
                      rx.text(change.after, size="1", weight="medium", color_scheme="green"),
                      spacing="1", align="center", wrap="wrap"),
        ),
        spacing="2", align="start", width="100%", wrap="wrap", word_break="break-word",
    )


def _entry(entry: rx.Var) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.text(entry.sentence, size="2", weight="medium", class_name="audit-sentence"),
            rx.spacer(),
            rx.text(entry.when, size="1", color_scheme="gray", white_space="nowrap"),
            gap="8px", align="center", wrap="wrap", width="100%",
        ),
        rx.el.details(
            rx.el.summary(T["audit.page.details"], cursor="pointer", font_size="12px",
                          color=rx.color("slate", 11), class_name="audit-details-toggle"),
            rx.vstack(
                rx.hstack(
                    rx.badge(entry.action_label, variant="soft", size="1", title=entry.action),
                    rx.code(entry.action, size="1"),
                    rx.text(entry.target, size="1", color_scheme="gray"),
                    rx.text("#", entry.id, size="1", color_scheme="gray"),
                    spacing="2", align="center", wrap="wrap",
                ),
                rx.hstack(
                    rx.icon("user-round", size=13, color=rx.color("slate", 10)),
                    rx.text(entry.who, size="1", color_scheme="gray", word_break="break-all"),
                    rx.cond(entry.ip != "", rx.text("· IP ", entry.ip, size="1", color_scheme="gray")),
                    spacing="1", align="center", wrap="wrap",
                ),
                rx.cond(entry.erased, rx.text(T["audit.page.erased_details"], size="1", color_scheme="gray")),
                rx.cond(entry.changes.length() > 0,
                        rx.vstack(rx.foreach(entry.changes, _change), spacing="1", padding="8px",
                                  border_radius="6px", background=rx.color("slate", 2), width="100%")),
                spacing="2", margin_top="6px", width="100%",
            ),
            margin_top="4px",
        ),
        padding="12px 14px", border_bottom=f"1px solid {rx.color('slate', 4)}", width="100%",
        class_name="audit-entry", custom_attrs={"data-action": entry.action},
    )


def _list() -> rx.Component:
    return rx.vstack(
        rx.box(rx.foreach(S.entries, _entry), width="100%", border=f"1px solid {rx.color('slate', 5)}",
               border_radius="8px", overflow="hidden", id="audit-list", background=rx.color("slate", 1)),
        rx.cond(S.next_before_id != "",
                rx.button(rx.icon("chevrons-down", size=15), T["admin.audit.more"], variant="soft",
                          on_click=S.load_more, id="audit-more", align_self="center"),
                rx.text(T["admin.audit.end"], size="1", color_scheme="gray", align_self="center", id="audit-end")),
        spacing="3", width="100%",
    )


def _verify_result() -> rx.Component:
    return rx.cond(
        S.verify_message != "",
        rx.callout(S.verify_message,
                   icon=rx.cond(S.verifying, "loader", rx.cond(S.verify_ok, "shield-check", "triangle-alert")),
                   color_scheme=rx.cond(S.verifying, "blue", rx.cond(S.verify_ok, "green", "red")), role="status",
                   id="audit-verify-result", width="100%"),
    )


@app_page("/compliance/audit", "Auditoria · Atende CRM", on_load=[AuditLogState.open_page])
def compliance_audit_page() -> rx.Component:
    return shell(
        T["compliance.title"], "/compliance/audit",
        rx.vstack(
            compliance_tabs("/compliance/audit"),
            page_header("audit.page.title", "audit.page.help",
                        rx.button(rx.icon("download", size=15), T["audit.page.csv"], variant="soft",
                                  on_click=S.export_csv, id="audit-csv"),
                        rx.button(rx.icon("shield-check", size=15), T["audit.page.verify"], on_click=S.verify_chain,
                                  loading=S.verifying, id="audit-verify")),
            _verify_result(),
            _filters(),
            rx.cond(
                S.audit_loaded,
                rx.cond(S.entries.length() > 0, _list(),
                        empty_state("search-x", "admin.audit.empty", empty_id="audit-empty")),
                rx.skeleton(height="200px", width="100%"),
            ),
            spacing="3", width="100%", max_width="1040px",
        ),
    )


@app_page("/settings/audit", "Auditoria · Atende CRM", on_load=[AuditLogState.moved])
def settings_audit_moved() -> rx.Component:
    """The old address: the trail now lives under Conformidade."""
    return shell(T["settings.title"], "/settings/audit", rx.skeleton(height="200px", width="100%"))
