"""The conversation list: tabs with counts, search, filters, sort, rows, "carregar mais"."""

from __future__ import annotations

import reflex as rx

from crm_app.state.inbox import InboxConversationState, InboxListState, InboxState

S = InboxListState
Chat = InboxConversationState
T = InboxState.t

TABS = (("mine", "inbox.tab.mine"), ("unassigned", "inbox.tab.unassigned"), ("bot", "inbox.tab.bot"),
        ("all", "inbox.tab.all"), ("closed", "inbox.tab.closed"))


def window_chip(level, left, size: str = "1") -> rx.Component:
    """The 24-hour window: neutral above 2 h, amber under 2 h, red under 30 min, gray once closed."""
    return rx.match(
        level,
        ("ok", rx.badge(rx.icon("clock", size=12), T["inbox.window"] + " " + left, color_scheme="gray",
                        variant="soft", size=size, class_name="window-chip", data_level="ok")),
        ("warn", rx.badge(rx.icon("clock", size=12), T["inbox.window"] + " " + left, color_scheme="amber",
                          variant="soft", size=size, class_name="window-chip", data_level="warn")),
        ("danger", rx.badge(rx.icon("timer", size=12), T["inbox.window"] + " " + left, color_scheme="red",
                            variant="solid", size=size, class_name="window-chip", data_level="danger")),
        ("closed", rx.badge(rx.icon("clock-alert", size=12), T["inbox.window_closed_short"], color_scheme="gray",
                            variant="outline", size=size, class_name="window-chip", data_level="closed")),
        rx.fragment(),
    )


def sla_chip(item, size: str = "1") -> rx.Component:
    """The SLA countdown of a row or header (`view.sla_chip`): green, amber in the last 20 % of its window, red once
    missed; assets/sla.js ticks its words and colour every second. The tooltip reads the deadline's local time."""
    late = item["sla_level"] == "late"
    chip = rx.badge(
        rx.icon(rx.cond(late, "alarm-clock-off", "alarm-clock"), size=12),
        rx.el.span(item["sla_text"], class_name="sla-text"),
        color_scheme=rx.match(item["sla_level"], ("late", "red"), ("risk", "amber"), "green"),
        variant=rx.cond(late, "solid", "soft"), size=size, radius="full",
        class_name=rx.match(item["sla_level"], ("late", "sla-chip sla-late"), ("risk", "sla-chip sla-risk"),
                            "sla-chip sla-ok"),
        data_level=item["sla_level"], data_sla_due=item["sla_due"], data_sla_start=item["sla_start"],
        data_overdue=item["sla_overdue"], title=item["sla_title"], aria_label=item["sla_title"], role="timer",
        white_space="nowrap",
    )
    return rx.cond(item["sla_level"] != "", chip, rx.fragment())


PRIORITY_LOOK = {"urgent": ("red", "solid", "flame"), "high": ("orange", "solid", "arrow-up"),
                 "medium": ("blue", "soft", "equal"), "low": ("gray", "soft", "arrow-down")}


def priority_label(name) -> rx.Var:
    """The priority's name in the user's language."""
    return rx.match(name, *[(p, T[f"sla.priority.{p}"]) for p in PRIORITY_LOOK], T["sla.priority.none"])


def priority_badge(name) -> rx.Component:
    """A small badge for a priority above none; high and urgent are solid so they stand out."""
    return rx.match(name, *[(p, rx.badge(rx.icon(icon, size=11), T[f"sla.priority.{p}"], color_scheme=color,
                                         variant=variant, size="1", class_name="priority-badge", data_priority=p,
                                         title=T["inbox.priority"] + ": " + T[f"sla.priority.{p}"]))
                            for p, (color, variant, icon) in PRIORITY_LOOK.items()], rx.fragment())


def status_badge(status, bot) -> rx.Component:
    """Aberta green, Pendente amber, Adiada blue, Encerrada gray, Bot violet."""
    return rx.cond(
        bot != "",
        rx.badge(rx.icon("bot", size=12), T["inbox.status.bot"], color_scheme="violet", variant="soft"),
        rx.match(
            status,
            ("open", rx.badge(T["inbox.status.open"], color_scheme="green", variant="soft")),
            ("pending", rx.badge(T["inbox.status.pending"], color_scheme="amber", variant="soft")),
            ("snoozed", rx.badge(T["inbox.status.snoozed"], color_scheme="blue", variant="soft")),
            ("closed", rx.badge(T["inbox.status.closed"], color_scheme="gray", variant="soft")),
            rx.badge(status, variant="soft"),
        ),
    )


def _tab(value: str, key: str) -> rx.Component:
    active = S.tab == value
    button = rx.button(
        T[key],
        rx.cond(S.counts[value].to(int) > 0,
                rx.text(S.counts[value].to(str), as_="span", size="1", weight="bold",
                        padding="0 6px", border_radius="9999px",
                        background=rx.cond(active, rx.color("teal", 9), rx.color("slate", 5)),
                        color=rx.cond(active, "white", rx.color("slate", 11))),
                rx.fragment()),
        size="1", variant=rx.cond(active, "soft", "ghost"), color_scheme=rx.cond(active, "teal", "gray"),
        on_click=S.set_tab(value), id=f"tab-{value}", aria_pressed=rx.cond(active, "true", "false"),
        style={"flex_shrink": "0"},
    )
    return rx.cond(S.is_supervisor, button, rx.fragment()) if value == "all" else button


def _select(name: str, placeholder_key: str, options, all_key: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=T[placeholder_key], variant="surface", width="100%", id=f"filter-{name}",
                          aria_label=T[placeholder_key]),
        rx.select.content(
            rx.select.item(T[all_key], value="all"),
            rx.foreach(options, lambda o: rx.select.item(o["name"], value=o["id"])),
        ),
        value=rx.cond(getattr(S, f"filter_{name}") == "", "all", getattr(S, f"filter_{name}")),
        on_change=lambda v: S.set_filter(name, v), size="1", name=f"filter-{name}",
    )


def _filters() -> rx.Component:
    status = rx.select.root(
        rx.select.trigger(placeholder=T["inbox.filter.status"], variant="surface", width="100%", id="filter-status",
                          aria_label=T["inbox.filter.status"]),
        rx.select.content(
            rx.select.item(T["inbox.filter.any_status"], value="all"),
            rx.select.item(T["inbox.status.open"], value="open"),
            rx.select.item(T["inbox.status.pending"], value="pending"),
            rx.select.item(T["inbox.status.snoozed"], value="snoozed"),
        ),
        value=rx.cond(S.filter_status == "", "all", S.filter_status),
        on_change=lambda v: S.set_filter("status", v), size="1",
    )
    return rx.popover.root(
        rx.tooltip(rx.popover.trigger(
            rx.icon_button(rx.icon("sliders-horizontal", size=16),
                           variant=rx.cond(S.filters_active, "solid", "soft"),
                           color_scheme=rx.cond(S.filters_active, "teal", "gray"),
                           aria_label=T["inbox.filters"], id="filters-button"),
        ), content=T["inbox.filters"]),
        rx.popover.content(
            rx.vstack(
                rx.text(T["inbox.filters"], weight="bold", size="2"),
                rx.text(T["inbox.filter.team"], size="1", color_scheme="gray"),
                _select("team", "inbox.filter.team", S.team_options, "inbox.filter.all_teams"),
                rx.text(T["inbox.filter.label"], size="1", color_scheme="gray"),
                _select("label", "inbox.filter.label", S.label_options, "inbox.filter.all_labels"),
                rx.text(T["inbox.filter.status"], size="1", color_scheme="gray"),
                status,
                rx.text(T["inbox.filter.number"], size="1", color_scheme="gray"),
                _select("inbox", "inbox.filter.number", S.inbox_options, "inbox.filter.all_numbers"),
                rx.text(T["inbox.period"], size="1", color_scheme="gray"),
                rx.hstack(
                    rx.input(type="date", value=S.period_since, on_change=lambda v: S.set_period("since", v),
                             size="1", id="filter-since", aria_label=T["inbox.period.since"], flex="1"),
                    rx.input(type="date", value=S.period_until, on_change=lambda v: S.set_period("until", v),
                             size="1", id="filter-until", aria_label=T["inbox.period.until"], flex="1"),
                    spacing="1", width="100%"),
                rx.hstack(
                    rx.switch(checked=S.filter_sla == "at_risk", size="1", id="filter-sla-risk",
                              on_change=lambda on: S.set_filter("sla", rx.cond(on, "at_risk", "all")),
                              aria_label=T["inbox.filter.sla_risk"]),
                    rx.vstack(rx.text(T["inbox.filter.sla_risk"], size="2"),
                              rx.text(T["inbox.filter.sla_risk_help"], size="1", color_scheme="gray"), spacing="0"),
                    spacing="2", align="center", width="100%",
                ),
                rx.text(T["inbox.sort"], size="1", color_scheme="gray"),
                rx.select.root(
                    rx.select.trigger(variant="surface", width="100%", id="sort-select", aria_label=T["inbox.sort"]),
                    rx.select.content(*[rx.select.item(T[f"inbox.sort.{v}"], value=v)
                                        for v in ("recent", "window", "due", "priority")]),
                    value=S.sort, on_change=S.set_sort, size="1",
                ),
                rx.button(T["inbox.filter.clear"], size="1", variant="soft", color_scheme="gray",
                          on_click=S.clear_filters, id="filters-clear", width="100%"),
                spacing="2", width="290px",
            ),
            side="bottom", align="end",
        ),
    )


def _row(row: rx.Var) -> rx.Component:
    selected = Chat.selected_id.to(str) == row["id"]
    unread = row["unread"] != ""
    return rx.box(
        rx.hstack(
            rx.avatar(fallback=row["initials"], size="3", radius="full", color_scheme="teal", variant="soft"),
            rx.vstack(
                rx.hstack(
                    rx.text(row["name"], size="2", weight=rx.cond(unread, "bold", "medium"), trim="both",
                            overflow="hidden", white_space="nowrap", text_overflow="ellipsis", flex="1"),
                    rx.text(row["time"], size="1", color=rx.cond(unread, rx.color("teal", 11), rx.color("slate", 10)),
                            white_space="nowrap"),
                    width="100%", align="center", spacing="2",
                ),
                rx.hstack(
                    rx.cond(row["bot"] != "", rx.icon("bot", size=13, color=rx.color("violet", 10)), rx.fragment()),
                    rx.text(row["preview"], size="1", color_scheme="gray", overflow="hidden", white_space="nowrap",
                            text_overflow="ellipsis", flex="1", class_name="row-preview"),
                    rx.cond(unread, rx.badge(row["unread"], color_scheme="teal", variant="solid", radius="full",
                                             size="1", class_name="unread-badge"), rx.fragment()),
                    rx.cond(row["assignee"] != "",
                            rx.tooltip(rx.avatar(fallback=row["assignee_initials"], size="1", radius="full",
                                                 color_scheme="gray", variant="soft"), content=row["assignee"]),
                            rx.fragment()),
                    width="100%", align="center", spacing="1",
                ),
                rx.cond(
                    (row["window"] == "warn") | (row["window"] == "danger") | (row["labels"] != "")
                    | (row["sla_level"] != "") | (row["priority"] != "none"),
                    rx.hstack(
                        priority_badge(row["priority"]),
                        sla_chip(row),
                        rx.cond((row["window"] == "warn") | (row["window"] == "danger"),
                                window_chip(row["window"], row["window_left"]), rx.fragment()),
                        rx.cond(row["labels"] != "", rx.text(row["labels"], size="1", color_scheme="gray",
                                                             overflow="hidden", white_space="nowrap",
                                                             text_overflow="ellipsis"), rx.fragment()),
                        width="100%", align="center", spacing="1", wrap="wrap",
                    ),
                    rx.fragment(),
                ),
                spacing="1", width="100%", min_width="0",
            ),
            spacing="3", align="start", width="100%",
        ),
        on_click=Chat.select(row["id"]),
        padding="10px 12px", cursor="pointer", width="100%",
        border_left=rx.cond(selected, f"3px solid {rx.color('teal', 9)}", "3px solid transparent"),
        background=rx.cond(selected, rx.color("teal", 3), "transparent"),
        _hover={"background": rx.cond(selected, rx.color("teal", 3), rx.color("slate", 3))},
        border_bottom=f"1px solid {rx.color('slate', 4)}",
        class_name="conv-row", data_id=row["id"], data_assignee=row["assignee"], role="button", tab_index=0,
        aria_current=rx.cond(selected, "true", "false"),
    )


def _empty() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.center(rx.icon("inbox", size=24, color=rx.color("teal", 11)), width="48px", height="48px",
                      border_radius="9999px", background=rx.color("teal", 3)),
            rx.text(T["inbox.empty.title"], weight="medium", size="2"),
            rx.text(rx.cond(S.query != "", T["inbox.empty.search"], T["inbox.empty.body"]), size="1",
                    color_scheme="gray", align="center"),
            align="center", spacing="2", max_width="240px",
        ),
        padding="40px 16px", width="100%",
    )


def _skeleton() -> rx.Component:
    return rx.vstack(*[rx.hstack(rx.skeleton(width="40px", height="40px", border_radius="9999px"),
                                 rx.vstack(rx.skeleton(height="12px", width="60%"),
                                           rx.skeleton(height="10px", width="90%"), width="100%", spacing="2"),
                                 width="100%", padding="10px 12px") for _ in range(6)], width="100%", spacing="0")


def conversation_list() -> rx.Component:
    """The list pane."""
    return rx.vstack(
        rx.hstack(  # the shell's top bar already names the page: search and filters lead the pane
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                placeholder=T["inbox.search"], value=S.query, on_change=S.set_query, debounce_timeout=150,
                id="inbox-search", size="2", width="100%", aria_label=T["inbox.search"], type="search",
            ),
            _filters(),
            width="100%", align="center", spacing="2", padding="12px 12px 8px 12px",
        ),
        rx.flex(*[_tab(v, k) for v, k in TABS], gap="4px", padding="0 12px 8px 12px", width="100%", wrap="wrap",
                 class_name="inbox-tabs"),
        rx.cond(S.selection_active | (S.period_since != ""), rx.callout(
            rx.flex(rx.vstack(
                        rx.text(rx.cond(S.selection_active, T["inbox.selection"], T["inbox.period"]), size="2"),
                        rx.text(S.period_text, " · ", rx.el.strong(S.total_text, id="selection-total"), size="1",
                                id="inbox-period-text"),
                        rx.el.span(S.list_total, id="selection-count", hidden=True),
                        spacing="0"),
                    rx.button(rx.icon("x", size=14), T["inbox.selection_clear"], size="1", variant="soft",
                              on_click=S.clear_selection, id="selection-clear"),
                    gap="8px", align="center", wrap="wrap", justify="between", width="100%"),
            icon="chart-column", size="1", color_scheme="teal", id="inbox-selection", margin="0 12px 8px 12px")),
        rx.cond(S.read_only, rx.badge(rx.icon("eye", size=12), T["inbox.read_only"], color_scheme="gray",
                                      variant="soft", margin="0 12px 8px 12px", id="inbox-read-only")),
        rx.box(
            rx.cond(
                S.list_loading, _skeleton(),
                rx.cond(
                    S.rows.length() > 0,
                    rx.vstack(
                        rx.foreach(S.rows, _row),
                        rx.cond(S.next_cursor != "",
                                rx.button(T["inbox.load_more"], variant="ghost", size="2", on_click=S.load_more,
                                          width="100%", id="load-more", margin="8px 0"),
                                rx.fragment()),
                        spacing="0", width="100%",
                    ),
                    _empty(),
                ),
            ),
            flex="1", overflow_y="auto", width="100%", border_top=f"1px solid {rx.color('slate', 4)}",
            id="conversation-list",
        ),
        spacing="0", height="100%", width="100%", min_width="0",
    )
