"""The flow editor's state: node edits change the draft the way the form promises, and the map follows."""

import reflex as rx

from crm_app.domain import flows
from crm_app.domain.flows import layout as fl
from crm_app.state.settings_bot import NEW, BotSettingsState


def _state() -> BotSettingsState:
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(BotSettingsState.get_full_name().split(".")[1:])
    state._flow = flows.empty_flow()
    state._flow.setdefault("nodes", {})
    return state


def _do(state, handler, *args):
    """Run a handler; database-backed parts (the test chat) fail harmlessly without a login."""
    return getattr(BotSettingsState, handler).fn(state, *args)


def test_building_a_menu_flow_with_the_form():
    s = _state()
    _do(s, "add_node", "message")
    assert s._flow["start"] == "mensagem_1" and s.sel_id == "mensagem_1"
    _do(s, "set_field", "text", "Olá")
    _do(s, "set_field", "next", NEW)
    assert s._flow["nodes"]["mensagem_1"]["next"] == "mensagem_2"
    _do(s, "select_node", "mensagem_2")
    _do(s, "change_type", "menu")
    _do(s, "add_option")
    _do(s, "set_option", 0, "label", "Reservas")
    _do(s, "set_option", 0, "keywords", "reserva,  quarto ,")
    _do(s, "set_option", 0, "next", NEW)
    menu = s._flow["nodes"]["mensagem_2"]
    assert menu["type"] == "menu"
    assert menu["options"][0] == {"id": "o1", "label": "Reservas", "keywords": ["reserva", "quarto"],
                                  "next": "mensagem_3"}
    assert [c["id"] for c in s.map_cards] == ["mensagem_1", "mensagem_2", "mensagem_3"]
    assert [c["left"] for c in s.map_cards] == ["16px", f"{16 + fl.CARD_W + fl.GAP_X}px",
                                                f"{16 + 2 * (fl.CARD_W + fl.GAP_X)}px"]
    assert {e["label"] for e in s.map_edges} >= {"próximo", "Reservas"}
    assert s.sel_options[0]["keywords"] == "reserva,  quarto ,"  # what was typed stays while it means the same
    _do(s, "set_option", 0, "keywords", "reserva,")
    assert s.sel_options[0]["keywords"] == "reserva," and menu["options"][0]["keywords"] == ["reserva"]
    definition = s._definition()
    assert "on_fail" not in definition["nodes"]["mensagem_2"]  # empty targets are not stored as ""


def test_rename_and_delete_keep_links_consistent():
    s = _state()
    _do(s, "add_node", "message")
    _do(s, "set_field", "next", NEW)
    _do(s, "set_rename", "boas_vindas")
    _do(s, "rename_node")
    assert s._flow["start"] == "boas_vindas" and "mensagem_1" not in s._flow["nodes"]
    _do(s, "set_rename", "Com Espaço")
    _do(s, "select_node", "mensagem_2")
    _do(s, "set_rename", "boas_vindas")
    _do(s, "rename_node")
    assert s.rename_error  # taken
    _do(s, "ask_delete")
    assert s.delete_links == "boas_vindas"
    _do(s, "confirm_delete")
    assert "mensagem_2" not in s._flow["nodes"] and s._flow["nodes"]["boas_vindas"]["next"] == ""


def test_problems_come_from_the_domain_validator_in_plain_words():
    s = _state()
    _do(s, "add_node", "message")
    _do(s, "set_field", "text", "Oi")
    _do(s, "add_node", "close")
    _do(s, "validate")
    codes = {p["code"] for p in s.problems}
    assert "unreachable" in codes
    lonely = next(c for c in s.map_cards if c["id"] == "encerrar_1")
    assert lonely["problem"].startswith("Nenhum caminho")
    texts = " ".join(p["text"] for p in s.problems)
    assert "Falta escolher para onde ir em: “Depois, ir para”" in texts  # the message has no next step
    assert "the text is empty" not in texts and "Incompleto: escreva o texto da mensagem." not in texts
    _do(s, "select_node", "encerrar_1")
    assert s.sel_problems[0].startswith("Nenhum caminho")  # the most telling problem first
    s.lang = "en"
    _do(s, "validate")
    assert any(p["text"].startswith("No path leads") for p in s.problems)


def test_the_json_box_says_why_it_refuses_and_otherwise_replaces_the_draft():
    s = _state()
    s.json_open = True
    _do(s, "set_json_text", "{nope")
    _do(s, "apply_json")
    bad = s.json_error
    _do(s, "set_json_text", '{"start": "a"}')
    _do(s, "apply_json")
    assert bad and s.json_error and s.json_error != bad and s.json_open
    _do(s, "set_json_text", '{"start": "fim", "nodes": {"fim": {"type": "close"}}}')
    _do(s, "apply_json")
    assert not s.json_open and s.json_error == "" and s.sel_id == "fim" and s.dirty
    assert s._flow["nodes"]["fim"] == {"type": "close", "text": ""} and [c["id"] for c in s.map_cards] == ["fim"]
