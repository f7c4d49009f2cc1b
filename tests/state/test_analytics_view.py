"""The analytics page's rows and charts in each language: number marks, averages, first-contact resolution, an
empty staffing chart's axis."""

import datetime as dt

import reflex as rx

import pages  # noqa: F401  (registers every page and its states)
from crm_app.services.analytics import breakdowns, csat, dashboard, timings
from crm_app.state.analytics import AnalyticsState


def _board() -> dashboard.Dashboard:
    board = dashboard.Dashboard(dt.date(2026, 11, 1), dt.date(2026, 11, 7), empty=False)
    board.cards = [dashboard.Card("opened", "count", 12345, 10000),
                   dashboard.Card("first_contact", "rate", 0.125, 0.1),
                   dashboard.Card("containment", "rate", 0.0, 0.0),
                   dashboard.Card("frt", "duration", 300, 600, business=120, p90=3600, avg=900),
                   dashboard.Card("csat", "score", 4.333, 4.0)]
    board.attendants = [breakdowns.BreakdownRow(7, "Ana", handled=1500, messages_sent=2500, first_contact=1125,
                                             frt=timings.Duration(3, 90, 60, 120), online_hours=1234.5,
                                             busy_share=0.4)]
    board.staffing = [{"hour": h, "inbound": 0.0, "online": 0.0} for h in range(24)]
    board.csat_by = {"attendant": {7: csat.CsatCounts()}}
    return board


def _state(lang: str) -> AnalyticsState:
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(AnalyticsState.get_full_name().split(".")[1:])
    state.lang = lang
    state._show(_board())
    return state


def test_portuguese_numbers_rates_and_averages():
    s = _state("pt-BR")
    cards = {c["key"]: c for c in s.cards}
    assert (cards["opened"]["value"], cards["opened"]["delta"]) == ("12.345", "+23%")
    assert (cards["first_contact"]["value"], cards["first_contact"]["delta"]) == ("12,5%", "+2,5 p.p.")
    assert cards["first_contact"]["label"] == "Resolvidas no primeiro contato"
    assert cards["containment"]["value"] == "0,0%" and cards["csat"]["value"] == "4,33"
    assert (cards["frt"]["value"], cards["frt"]["p90"], cards["frt"]["avg"]) == ("5 min", "1 h 00", "15 min")
    (row,) = s.attendant_rows
    assert (row["handled"], row["sent"], row["fcr"], row["online"], row["busy"]) == (
        "1.500", "2.500", "75,0%", "1.234,5", "40%")
    assert row["frt"] == "1 min / 2 min / 1 min"  # median / p90 / average
    assert s.fig_volume.layout.separators == ",."


def test_english_numbers_and_an_empty_staffing_chart_in_whole_steps():
    s = _state("en")
    cards = {c["key"]: c for c in s.cards}
    assert (cards["opened"]["value"], cards["first_contact"]["value"], cards["first_contact"]["delta"]) == (
        "12,345", "12.5%", "+2.5 pp")
    (row,) = s.attendant_rows
    assert (row["handled"], row["online"]) == ("1,500", "1,234.5")
    staffing = s.fig_staffing.layout
    assert staffing.separators == ".," and staffing.yaxis.dtick == 1 and tuple(staffing.yaxis.range) == (0, 1)
    assert staffing.yaxis2.dtick == 1


def test_every_card_chart_and_column_has_its_definition_in_both_languages():
    from crm_app.i18n import CATALOGUES
    from pages import analytics as page

    keys = [f"analytics.tip.{key}" for key, _, _ in dashboard.CARDS] + ["analytics.tip.csat",
                                                                        "analytics.tip.csat_response"]
    keys += list(page.COLUMNS.values()) + [f"analytics.col.{k}" for k in page.COLUMNS]
    keys += [tip for _, _, _, tip, _ in page.CHARTS] + ["analytics.tip.failed_chart"]
    for lang, strings in CATALOGUES.items():
        assert [k for k in keys if k not in strings] == [], lang
    assert len(page.CHARTS) == 6


def _sla_board() -> dashboard.Dashboard:
    from crm_app.services.analytics import sla

    board = _board()
    board.sla_clocks = True
    day = dt.date(2026, 11, 1)
    counts = {**{t: sla.SlaCounts() for t in sla.TARGETS}, "all": sla.SlaCounts(7, 1)}
    counts["first_response"] = sla.SlaCounts(7, 1)
    board.sla_report = sla.SlaReport(totals=counts, days=[(day, counts)],
                                     previous={t: sla.SlaCounts(1, 1) for t in (*sla.TARGETS, "all")})
    board.sla_by = {"team": [sla.SlaGroup(3, "Vendas", counts)]}
    return board


def test_the_sla_cards_rows_and_breaches_chart_in_both_languages():
    for lang, attainment, delta, detail, cell, series in (
            ("pt-BR", "87,5%", "+37,5 p.p.", "7 no prazo · 1 fora do prazo", "87,5% · 7/8", "1ª resposta"),
            ("en", "87.5%", "+37.5 pp", "7 on time · 1 missed", "87.5% · 7/8", "First response")):
        s = _state(lang)
        s._show_sla(_sla_board())
        cards = {c["key"]: c for c in s.sla_cards}
        first = cards["sla_first_response"]
        assert (first["value"], first["delta"], first["detail"]) == (attainment, delta, detail)
        assert "hit / (hit + missed)" in first["tip"] or "no prazo / (no prazo + estourados)" in first["tip"]
        assert cards["sla_resolution"]["value"] == "—"  # nothing decided
        (row,) = s.sla_team_rows
        assert (row["name"], row["first_response"], row["next_response"], row["breaches"]) == (
            "Vendas", cell, "—", "1")
        assert s.sla_attendant_rows == [] and s.sla_days[0]["first_response"] == "1"
        figure = s.fig_sla
        assert figure.data[0].name == series and list(figure.data[0].y) == [1] and figure.layout.barmode == "stack"


def test_every_sla_card_chart_and_column_has_its_definition_in_both_languages():
    from crm_app.i18n import CATALOGUES
    from crm_app.services.analytics import sla
    from pages import analytics as page

    keys = [k for pair in page.SLA_COLUMNS.values() for k in pair]
    keys += [f"analytics.sla.{kind}.{t}" for t in sla.TARGETS for kind in ("card", "tip", "series")]
    keys += ["analytics.sla.tip.chart", "analytics.sla.tip.section", "analytics.sla.empty", "analytics.sla.detail"]
    for lang, strings in CATALOGUES.items():
        assert [k for k in keys if k not in strings] == [], lang
