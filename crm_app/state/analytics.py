"""/analytics and /analytics/me: filters kept in the URL, the cards, plotly charts, tables and click-through.

The handlers read the filters, call one read model (`analytics.dashboard`) and keep plain rows; the charts are
computed vars over those rows and the language the rows were built in (`chart_lang`), never over a var of
`SessionState` (see its docstring: that would load this state, figures and all, on every inbox push).
Who sees what is decided by the service (executives and admins: the tenant; supervisors: their teams;
attendants: themselves), never here.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

import plotly.graph_objects as go
import reflex as rx

from crm_app.domain import numfmt
from crm_app.errors import ValidationError
from crm_app.i18n import translate
from crm_app.services import call, exports
from crm_app.services.analytics import breakdowns, clickthrough, criteria, csat, dashboard, sla, timeline, timings
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState

READERS = ("admin", "executive", "supervisor", "attendant")
PERIODS = ("today", "7d", "30d", "90d", "365d", "custom")
FILTERS = ("team", "number", "label", "attendant")
ACCENT, GRAY, VIOLET = "#12a594", "#8b8d98", "#8e4ec6"
SLA_COLORS = {"first_response": "#e5484d", "next_response": "#f76b15", "resolution": "#8e4ec6"}


def duration_text(seconds: float | None) -> str:
    """A duration for people: "—", "45 s", "12 min", "3 h 05", "2 d 4 h"."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d}"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def _value_text(kind: str, value: float | None, lang: str) -> str:
    if kind == "score":
        return "—" if value is None else numfmt.format_number(value, lang, 2)
    if kind == "duration":
        return duration_text(value)
    if kind == "rate":
        return numfmt.format_percent(value, lang)
    return numfmt.format_number(int(value or 0), lang)


def _delta(kind: str, value: float | None, previous: float | None, lang: str) -> tuple[str, str]:
    """The change against the previous period, and its tone: "up", "down" or "flat"."""
    if value is None or previous is None or (previous == 0 and kind != "rate"):
        return "", "flat"
    if kind == "rate":
        points = round((value - previous) * 100, 1)
        text = numfmt.format_change(points, lang, 1, " " + translate(lang, "analytics.points"))
        return text, "up" if points > 0 else "down" if points < 0 else "flat"
    if kind == "score":
        change = round(value - previous, 2)
        return numfmt.format_change(change, lang, 2), "up" if change > 0 else "down" if change < 0 else "flat"
    change = round((value - previous) / previous * 100)
    return numfmt.format_change(change, lang, 0, "%"), "up" if change > 0 else "down" if change < 0 else "flat"


def _durations_text(stats: timings.Duration) -> str:
    """A table cell: median / p90 / average."""
    return " / ".join(duration_text(v) for v in (stats.median, stats.p90, stats.avg))


def _pairs(rows: list[tuple[int, str]]) -> list[list[str]]:
    return [[str(i), name] for i, name in rows]


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None


class AnalyticsState(SessionState):
    """The page's filters and its figures as plain rows."""

    mine: bool = False
    period: str = "7d"
    since: str = ""
    until: str = ""
    team: str = ""
    number: str = ""
    label: str = ""
    attendant: str = ""
    analytics_loaded: bool = False
    is_empty: bool = True
    period_text: str = ""
    cards: list[dict[str, str]] = []
    days: list[dict[str, str]] = []
    heat: list[list[int]] = []
    staffing: list[dict[str, float]] = []
    buckets: list[dict[str, str]] = []
    reasons: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    attendant_rows: list[dict[str, str]] = []
    team_rows: list[dict[str, str]] = []
    number_rows: list[dict[str, str]] = []
    csat_spread: list[int] = [0, 0, 0, 0, 0]
    sla_clocks: bool = False  # whether the tenant has any SLA clock (else the section says how to start)
    sla_cards: list[dict[str, str]] = []
    sla_days: list[dict[str, str]] = []
    sla_team_rows: list[dict[str, str]] = []
    sla_attendant_rows: list[dict[str, str]] = []
    sla_number_rows: list[dict[str, str]] = []
    team_options: list[list[str]] = []
    number_options: list[list[str]] = []
    label_options: list[list[str]] = []
    attendant_options: list[list[str]] = []
    timeline_open: bool = False
    timeline_user: str = ""
    timeline_name: str = ""
    timeline_day: str = ""
    timeline_rows: list[dict[str, str]] = []
    chart_lang: str = ""  # the language the rows and charts were built in

    @rx.event
    @toast_errors
    def load(self):
        """on_load of /analytics: the filters from the URL, then the figures (the role is checked again)."""
        self.mine = False
        return self._load_from_url()

    @rx.event
    @toast_errors
    def load_mine(self):
        """on_load of /analytics/me: the user's own figures."""
        self.mine = True
        return self._load_from_url()

    def _load_from_url(self):
        params = self.router.page.params
        period = str(params.get("period") or "7d")
        self.period = period if period in PERIODS else "7d"
        self.since, self.until = str(params.get("since") or "")[:10], str(params.get("until") or "")[:10]
        for name in FILTERS:
            value = str(params.get(name) or "")
            setattr(self, name, value if value.isdigit() else "")
        self._refresh()

    def _filters(self, actor) -> criteria.Filters:
        today = call(criteria.today_for, actor.tenant_id)
        since, until = criteria.period(self.period, today, self.since, self.until)
        attendant = actor.user_id if self.mine else _int_or_none(self.attendant)
        return criteria.Filters(since, until, team_id=_int_or_none(self.team), inbox_id=_int_or_none(self.number),
                               label_id=_int_or_none(self.label), attendant_id=attendant)

    def _refresh(self) -> None:
        actor = self._require(*READERS)
        filters = self._filters(actor)
        board = call(dashboard.dashboard, actor=actor, filters=filters)
        self._show(board)
        options = call(dashboard.choices, actor=actor)
        self.team_options, self.number_options = _pairs(options.teams), _pairs(options.inboxes)
        self.label_options, self.attendant_options = _pairs(options.labels), _pairs(options.attendants)
        self.analytics_loaded = True

    def _show(self, board: dashboard.Dashboard) -> None:
        t, self.chart_lang = self.t, self.lang
        self.period_text = f"{board.since.strftime('%d/%m/%Y')} – {board.until.strftime('%d/%m/%Y')}"
        self.is_empty = board.empty
        self.cards = [self._card(c) for c in board.cards]
        self.days = [{"day": d["day"], "opened": str(d["opened"]), "closed": str(d["closed"])} for d in board.days]
        self.heat = board.heatmap
        self.staffing = board.staffing
        self.buckets = [{"bucket": b["bucket"], "count": str(b["count"])} for b in board.frt_buckets]
        self.reasons = [{"reason": t.get(f"assignment.reason.{r['reason']}", r["reason"]), "code": r["reason"],
                         "count": str(r["count"])} for r in board.handoff_reasons]
        self.failed = [{"reason": r["reason"], "count": str(r["count"])} for r in board.failed_by_reason]
        self.attendant_rows = [self._row(r, board.csat_by.get("attendant", {})) for r in board.attendants]
        self.team_rows = [self._row(r, board.csat_by.get("team", {})) for r in board.teams]
        self.number_rows = [self._row(r, board.csat_by.get("inbox", {})) for r in board.inboxes]
        self.csat_spread = list(board.csat_now.distribution)
        self._show_sla(board)

    def _show_sla(self, board: dashboard.Dashboard) -> None:
        """The SLA section: a card per target, the breaches per day and the rows per team, attendant and number."""
        lang, report = self.lang, board.sla_report
        self.sla_clocks = board.sla_clocks
        self.sla_cards = []
        for target in sla.TARGETS:
            now, before = report.totals[target], (report.previous or {}).get(target)
            delta, tone = _delta("rate", now.attainment, before.attainment if before else None, lang)
            self.sla_cards.append({
                "key": f"sla_{target}", "label": self.t[f"analytics.sla.card.{target}"],
                "tip": self.t[f"analytics.sla.tip.{target}"], "value": numfmt.format_percent(now.attainment, lang),
                "delta": delta, "tone": tone,
                "detail": self.t["analytics.sla.detail"].format(hit=numfmt.format_number(now.hit, lang),
                                                                missed=numfmt.format_number(now.missed, lang))})
        self.sla_days = [{"day": day.isoformat(), **{t: str(counts[t].missed) for t in sla.TARGETS}}
                         for day, counts in report.days]
        self.sla_team_rows = [self._sla_row(g) for g in board.sla_by.get("team", [])]
        self.sla_attendant_rows = [self._sla_row(g) for g in board.sla_by.get("attendant", [])]
        self.sla_number_rows = [self._sla_row(g) for g in board.sla_by.get("inbox", [])]

    def _sla_row(self, group: sla.SlaGroup) -> dict[str, str]:
        lang = self.lang

        def cell(counts: sla.SlaCounts) -> str:
            if not counts.decided:
                return "—"
            return f"{numfmt.format_percent(counts.attainment, lang)} · {counts.hit}/{counts.decided}"

        return {"id": str(group.id), "name": group.name, **{t: cell(group.targets[t]) for t in sla.TARGETS},
                "breaches": numfmt.format_number(group.targets["all"].missed, lang)}

    def _card(self, card: dashboard.Card) -> dict[str, str]:
        lang = self.lang
        delta, tone = _delta(card.kind, card.value, card.previous, lang)
        business = duration_text(card.business) if card.kind == "duration" and card.business is not None else ""
        return {"key": card.key, "label": self.t[f"analytics.card.{card.key}"],
                "tip": self.t[f"analytics.tip.{card.key}"], "value": _value_text(card.kind, card.value, lang),
                "delta": delta, "tone": tone, "business": business,
                "p90": duration_text(card.p90) if card.kind == "duration" else "",
                "avg": duration_text(card.avg) if card.kind == "duration" else ""}

    def _row(self, row: breakdowns.BreakdownRow, satisfaction: dict[int, csat.CsatCounts]) -> dict[str, str]:
        lang, rated = self.lang, satisfaction.get(row.id, csat.CsatCounts())
        return {"id": str(row.id), "name": row.name, "handled": numfmt.format_number(row.handled, lang),
                "fcr": numfmt.format_percent(row.first_contact / row.handled if row.handled else None, lang),
                "sent": numfmt.format_number(row.messages_sent, lang),
                "csat": _value_text("score", rated.average, lang),
                "csat_rate": _value_text("rate", rated.response_rate, lang) if rated.sent else "—",
                "csat_spread": " · ".join(str(n) for n in rated.distribution) if rated.answered else "—",
                "frt": _durations_text(row.frt), "resolution": _durations_text(row.resolution),
                "online": numfmt.format_number(row.online_hours, lang, 1),
                "busy": numfmt.format_percent(row.busy_share, lang, 0)}

    def _url(self) -> str:
        query = {"period": self.period}
        if self.period == "custom":
            query.update(since=self.since, until=self.until)
        query.update({name: getattr(self, name) for name in FILTERS if getattr(self, name)})
        return ("/analytics/me" if self.mine else "/analytics") + "?" + urllib.parse.urlencode(query)

    def _apply(self):
        self._refresh()
        return rx.call_script(f"window.history.replaceState(null, '', {self._url()!r})")

    @rx.event
    @toast_errors
    def relabel(self):
        """The tab's language changed (the page mounts a marker keyed by it): build the texts again."""
        if self.analytics_loaded and self.chart_lang != self.lang:
            self._refresh()

    @rx.event
    @toast_errors
    def set_period(self, value: str):
        """Choose a period; a custom one waits for its dates."""
        if value not in PERIODS:
            raise ValidationError("unknown period", field="period")
        self.period = value
        if value == "custom":
            today = dt.date.today()
            self.since = self.since or (today - dt.timedelta(days=29)).isoformat()
            self.until = self.until or today.isoformat()
        return self._apply()

    @rx.event
    def set_since(self, value: str):
        self.since = value[:10]

    @rx.event
    def set_until(self, value: str):
        self.until = value[:10]

    @rx.event
    @toast_errors
    def apply_dates(self):
        """Apply the custom dates."""
        return self._apply()

    @rx.event
    @toast_errors
    def set_filter(self, name: str, value: str):
        """Set one of team, number, label or attendant ("all" clears it)."""
        if name not in FILTERS or (value != "all" and not value.isdigit()):
            raise ValidationError("unknown filter", field=name)
        setattr(self, name, "" if value == "all" else value)
        return self._apply()

    @rx.event
    @toast_errors
    def export(self, kind: str, fmt: str):
        """Exportar: an export of the page's period and filters, then the exports list with its progress bar."""
        actor = self._require(*exports.EXPORTERS)
        if self.mine:
            raise ValidationError("your own figures are not exported", field="kind")
        call(exports.create_export, actor=actor, kind=kind, format=fmt, filters=self._filters(actor),
             lang=self.lang)
        return [rx.toast.success(self.t["exports.started"]), rx.redirect("/analytics/exports")]

    @rx.event
    @toast_errors
    def open_day(self, points: list[dict]):
        """A bar of the volume chart: the inbox with the conversations opened (or closed) that day."""
        if not points:
            return None
        point = points[0]
        metric = "closed" if int(point.get("curveNumber", 0) or 0) == 1 else "opened"
        return self._open(metric, day=str(point.get("x", ""))[:10])

    @rx.event
    @toast_errors
    def open_cell(self, points: list[dict]):
        """A cell of the heatmap: conversations whose customers wrote on that weekday and hour."""
        if not points:
            return None
        point = points[0]
        weekday = int(point.get("pointIndex", [0, 0])[0]) if isinstance(point.get("pointIndex"), list) else 0
        return self._open("inbound", weekday=weekday, hour=int(point.get("x", 0) or 0))

    @rx.event
    @toast_errors
    def open_bucket(self, points: list[dict]):
        """A bar of the FRT distribution: the conversations whose first response fell in that bucket."""
        if not points:
            return None
        return self._open("frt", bucket=str(points[0].get("x", "")))

    def _open(self, metric: str, **where):
        actor = self._require(*READERS)
        return rx.redirect(call(clickthrough.inbox_link, actor=actor, filters=self._filters(actor), metric=metric,
                                **where))

    @rx.event
    @toast_errors
    def open_timeline(self, user_id: str, name: str):
        """An attendant's row: their activity on the period's last day."""
        if not user_id.isdigit():
            raise ValidationError("unknown attendant", field="user_id")
        self.timeline_user, self.timeline_name = user_id, name[:120]
        actor = self._require(*READERS)
        self.timeline_day = self._filters(actor).until.isoformat()
        self._load_timeline(actor)
        self.timeline_open = True

    @rx.event
    @toast_errors
    def set_timeline_day(self, value: str):
        """Another day of the same attendant."""
        self.timeline_day = value[:10]
        self._load_timeline(self._require(*READERS))

    @rx.event
    def set_timeline_open(self, value: bool):
        self.timeline_open = bool(value)

    def _load_timeline(self, actor) -> None:
        try:
            day = dt.date.fromisoformat(self.timeline_day)
        except ValueError as exc:
            raise ValidationError("choose a day", field="day") from exc
        self.timeline_rows = []
        events = call(timeline.timeline, actor=actor, user_id=int(self.timeline_user), day=day)
        self.timeline_rows = [{"at": e.at.strftime("%H:%M"), "until": e.until.strftime("%H:%M") if e.until else "",
                               "kind": e.kind, "label": self.t[f"analytics.timeline.{e.kind}"],
                               "conversation": str(e.conversation_id or "")} for e in events]

    @rx.var(cache=True)
    def fig_volume(self) -> go.Figure:
        lang = self.chart_lang
        days = [d["day"] for d in self.days]
        fig = go.Figure([go.Bar(name=translate(lang, "analytics.series.opened"), x=days,
                                y=[int(d["opened"]) for d in self.days], marker_color=ACCENT),
                         go.Bar(name=translate(lang, "analytics.series.closed"), x=days,
                                y=[int(d["closed"]) for d in self.days], marker_color=GRAY)])
        top = max([int(d[k]) for d in self.days for k in ("opened", "closed")] or [0])
        # Days as dd/mm in both languages (plotly's own month names are English only).
        return _layout(fig, lang, barmode="group", xaxis={"tickformat": "%d/%m"}, yaxis=_counts(top))

    @rx.var(cache=True)
    def fig_heatmap(self) -> go.Figure:
        lang = self.chart_lang
        names = [translate(lang, f"analytics.weekday.{i}") for i in range(7)]
        heat = self.heat or [[0] * 24 for _ in range(7)]
        top = max(1, max(max(row) for row in heat))  # an empty week is a pale grid from 0, not a scale around 0
        fig = go.Figure(go.Heatmap(z=heat, x=list(range(24)), y=names, colorscale="Teal", zmin=0, zmax=top,
                                   colorbar=_counts(top), hovertemplate="%{y} %{x}h: %{z}<extra></extra>"))
        return _layout(fig, lang, yaxis={"autorange": "reversed"})

    @rx.var(cache=True)
    def fig_staffing(self) -> go.Figure:
        lang = self.chart_lang
        hours = [row["hour"] for row in self.staffing]
        fig = go.Figure([go.Bar(name=translate(lang, "analytics.series.inbound"), x=hours,
                                y=[row["inbound"] for row in self.staffing], marker_color=ACCENT),
                         go.Scatter(name=translate(lang, "analytics.series.online"), x=hours, yaxis="y2",
                                    mode="lines+markers", y=[row["online"] for row in self.staffing],
                                    line={"color": VIOLET})])
        return _layout(fig, lang, yaxis=_averages([row["inbound"] for row in self.staffing]),
                       yaxis2={"overlaying": "y", "side": "right",
                               **_averages([row["online"] for row in self.staffing])})

    @rx.var(cache=True)
    def fig_frt(self) -> go.Figure:
        lang = self.chart_lang
        counts = [int(b["count"]) for b in self.buckets]
        fig = go.Figure(go.Bar(x=[b["bucket"] for b in self.buckets], y=counts,
                               marker_color=ACCENT, name=translate(lang, "analytics.series.first_responses")))
        return _layout(fig, lang, yaxis=_counts(max(counts or [0])))

    @rx.var(cache=True)
    def fig_csat(self) -> go.Figure:
        lang = self.chart_lang
        fig = go.Figure(go.Bar(x=[translate(lang, f"csat.survey.row.{n}") for n in range(1, 6)], y=self.csat_spread,
                               marker_color=ACCENT, name=translate(lang, "analytics.series.ratings")))
        return _layout(fig, lang, yaxis=_counts(max(self.csat_spread or [0])))

    @rx.var(cache=True)
    def fig_sla(self) -> go.Figure:
        lang = self.chart_lang
        days = [d["day"] for d in self.sla_days]
        fig = go.Figure([go.Bar(name=translate(lang, f"analytics.sla.series.{target}"), x=days,
                                y=[int(d[target]) for d in self.sla_days], marker_color=color)
                         for target, color in SLA_COLORS.items()])
        top = max([sum(int(d[t]) for t in SLA_COLORS) for d in self.sla_days] or [0])
        fig = _layout(fig, lang, barmode="stack", xaxis={"tickformat": "%d/%m"}, yaxis=_counts(top))
        return fig.update_layout(legend_traceorder="normal")  # the targets' order, not the stack's

    @rx.var(cache=True)
    def fig_reasons(self) -> go.Figure:
        rows = list(reversed(self.reasons))
        counts = [int(r["count"]) for r in rows]
        fig = go.Figure(go.Bar(y=[r["reason"] for r in rows], x=counts, orientation="h", marker_color=VIOLET))
        return _layout(fig, self.chart_lang, xaxis=_counts(max(counts or [0])))


def _counts(top: int) -> dict:
    """An axis (or colour bar) of counts: whole-number ticks, one per unit while the largest is small."""
    return {"tickformat": ",d", **({"dtick": 1} if top <= 5 else {})}


def _averages(values: list[float]) -> dict:
    """An axis of daily averages from 0: one decimal at most; with nothing to show, 0 to 1 in whole steps (not
    0,2-wide fractions of nothing)."""
    if not any(values):
        return {"range": [0, 1], "dtick": 1, "tickformat": ",d", "rangemode": "tozero"}
    return {"tickformat": ",.1~f", "rangemode": "tozero"}


def _layout(fig: go.Figure, lang: str, **extra) -> go.Figure:
    """The shared look, with the language's decimal mark and thousands separator on every axis and hover."""
    fig.update_layout(margin={"l": 40, "r": 16, "t": 8, "b": 32}, height=260, paper_bgcolor="rgba(0,0,0,0)",
                      separators=numfmt.separators(lang),
                      plot_bgcolor="rgba(0,0,0,0)", legend={"orientation": "h", "y": -0.2}, autosize=True,
                      font={"family": "system-ui, sans-serif", "size": 12}, **extra)
    return fig
