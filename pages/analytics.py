"""/analytics (executives and admins: the tenant; supervisors: their teams) and /analytics/me (one's own figures):
filters kept in the URL, KPI cards with the change against the previous period, plotly charts that open their
conversations in the inbox, and the attendant, team and number tables. Prints as a report (the browser's print)."""

import reflex as rx

from components.page import app_page
from components.shell import shell
from components.ui import empty_state
from crm_app.state.analytics import PERIODS, AnalyticsState

S = AnalyticsState
T = S.t
PRINT_CSS = """
@media print {
  .shell-rail, .shell-bar, .analytics-filters, .analytics-noprint { display: none !important; }
  #app-shell { height: auto !important; overflow: visible !important; }
  #app-shell > div, #app-shell div { overflow: visible !important; }
  .analytics-card, .analytics-chart, .analytics-table { break-inside: avoid; }
  body { background: #fff !important; }
}
.analytics-grid { display: grid; gap: 12px; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); }
@media (max-width: 520px) { .analytics-grid { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; } }
.analytics-charts { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(min(520px, 100%), 1fr)); }
"""
TONES = {"up": "teal", "down": "tomato", "flat": "gray"}
# On phones two filters a row, filling it; from 768 px each as wide as its text.
FILTER_FLEX = ["1 1 40%", "1 1 40%", "0 0 auto"]
# The charts: (title key, figure, element id, definition key (the title's tooltip), click handler).
CHARTS = (
    ("analytics.chart.volume", S.fig_volume, "chart-volume", "analytics.tip.volume", S.open_day),
    ("analytics.chart.heatmap", S.fig_heatmap, "chart-heatmap", "analytics.tip.heatmap", S.open_cell),
    ("analytics.chart.staffing", S.fig_staffing, "chart-staffing", "analytics.tip.staffing", None),
    ("analytics.chart.frt", S.fig_frt, "chart-frt", "analytics.tip.frt_buckets", S.open_bucket),
    ("analytics.chart.reasons", S.fig_reasons, "chart-reasons", "analytics.tip.reasons", None),
    ("analytics.chart.csat", S.fig_csat, "chart-csat", "analytics.tip.csat_chart", None),
)
# The tables' columns, each with the catalogue key of its definition (the header's tooltip).
COLUMNS = {"name": "analytics.tip.col_name", "handled": "analytics.tip.handled", "fcr": "analytics.tip.fcr",
           "frt": "analytics.tip.col_frt", "resolution": "analytics.tip.col_resolution",
           "sent": "analytics.tip.sent", "online": "analytics.tip.online", "busy": "analytics.tip.busy",
           "csat": "analytics.tip.csat", "csat_rate": "analytics.tip.csat_response",
           "csat_spread": "analytics.tip.csat_spread"}
# The SLA tables' columns: (catalogue key of the header, of its definition).
SLA_COLUMNS = {"name": ("analytics.col.name", "analytics.sla.tip.col_name"),
               **{k: (f"analytics.sla.col.{k}", f"analytics.sla.tip.col_{k}")
                  for k in ("first_response", "next_response", "resolution", "breaches")}}


def _select(name: str, value, options, label_key: str) -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], size="1", color_scheme="gray"),
        rx.select.root(
            rx.select.trigger(placeholder=T["analytics.all"], id=f"analytics-{name}", min_width="140px",
                              width="100%"),
            rx.select.content(rx.select.item(T["analytics.all"], value="all"),
                              rx.foreach(options, lambda o: rx.select.item(o[1], value=o[0]))),
            value=rx.cond(value == "", "all", value), on_change=lambda v: S.set_filter(name, v), size="2"),
        spacing="1", flex=FILTER_FLEX)


def _filters() -> rx.Component:
    period = rx.vstack(
        rx.text(T["analytics.period"], size="1", color_scheme="gray"),
        rx.select.root(
            rx.select.trigger(id="analytics-period", min_width="140px", width="100%"),
            rx.select.content(*[rx.select.item(T[f"analytics.period.{p}"], value=p) for p in PERIODS]),
            value=S.period, on_change=S.set_period, size="2"),
        spacing="1", flex=FILTER_FLEX)
    custom = rx.cond(S.period == "custom", rx.hstack(
        rx.vstack(rx.text(T["analytics.since"], size="1", color_scheme="gray"),
                  rx.input(type="date", value=S.since, on_change=S.set_since, id="analytics-since"), spacing="1"),
        rx.vstack(rx.text(T["analytics.until"], size="1", color_scheme="gray"),
                  rx.input(type="date", value=S.until, on_change=S.set_until, id="analytics-until"), spacing="1"),
        rx.button(T["analytics.apply"], on_click=S.apply_dates, id="analytics-apply"),
        align="end", spacing="2", wrap="wrap"))
    return rx.flex(
        period, custom,
        rx.cond(S.mine, rx.fragment(), rx.fragment(
            _select("team", S.team, S.team_options, "analytics.filter.team"),
            _select("number", S.number, S.number_options, "analytics.filter.number"),
            _select("label", S.label, S.label_options, "analytics.filter.label"),
            _select("attendant", S.attendant, S.attendant_options, "analytics.filter.attendant"))),
        rx.spacer(),
        rx.cond(S.mine, rx.fragment(), _export_menu()),
        rx.button(rx.icon("printer", size=15), T["analytics.print"], variant="soft", color_scheme="gray",
                  on_click=rx.call_script("window.print()"), id="analytics-print", class_name="analytics-noprint"),
        gap="12px", wrap="wrap", align="end", width="100%", class_name="analytics-filters",
    )


def _export_menu() -> rx.Component:
    """Exportar: the page's period and filters as a file (a job; its progress shows on /analytics/exports)."""
    return rx.menu.root(
        rx.menu.trigger(rx.button(rx.icon("download", size=15), T["exports.action"], variant="soft",
                                  id="analytics-export")),
        rx.menu.content(
            rx.menu.item(T["exports.conversations_xlsx"], on_click=S.export("conversations", "xlsx"),
                         id="export-conversations-xlsx"),
            rx.menu.item(T["exports.conversations_csv"], on_click=S.export("conversations", "csv"),
                         id="export-conversations-csv"),
            rx.menu.item(T["exports.daily_csv"], on_click=S.export("daily", "csv"), id="export-daily-csv"),
            rx.menu.separator(),
            rx.menu.item(T["exports.title"], on_click=rx.redirect("/analytics/exports"), id="export-list")),
        class_name="analytics-noprint")


def _card(card) -> rx.Component:
    return rx.card(rx.vstack(
        rx.tooltip(rx.hstack(rx.text(card["label"], size="2", color_scheme="gray"),
                             rx.icon("info", size=13, color=rx.color("slate", 9)), spacing="1", align="center"),
                   content=card["tip"]),
        rx.text(card["value"], size="6", weight="bold", id="card-" + card["key"]),
        rx.cond(card["delta"] != "",
                rx.text(card["delta"], " ", T["analytics.vs_previous"], size="1",
                        color_scheme=rx.match(card["tone"], ("up", "teal"), ("down", "tomato"), "gray")),
                rx.text(T["analytics.no_previous"], size="1", color_scheme="gray")),
        rx.cond(card["p90"] != "",
                rx.text("p90 ", card["p90"], " · ", T["analytics.average"], " ", card["avg"], size="1",
                        color_scheme="gray", id="card-" + card["key"] + "-spread")),
        rx.cond(card["business"] != "",
                rx.text(card["business"], " ", T["analytics.business"], size="1", color_scheme="gray")),
        spacing="1"), class_name="analytics-card")


def _tip(label, tip) -> rx.Component:
    """A label with an ⓘ whose tooltip defines the figure."""
    return rx.tooltip(rx.hstack(label, rx.icon("info", size=13, color=rx.color("slate", 9), flex_shrink="0"),
                                spacing="1", align="center"), content=tip)


def _chart(title_key: str, figure, chart_id: str, tip_key: str, on_click=None) -> rx.Component:
    props = {"on_click": on_click} if on_click is not None else {}
    return rx.card(rx.vstack(
        _tip(rx.text(T[title_key], weight="medium", size="2"), T[tip_key]),
        # The cartesian bundle (bar, scatter, heatmap: every chart here) instead of all of plotly.js.
        rx.box(rx.plotly.cartesian(data=figure, config={"displayModeBar": False, "responsive": True},
                                   width="100%", height="260px", **props), width="100%", id=chart_id),
        spacing="2", width="100%"), class_name="analytics-chart", width="100%")


def _table(title_key: str, rows, table_id: str, clickable: bool = False) -> rx.Component:
    def row(r) -> rx.Component:
        name = (rx.link(r["name"], on_click=S.open_timeline(r["id"], r["name"]), cursor="pointer",
                        id="timeline-" + r["id"]) if clickable else r["name"])
        return rx.table.row(
            rx.table.row_header_cell(name), *[rx.table.cell(r[k], white_space="nowrap") for k in list(COLUMNS)[1:]])

    def label(key: str) -> rx.Component:
        text = rx.text(T[f"analytics.col.{key}"])
        if key in ("frt", "resolution"):  # the order of the three durations in the cells
            return rx.vstack(text, rx.text(T["analytics.col.spread"], size="1", weight="regular", color_scheme="gray",
                                           white_space="nowrap"), spacing="0")
        return text

    head = rx.table.header(rx.table.row(*[
        rx.table.column_header_cell(_tip(label(k), T[tip]), id=f"{table_id}-col-{k}") for k, tip in COLUMNS.items()]))
    return rx.card(rx.vstack(
        rx.text(T[title_key], weight="medium", size="2"),
        rx.cond(rows.length() > 0,
                rx.box(rx.table.root(head, rx.table.body(rx.foreach(rows, row)), size="1", width="100%"),
                       overflow_x="auto", width="100%"),
                rx.text(T["analytics.none_rows"], size="2", color_scheme="gray")),
        spacing="2", width="100%"), class_name="analytics-table", width="100%", id=table_id)


def _failed() -> rx.Component:
    """Failed sends by Meta's reason (a list: reasons are long sentences)."""
    return rx.card(rx.vstack(
        _tip(rx.text(T["analytics.chart.failed"], weight="medium", size="2"), T["analytics.tip.failed_chart"]),
        rx.cond(S.failed.length() > 0,
                rx.vstack(rx.foreach(S.failed, lambda r: rx.hstack(
                    rx.text(r["reason"], size="2", flex="1"), rx.badge(r["count"], color_scheme="tomato"),
                    width="100%", align="center")), spacing="2", width="100%"),
                rx.text(T["analytics.no_failures"], size="2", color_scheme="gray")),
        spacing="2", width="100%"), class_name="analytics-chart", width="100%", id="failed-reasons")


def _sla_card(card) -> rx.Component:
    """An SLA target's attainment, its change against the previous period, and its hit and missed counts."""
    return rx.card(rx.vstack(
        _tip(rx.text(card["label"], size="2", color_scheme="gray"), card["tip"]),
        rx.text(card["value"], size="6", weight="bold", id="card-" + card["key"]),
        rx.cond(card["delta"] != "",
                rx.text(card["delta"], " ", T["analytics.vs_previous"], size="1",
                        color_scheme=rx.match(card["tone"], ("up", "teal"), ("down", "tomato"), "gray")),
                rx.text(T["analytics.no_previous"], size="1", color_scheme="gray")),
        rx.text(card["detail"], size="1", color_scheme="gray", id="card-" + card["key"] + "-detail"),
        spacing="1"), class_name="analytics-card")


def _sla_table(rows, table_id: str) -> rx.Component:
    head = rx.table.header(rx.table.row(*[
        rx.table.column_header_cell(_tip(rx.text(T[label]), T[tip]), id=f"{table_id}-col-{k}")
        for k, (label, tip) in SLA_COLUMNS.items()]))
    body = rx.table.body(rx.foreach(rows, lambda r: rx.table.row(
        rx.table.row_header_cell(r["name"]),
        *[rx.table.cell(r[k], white_space="nowrap") for k in list(SLA_COLUMNS)[1:]])))
    return rx.cond(rows.length() > 0,
                   rx.box(rx.table.root(head, body, size="1", width="100%"), overflow_x="auto", width="100%",
                          id=table_id),
                   rx.text(T["analytics.none_rows"], size="2", color_scheme="gray", padding_top="8px"))


def _sla_tables() -> rx.Component:
    """Attainment per team, attendant and number (tabs switch in the browser: every row is already loaded)."""
    tabs = (("team", S.sla_team_rows), ("attendant", S.sla_attendant_rows), ("number", S.sla_number_rows))
    return rx.card(rx.vstack(
        rx.text(T["analytics.sla.table"], weight="medium", size="2"),
        rx.tabs.root(
            rx.tabs.list(*[rx.tabs.trigger(T[f"analytics.sla.by.{by}"], value=by, id=f"sla-tab-{by}")
                           for by, _ in tabs], size="1"),
            *[rx.tabs.content(_sla_table(rows, f"table-sla-{by}"), value=by) for by, rows in tabs],
            default_value="team", width="100%"),
        spacing="2", width="100%"), class_name="analytics-table", width="100%", id="table-sla")


def _sla() -> rx.Component:
    """The SLA section: a card per target, the breaches per day and the tables; how to start without a clock."""
    return rx.vstack(
        _tip(rx.heading(T["analytics.sla.title"], size="4"), T["analytics.sla.tip.section"]),
        rx.cond(
            S.sla_clocks,
            rx.vstack(
                rx.box(rx.foreach(S.sla_cards, _sla_card), class_name="analytics-grid", width="100%", id="sla-cards"),
                rx.box(_chart("analytics.sla.chart", S.fig_sla, "chart-sla", "analytics.sla.tip.chart"),
                       rx.cond(S.mine, rx.fragment(), _sla_tables()), class_name="analytics-charts", width="100%"),
                spacing="3", width="100%"),
            rx.card(empty_state("timer", "analytics.sla.empty", "analytics.sla.empty_title", empty_id="sla-empty",
                                compact=True), width="100%")),
        spacing="3", width="100%", id="analytics-sla")


def _timeline() -> rx.Component:
    def event(e) -> rx.Component:
        return rx.hstack(
            rx.text(e["at"], rx.cond(e["until"] != "", " – " + e["until"], ""), size="2", weight="medium",
                    min_width="110px", font_variant_numeric="tabular-nums"),
            rx.badge(e["label"], color_scheme=rx.match(e["kind"], ("online", "teal"), ("away", "amber"),
                                                        ("close", "gray"), ("first_response", "violet"), "blue")),
            rx.cond(e["conversation"] != "", rx.text("#", e["conversation"], size="1", color_scheme="gray")),
            spacing="3", align="center")

    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(T["analytics.timeline"], ": ", S.timeline_name),
        rx.input(type="date", value=S.timeline_day, on_change=S.set_timeline_day, id="timeline-day",
                 max_width="200px"),
        rx.cond(S.timeline_rows.length() > 0,
                rx.scroll_area(rx.vstack(rx.foreach(S.timeline_rows, event), spacing="2", padding_top="12px"),
                               max_height="60vh", type="auto"),
                rx.text(T["analytics.timeline.empty"], size="2", color_scheme="gray", padding_top="12px")),
        rx.flex(rx.dialog.close(rx.button(T["analytics.close"], variant="soft", color_scheme="gray")),
                justify="end", padding_top="12px"),
        max_width="560px", id="timeline-dialog"), open=S.timeline_open, on_open_change=S.set_timeline_open)


def _body() -> rx.Component:
    return rx.vstack(
        # Mounted again whenever the tab's language changes: the rows and charts are rebuilt in it. The key sits on
        # the outer box, because Reflex puts an element's own key inside the memoized wrapper that holds its
        # on_mount, which then never mounts again; the inner box is a child of the keyed one, so it does.
        rx.box(rx.box(on_mount=S.relabel), key=S.lang, display="none"),
        _filters(),
        rx.text(S.period_text, size="2", color_scheme="gray", id="analytics-period-text"),
        rx.cond(S.is_empty & S.analytics_loaded,
                rx.card(empty_state("chart-column", "analytics.empty", "analytics.empty_title",
                                    empty_id="analytics-empty"), width="100%")),
        rx.box(rx.foreach(S.cards, _card), class_name="analytics-grid", width="100%", id="analytics-cards"),
        rx.text(T["analytics.chart.click"], size="1", color_scheme="gray", class_name="analytics-noprint"),
        rx.box(
            *[_chart(*chart) for chart in CHARTS],
            _failed(),
            class_name="analytics-charts", width="100%"),
        _table("analytics.table.attendants", S.attendant_rows, "table-attendants", clickable=True),
        _timeline(),
        rx.cond(S.mine, rx.fragment(), rx.fragment(
            _table("analytics.table.teams", S.team_rows, "table-teams"),
            _table("analytics.table.numbers", S.number_rows, "table-numbers"))),
        rx.cond(S.analytics_loaded, _sla()),
        rx.el.style(PRINT_CSS),
        spacing="4", width="100%", max_width="1400px", margin="0 auto",
    )


@app_page("/analytics", "Painel executivo · Atende CRM", on_load=[S.load])
def analytics_page() -> rx.Component:
    return shell(T["analytics.title"], "/analytics", _body())


@app_page("/analytics/me", "Meus números · Atende CRM", on_load=[S.load_mine])
def analytics_me_page() -> rx.Component:
    return shell(T["analytics.me_title"], "/analytics/me", _body())
