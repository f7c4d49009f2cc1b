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
