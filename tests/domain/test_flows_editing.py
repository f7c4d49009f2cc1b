"""The editor's operations on a draft: each changes the flow the way the form promises, and nothing else."""

from __future__ import annotations

import pytest

from crm_app.domain import flows
from crm_app.domain.flows import editing
from crm_app.domain.flows.editing import NEW_TARGET, NO_TARGET

PREFIXES = {"message": "mensagem", "menu": "menu", "close": "encerrar"}


def draft() -> dict:
    return editing.normalise_flow(flows.empty_flow())


def test_blank_nodes_have_every_field_the_form_shows():
    assert editing.blank_node("menu") == {"type": "menu", "text": "", "style": "text", "button_label": "",
                                          "options": [], "retry_text": "", "max_retries": 2, "on_fail": ""}
    one, two = editing.blank_node("condition"), editing.blank_node("condition")
    one["rules"].append({})
    assert two["rules"] == []  # never shared


def test_normalise_fills_nodes_and_the_top_level_keys():
    flow = editing.normalise_flow({"nodes": {"a": {"type": "message", "text": "Oi"}, "b": {"type": "weird"}}})
    assert flow["nodes"]["a"] == {"type": "message", "text": "Oi", "next": ""}
    assert flow["nodes"]["b"] == {"type": "weird"}  # unknown types are left for the validator
    assert flow["start"] == "a" and flow["triggers"] == {"new_conversation": True, "keywords": []}
    assert flow["settings"] == {} and flow["layout"] == {}


def test_adding_nodes_names_them_in_the_admins_words_and_the_first_becomes_start():
    flow = draft()
    assert editing.add_node(flow, "message", PREFIXES) == "mensagem_1"
    assert editing.add_node(flow, "message", PREFIXES) == "mensagem_2"
    assert editing.add_node(flow, "ai", PREFIXES) == "ai_1"  # no prefix: the kind's own name
    assert editing.add_node(flow, "nope", PREFIXES) is None
    assert flow["start"] == "mensagem_1" and list(flow["nodes"]) == ["mensagem_1", "mensagem_2", "ai_1"]


def test_a_new_target_creates_a_message_node_and_none_clears_it():
    flow = draft()
    editing.add_node(flow, "collect", PREFIXES)
    assert editing.set_node_field(flow, "collect_1", "next", NEW_TARGET, PREFIXES)
    assert flow["nodes"]["collect_1"]["next"] == "mensagem_1" and "mensagem_1" in flow["nodes"]
    assert editing.set_node_field(flow, "collect_1", "on_fail", NO_TARGET, PREFIXES)
    assert flow["nodes"]["collect_1"]["on_fail"] == ""


def test_set_node_field_converts_numbers_and_teams_and_refuses_unknown_fields():
    flow = draft()
    editing.add_node(flow, "menu", PREFIXES)
    editing.add_node(flow, "handoff", PREFIXES)
    assert editing.set_node_field(flow, "menu_1", "max_retries", " 3 ", PREFIXES)
    assert flow["nodes"]["menu_1"]["max_retries"] == 3
    editing.set_node_field(flow, "menu_1", "max_retries", "x", PREFIXES)
    assert flow["nodes"]["menu_1"]["max_retries"] is None
    editing.set_node_field(flow, "handoff_1", "team_id", "7", PREFIXES)
    assert flow["nodes"]["handoff_1"]["team_id"] == 7
    editing.set_node_field(flow, "handoff_1", "team_id", NO_TARGET, PREFIXES)
    assert flow["nodes"]["handoff_1"]["team_id"] is None
    assert not editing.set_node_field(flow, "menu_1", "type", "close", PREFIXES)
    assert not editing.set_node_field(flow, "ghost", "text", "x", PREFIXES)


def test_change_type_keeps_the_text_and_duplicate_copies_under_a_new_id():
    flow = draft()
    editing.add_node(flow, "message", PREFIXES)
    editing.set_node_field(flow, "mensagem_1", "text", "Olá", PREFIXES)
    assert editing.change_type(flow, "mensagem_1", "menu")
    assert flow["nodes"]["mensagem_1"]["type"] == "menu" and flow["nodes"]["mensagem_1"]["text"] == "Olá"
    assert not editing.change_type(flow, "mensagem_1", "menu")  # already one
    assert not editing.change_type(flow, "mensagem_1", "nope")
    assert editing.duplicate_node(flow, "mensagem_1", PREFIXES) == "menu_1"
    assert flow["nodes"]["menu_1"] == flow["nodes"]["mensagem_1"]
    assert flow["nodes"]["menu_1"] is not flow["nodes"]["mensagem_1"]
    assert editing.duplicate_node(flow, "ghost", PREFIXES) is None


def test_rename_moves_every_link_trigger_layout_and_the_start():
    flow = draft()
    editing.add_node(flow, "menu", PREFIXES)
    editing.add_option(flow, "menu_1")
    editing.set_option(flow, "menu_1", 0, "next", "menu_1", PREFIXES)
    editing.add_trigger(flow)
    flow["layout"]["menu_1"] = {"x": 1}
    assert editing.rename_node(flow, "menu_1", "  Inicio ") == "inicio"
    assert flow["start"] == "inicio" and list(flow["nodes"]) == ["inicio"]
    assert flow["nodes"]["inicio"]["options"][0]["next"] == "inicio"
    assert flow["triggers"]["keywords"][0]["node"] == "inicio" and flow["layout"] == {"inicio": {"x": 1}}
    assert editing.rename_node(flow, "inicio", "inicio") is None


@pytest.mark.parametrize(("typed", "reason"), [("com espaço", "bad"), ("", "bad"), ("x" * 41, "bad"),
                                               ("outro", "taken")])
def test_rename_refuses_bad_and_taken_ids(typed, reason):
    flow = draft()
    editing.add_node(flow, "message", PREFIXES)
    flow["nodes"]["outro"] = editing.blank_node("close")
    with pytest.raises(editing.InvalidNodeId) as refused:
        editing.rename_node(flow, "mensagem_1", typed)
    assert refused.value.reason == reason and "mensagem_1" in flow["nodes"]


def test_delete_empties_links_into_the_node_and_moves_the_start():
    flow = draft()
    editing.add_node(flow, "message", PREFIXES)
    editing.set_node_field(flow, "mensagem_1", "next", NEW_TARGET, PREFIXES)
    editing.set_node_field(flow, "mensagem_2", "next", "mensagem_1", PREFIXES)
    flow["layout"]["mensagem_1"] = {"x": 1}
    assert editing.delete_node(flow, "mensagem_1")
    assert flow["start"] == "" and flow["nodes"]["mensagem_2"]["next"] == ""  # the validator asks for one
    assert flow["layout"] == {}
    assert not editing.delete_node(flow, "mensagem_1")


def test_menu_options_get_free_ids_and_keywords_from_a_comma_list():
    flow = draft()
    editing.add_node(flow, "menu", PREFIXES)
    editing.add_option(flow, "menu_1")
    editing.add_option(flow, "menu_1")
    assert [o["id"] for o in flow["nodes"]["menu_1"]["options"]] == ["o1", "o2"]
    assert editing.remove_row(flow, "menu_1", "options", 0)
    editing.add_option(flow, "menu_1")
    assert [o["id"] for o in flow["nodes"]["menu_1"]["options"]] == ["o2", "o3"]
    assert editing.set_option(flow, "menu_1", 0, "keywords", " a, b ,,", PREFIXES)
    assert flow["nodes"]["menu_1"]["options"][0]["keywords"] == ["a", "b"]
    assert not editing.set_option(flow, "menu_1", 5, "label", "x", PREFIXES)
    assert not editing.remove_row(flow, "menu_1", "options", 5)
    assert not editing.add_option(flow, "ghost")


def test_condition_rules_change_kind_keeping_their_target():
    flow = draft()
    editing.add_node(flow, "condition", PREFIXES)
    editing.add_rule(flow, "condition_1")
    editing.set_rule(flow, "condition_1", 0, "next", NEW_TARGET, PREFIXES)
    editing.set_rule(flow, "condition_1", 0, "value", "oi", PREFIXES)
    editing.set_rule(flow, "condition_1", 0, "kind", "attribute", PREFIXES)
    assert flow["nodes"]["condition_1"]["rules"][0] == {"kind": "attribute", "next": "mensagem_1",
                                                        "attribute": "", "op": "eq", "value": "oi"}
    editing.set_rule(flow, "condition_1", 0, "kind", "business_hours", PREFIXES)
    editing.set_rule(flow, "condition_1", 0, "team_id", "4", PREFIXES)
    assert flow["nodes"]["condition_1"]["rules"][0] == {"kind": "business_hours", "next": "mensagem_1",
                                                        "team_id": 4}
    assert editing.rule_of_kind("odd", {"kind": "regex", "value": "x"}) == {"kind": "regex", "value": "x"}


def test_settings_and_triggers_from_the_forms_strings():
    flow = editing.normalise_flow({"nodes": {}})
    assert editing.set_setting(flow, "exit_keywords", "humano, gerente,")
    assert editing.set_setting(flow, "inactivity_minutes", "15")
    assert editing.set_setting(flow, "debounce_seconds", "")
    assert editing.set_setting(flow, "out_of_hours_text", "")
    assert editing.set_setting(flow, "fallback_text", "")
    assert not editing.set_setting(flow, "ai_fail_text", "x")
    assert flow["settings"] == {"exit_keywords": ["humano", "gerente"], "inactivity_minutes": 15,
                                "debounce_seconds": None, "out_of_hours_text": None, "fallback_text": ""}
    editing.add_node(flow, "message", PREFIXES)
    editing.add_trigger(flow)
    assert flow["triggers"]["keywords"] == [{"keyword": "", "node": "mensagem_1"}]
    assert editing.set_trigger(flow, 0, "node", NEW_TARGET, PREFIXES)
    assert flow["triggers"]["keywords"][0]["node"] == "mensagem_2"
    assert not editing.set_trigger(flow, 0, "other", "x", PREFIXES)
    assert not editing.set_trigger(flow, 3, "keyword", "x", PREFIXES)
    editing.set_new_conversation(flow, False)
    assert flow["triggers"]["new_conversation"] is False
    assert editing.remove_trigger(flow, 0) and not editing.remove_trigger(flow, 0)


def test_the_stored_draft_drops_empty_targets():
    flow = draft()
    editing.add_node(flow, "menu", PREFIXES)
    editing.add_option(flow, "menu_1")
    stored = editing.stored_flow(flow)
    assert "on_fail" not in stored["nodes"]["menu_1"] and "next" not in stored["nodes"]["menu_1"]["options"][0]
    assert stored is not flow and flow["nodes"]["menu_1"]["on_fail"] == ""


def test_draft_from_json_says_why_it_refuses():
    assert editing.draft_from_json('{"nodes": {"a": {"type": "close"}}}')["nodes"]["a"] == {"type": "close",
                                                                                           "text": ""}
    with pytest.raises(editing.DraftShapeError):
        editing.draft_from_json('{"start": "a"}')
    with pytest.raises(ValueError, match="Expecting"):
        editing.draft_from_json("{nope")
