"""What the flow editor shows: problems in the admin's words, the map's cards and edges, the forms, the chat."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from crm_app.domain.flows import editing, editor_rows, layout
from crm_app.domain.flows.schema import FlowProblem
from crm_app.i18n import catalogue

T = catalogue("en")
TEAMS = [{"id": "4", "name": "Sales"}]


def flow() -> dict:
    return editing.normalise_flow({"start": "hi", "nodes": {
        "hi": {"type": "message", "text": "Hello", "next": "menu"},
        "menu": {"type": "menu", "text": "", "options": [{"id": "o1", "label": "Sales", "next": "sales"},
                                                         {"id": "o2", "label": "Back", "next": "hi"}]},
        "sales": {"type": "handoff", "team_id": 4},
        "lonely": {"type": "close", "text": "Bye"},
    }})


def test_problems_read_as_sentences_the_most_telling_first():
    rows = editor_rows.problem_rows(editor_rows.sorted_problems(flow()), T)
    by_node = editor_rows.problems_by_node(rows)
    assert by_node["lonely"] == [T["editor.problem.unreachable"]]
    assert by_node["menu"][0] == "Incomplete: write the message text."
    assert editor_rows.problem_text(FlowProblem("missing_target", "m", "options[1].next"), T) == (
        "Choose where to go for: option 2.")
    assert editor_rows.link_name("trigger 'oi'", T) == "trigger word “oi”"
    assert editor_rows.detail_text("reply buttons allow at most 3 options", T).startswith("buttons allow at most 3")
    assert editor_rows.detail_text("something new", T) == "something new"


def test_a_draft_too_broken_to_validate_shows_no_problems_instead_of_failing():
    assert editor_rows.sorted_problems({"start": "a", "nodes": {"a": {"type": "menu", "options": [1]}}}) == []


def test_the_map_places_cards_by_depth_and_draws_labelled_edges():
    view = editor_rows.map_view(flow(), T, TEAMS, "menu", {"lonely": ["unreachable!"]})
    cards = {c["id"]: c for c in view.cards}
    assert cards["hi"]["start"] == "1" and cards["menu"]["selected"] == "1"
    assert cards["menu"]["left"] == f"{layout.PAD + layout.CARD_W + layout.GAP_X}px"
    assert cards["menu"]["summary"] == "2 option(s)" and cards["sales"]["summary"] == "Sales"
    assert cards["lonely"]["problem"] == "unreachable!" and cards["hi"]["problem"] == ""
    assert cards["menu"]["color"] == "teal" and cards["menu"]["type_label"] == "Menu"
    assert {e["label"] for e in view.edges} >= {"Sales", "Back", T["editor.link.next"]}
    # "Back" loops to the start: the drawing grows to leave room for the arc below the cards.
    assert int(view.height[:-2]) > 2 * layout.PAD + layout.CARD_H


def test_the_forms_show_strings_and_keep_what_was_typed_while_it_means_the_same():
    draft = flow()
    draft["nodes"]["menu"]["options"][0]["keywords"] = ["a", "b"]
    form, options, rules = editor_rows.selected_form(draft, "menu", {"menu:0": "a,b,"})
    assert form["max_retries"] == "2" and form["is_start"] == "" and rules == []
    assert options[0] == {"id": "o1", "label": "Sales", "keywords": "a,b,", "next": "sales"}
    sales, _, _ = editor_rows.selected_form(draft, "sales", {})
    assert sales["team_id"] == "4"
    cfg, triggers = editor_rows.settings_form(draft, {"exit_keywords": "x"})
    assert cfg["new_conversation"] == "1" and cfg["handoff_team_id"] == editing.NO_TARGET and triggers == []
    assert editor_rows.csv_view("x", []) == "" and editor_rows.csv_view(None, ["a", "b"]) == "a, b"
    assert editor_rows.node_choices(draft, T)[1] == {"value": "menu", "label": "menu · Menu"}


@dataclass
class Line:
    kind: str
    text: str = ""
    node_id: str | None = None
    variables: dict = field(default_factory=dict)
    choices: list = field(default_factory=list)
    team_id: int | None = None
    reason: str = ""


def test_the_test_chat_rows_and_how_the_chat_ended():
    view = editor_rows.sim_view([
        Line("bot", "Pick", "menu", {}, [{"id": "menu:o1", "label": "Sales"}]),
        Line("customer", "Sales"),
        Line("handoff", "Calling sales", "sales", {"email": "a@b.c"}, team_id=4, reason="menu"),
    ], T, TEAMS)
    assert [(r.side, r.text) for r in view.rows] == [
        ("bot", "Pick"), ("customer", "Sales"), ("bot", "Calling sales"),
        ("event", "Handed off to Sales (reason: menu choice)")]
    assert view.rows[0].choices[0].id == "menu:o1" and view.ended == "handoff" and view.node == "sales"
    assert view.variables == [{"name": "email", "value": "a@b.c"}]


def test_versions_newest_first_in_the_admins_time_zone():
    @dataclass
    class Version:
        version: int
        published_at: dt.datetime
        published_by: str

    at = dt.datetime(2026, 1, 2, 15, 0, tzinfo=dt.UTC)
    rows = editor_rows.version_rows([Version(1, at, "Ana"), Version(2, at, "")], "America/Sao_Paulo")
    assert [(r["version"], r["by"]) for r in rows] == [("2", ""), ("1", "Ana")]
    assert "12:00" in rows[0]["at"]
