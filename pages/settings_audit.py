"""/settings/audit: admins read their tenant's audit log, newest first, with filters and "load older"."""

import reflex as rx

from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, page_header
from crm_app.state.settings_audit import ALL, AuditLogState

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


def _filters() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _select(S.filter_action, S.set_filter_action, "admin.audit.all_actions", S.action_options,
                    "audit-action", "admin.audit.action"),
            _select(S.filter_user, S.set_filter_user, "admin.audit.all_users", S.user_options, "audit-user",
                    "admin.audit.user"),
            rx.grid(_date(S.date_from, S.set_date_from, "audit-from", "admin.audit.from"),
                    _date(S.date_to, S.set_date_to, "audit-to", "admin.audit.to"), columns="2", gap="8px"),
            rx.button(rx.icon("filter-x", size=15), T["admin.audit.clear"], variant="soft", color_scheme="gray",
                      on_click=S.clear_filters, id="audit-clear", align_self="end", width="fit-content"),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"), gap="12px", width="100%", align_items="end",
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
            rx.badge(entry.action_label, variant="soft", size="2", title=entry.action),
            rx.text(entry.target, size="2", weight="medium"),
            rx.spacer(),
            rx.text(entry.when, size="1", color_scheme="gray", white_space="nowrap"),
            gap="8px", align="center", wrap="wrap", width="100%",
        ),
        rx.hstack(
            rx.icon("user-round", size=13, color=rx.color("slate", 10)),
            rx.text(entry.who, size="1", color_scheme="gray", word_break="break-all"),
            rx.cond(entry.ip != "", rx.text("· IP ", entry.ip, size="1", color_scheme="gray")),
            spacing="1", align="center", margin_top="4px", wrap="wrap",
        ),
        rx.cond(entry.changes.length() > 0,
                rx.vstack(rx.foreach(entry.changes, _change), spacing="1", margin_top="8px", padding="8px",
                          border_radius="6px", background=rx.color("slate", 2), width="100%")),
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


@app_page("/settings/audit", "Auditoria · Atende CRM", on_load=[AuditLogState.open_page])
def settings_audit_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/audit",
        rx.vstack(
            settings_tabs("/settings/audit"),
            page_header("admin.audit.title", "admin.audit.help"),
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
