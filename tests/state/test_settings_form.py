"""The settings form's pure helpers: field text in and out, and pydantic's problems in the user's words."""

from crm_app.state.settings_form import draft_text, parse_draft, problem_text, shown_value


def test_field_text_round_trips_each_kind():
    assert draft_text("switch", True) == "true" and parse_draft("switch", "true") is True
    assert draft_text("multi", ["admin", "supervisor"]) == "admin, supervisor"
    assert parse_draft("multi", "admin, supervisor,") == ["admin", "supervisor"]
    assert draft_text("number", 15.0) == "15" and parse_draft("number", " 0,5 ") == "0.5"
    assert parse_draft("list", "a\nb, c") == ["a", "b", "c"]
    assert draft_text("text", None) == ""


def test_problems_are_worded_in_the_users_language_with_their_bounds():
    assert problem_text("pt-BR", {"type": "greater_than_equal", "ge": 5}, "x") == "Deve ser pelo menos 5."
    assert problem_text("en", {"type": "less_than_equal", "le": 1.0}, "x") == "Must be at most 1."
    assert problem_text("pt-BR", {"type": "value_error", "message": "the address is not allowed"}, "x") == \
        "the address is not allowed"
    assert problem_text("pt-BR", {}, "fallback") == "fallback"
    assert problem_text("pt-BR", {"type": "one_word", "message": "no spaces"}, "x").startswith("Sem espaços")
    assert problem_text("en", {"type": "one_word", "message": "no spaces"}, "x").startswith("No spaces")


def test_history_values_are_shown_plainly():
    assert shown_value('["admin", "supervisor"]') == "admin, supervisor"
    assert shown_value("true") == "✓" and shown_value('"gpt-4o"') == "gpt-4o" and shown_value("••••") == "••••"
