"""The flow interpreter and validator: pure, many small cases."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from crm_app.domain import flows
from crm_app.domain.flows import AddLabel, AskAI, Close, FlowContext, FlowState, Handoff, Send, SetAttribute

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def ctx(open_=True, **attributes) -> FlowContext:
    return FlowContext(now=NOW, attributes=attributes, is_open=lambda team_id: open_)


def hotel() -> dict:
    return {
        "start": "welcome",
        "nodes": {
            "welcome": {"type": "message", "text": "Olá! Bem-vindo ao Hotel.", "next": "menu"},
            "menu": {"type": "menu", "text": "Como podemos ajudar?", "style": "text",
                     "options": [{"id": "o1", "label": "Reservas", "keywords": ["reserva", "quarto"], "next": "email"},
                                 {"id": "o2", "label": "Dúvidas", "next": "ai"},
                                 {"id": "o3", "label": "Falar com atendente", "next": "human"}],
                     "retry_text": "Opção inválida. Responda com o número.", "max_retries": 2},
            "email": {"type": "collect", "text": "Qual o seu e-mail?", "kind": "email", "attribute": "email",
                      "retry_text": "E-mail inválido.", "max_retries": 1, "next": "vip"},
            "vip": {"type": "set", "attribute": "interesse", "value": "reserva", "label": "Reserva", "next": "hours"},
            "hours": {"type": "condition", "rules": [{"kind": "business_hours", "team_id": 3, "next": "human"}],
                      "else": "closed"},
            "ai": {"type": "ai", "text": "Pode perguntar!", "next": "menu"},
            "human": {"type": "handoff", "team_id": 3, "text": "Vou chamar alguém.", "reason": "menu"},
            "closed": {"type": "close", "text": "Estamos fechados. Até logo, {email}!"},
        },
        "triggers": {"new_conversation": True, "keywords": [{"keyword": "menu", "node": "menu"}]},
        "settings": {"max_retries": 2, "handoff_team_id": 9},
    }


def texts(step) -> list[str]:
    return [a.content["body"] for a in step.actions if isinstance(a, Send)]


def first_turn(definition=None, text="Oi", context=None):
    definition = definition or hotel()
    state = flows.start_session(definition, trigger="new_conversation", text=text)
    return flows.advance(definition, state, text=text, reply_id=None, ctx=context or ctx())


# ---- the interpreter -----------------------------------------------------------------------------------

def test_new_conversation_runs_until_the_menu_waits():
    step = first_turn()
    assert texts(step) == ["Olá! Bem-vindo ao Hotel.",
                           "Como podemos ajudar?\n\n1. Reservas\n2. Dúvidas\n3. Falar com atendente"]
    assert step.state.node_id == "menu" and step.state.entered and step.state.waiting_for_input


@pytest.mark.parametrize("answer", ["1", " 1 ", "1.", "Reservas", "RESERVAS", "réservas!", "quero um quarto",
                                    "opção 1"])
def test_menu_matches_number_label_and_keywords(answer):
    step = flows.advance(hotel(), first_turn().state, text=answer, reply_id=None, ctx=ctx())
    assert step.state.node_id == "email" and texts(step) == ["Qual o seu e-mail?"]


def test_menu_matches_accents_folded():
    step = flows.advance(hotel(), first_turn().state, text="duvidas", reply_id=None, ctx=ctx())
    assert step.state.node_id == "ai" and texts(step) == ["Pode perguntar!"]


def test_interactive_reply_id_matches_its_option():
    definition = hotel()
    definition["nodes"]["menu"]["style"] = "buttons"
    state = first_turn(definition).state
    step = flows.advance(definition, state, text="whatever", reply_id="menu:o3", ctx=ctx())
    assert step.actions[-1] == Handoff(3, "menu", "Vou chamar alguém.") and step.state.status == "handoff"


def test_a_tapped_option_wins_over_the_exit_word_in_its_title():
    """Option o1 is titled "Falar com atendente" but leads to the e-mail step: the tap is the answer."""
    definition = hotel()
    definition["nodes"]["menu"]["style"] = "buttons"
    definition["nodes"]["menu"]["options"][0]["label"] = "Falar com atendente"
    step = flows.advance(definition, first_turn(definition).state, text="Falar com atendente", reply_id="menu:o1",
                         ctx=ctx())
    assert texts(step) == ["Qual o seu e-mail?"] and step.state.node_id == "email"
    typed = flows.advance(definition, first_turn(definition).state, text="Falar com atendente", reply_id=None,
                          ctx=ctx())
    assert typed.actions == [Handoff(9, "exit_keyword")]  # typed, the same words still ask for a person


def test_buttons_and_list_content():
    definition = hotel()
    definition["nodes"]["menu"]["style"] = "buttons"
    assert first_turn(definition).actions[1].content == {
        "type": "buttons", "body": "Como podemos ajudar?",
        "buttons": [["menu:o1", "Reservas"], ["menu:o2", "Dúvidas"], ["menu:o3", "Falar com atendente"]]}
    definition["nodes"]["menu"].update(style="list", button_label="Ver opções")
    content = first_turn(definition).actions[1].content
    assert content["type"] == "list" and content["button_label"] == "Ver opções"
    assert [r["title"] for r in content["sections"][0]["rows"]] == ["Reservas", "Dúvidas", "Falar com atendente"]


def test_invalid_option_retries_then_hands_off_with_max_retries():
    definition, state = hotel(), first_turn().state
    for attempt in (1, 2):
        step = flows.advance(definition, state, text="banana", reply_id=None, ctx=ctx())
        assert texts(step)[0] == "Opção inválida. Responda com o número." and step.state.retries == attempt
        assert texts(step)[1].startswith("Como podemos ajudar?")  # the menu again
        state = step.state
    step = flows.advance(definition, state, text="banana", reply_id=None, ctx=ctx())
    assert step.actions == [Handoff(9, "max_retries")] and step.state.status == "handoff"


def test_on_fail_is_followed_instead_of_handoff():
    definition = hotel()
    definition["nodes"]["menu"].update(max_retries=0, on_fail="closed")
    step = flows.advance(definition, first_turn(definition).state, text="??", reply_id=None, ctx=ctx())
    assert isinstance(step.actions[-1], Close) and step.state.status == "closed"


def test_fallback_text_when_no_retry_text():
    definition = hotel()
    del definition["nodes"]["menu"]["retry_text"]
    step = flows.advance(definition, first_turn(definition).state, text="??", reply_id=None, ctx=ctx())
    assert texts(step)[0] == flows.DEFAULT_SETTINGS["fallback_text"]


@pytest.mark.parametrize("text", ["atendente", "quero falar com um ATENDENTE!", "Humano"])
def test_exit_keywords_hand_off_anywhere(text):
    step = flows.advance(hotel(), first_turn().state, text=text, reply_id=None, ctx=ctx())
    assert step.actions == [Handoff(9, "exit_keyword")]


def test_exit_keyword_is_a_word_not_a_substring():
    step = flows.advance(hotel(), first_turn().state, text="recursos humanos", reply_id=None, ctx=ctx())
    assert not any(isinstance(a, Handoff) for a in step.actions)


def test_keyword_trigger_restarts_at_its_node():
    state = flows.advance(hotel(), first_turn().state, text="1", reply_id=None, ctx=ctx()).state
    assert state.node_id == "email"
    step = flows.advance(hotel(), state, text="Menu", reply_id=None, ctx=ctx())
    assert step.state.node_id == "menu" and texts(step)[0].startswith("Como podemos ajudar?")


def test_collect_email_sets_the_attribute_and_condition_uses_business_hours():
    state = flows.advance(hotel(), first_turn().state, text="1", reply_id=None, ctx=ctx()).state
    step = flows.advance(hotel(), state, text="Maria@Example.com", reply_id=None, ctx=ctx(open_=True))
    assert SetAttribute("email", "maria@example.com") in step.actions
    assert SetAttribute("interesse", "reserva") in step.actions and AddLabel("Reserva") in step.actions
    assert step.actions[-1] == Handoff(3, "menu", "Vou chamar alguém.")
    closed = flows.advance(hotel(), state, text="maria@example.com", reply_id=None, ctx=ctx(open_=False))
    assert closed.actions[-1] == Close("Estamos fechados. Até logo, maria@example.com!")


def test_collect_invalid_then_on_fail_or_handoff():
    state = flows.advance(hotel(), first_turn().state, text="1", reply_id=None, ctx=ctx()).state
    step = flows.advance(hotel(), state, text="não tenho", reply_id=None, ctx=ctx())
    assert texts(step) == ["E-mail inválido."] and step.state.node_id == "email"
    step = flows.advance(hotel(), step.state, text="nope", reply_id=None, ctx=ctx())
    assert step.actions == [Handoff(9, "max_retries")]


@pytest.mark.parametrize(("kind", "raw", "value"), [
    ("email", "a.b@c.com.br", "a.b@c.com.br"), ("email", "a@b", None), ("email", "x y@z.com", None),
    ("cpf", "529.982.247-25", "529.982.247-25"), ("cpf", "52998224725", "529.982.247-25"),
    ("cpf", "529.982.247-24", None), ("cpf", "111.111.111-11", None), ("cpf", "1234", None),
    ("date", "05/07/2026", "05/07/2026"), ("date", "5/7/2026", "05/07/2026"), ("date", "31/02/2026", None),
    ("date", "2026-07-05", None), ("number", "42", "42"), ("number", "1.234,50", "1234.50"),
    ("number", "3,5", "3.5"), ("number", "abc", None), ("text", "  qualquer coisa ", "qualquer coisa"),
    ("text", "   ", None),
])
def test_parse_input(kind, raw, value):
    assert flows.parse_input(kind, raw) == value


def test_condition_rules_keyword_contains_regex_attribute():
    node = {"type": "condition", "rules": [
        {"kind": "keyword", "value": "cancelar", "next": "a"},
        {"kind": "contains", "value": "pix", "next": "b"},
        {"kind": "regex", "value": r"\d{5}-?\d{3}", "next": "c"},
        {"kind": "attribute", "attribute": "vip", "op": "eq", "value": "Sim", "next": "d"},
        {"kind": "attribute", "attribute": "plano", "op": "unset", "next": "e"}], "else": "z"}
    c = ctx()
    assert flows.evaluate_condition(node, "Quero CANCELAR", {}, c) == "a"
    assert flows.evaluate_condition(node, "paguei no píx", {}, c) == "b"
    assert flows.evaluate_condition(node, "cep 01310-100", {}, c) == "c"
    assert flows.evaluate_condition(node, "oi", {"vip": "sim", "plano": "x"}, c) == "d"
    assert flows.evaluate_condition(node, "oi", {"vip": "não"}, c) == "e"
    assert flows.evaluate_condition(node, "oi", {"plano": "gold"}, c) == "z"


def test_ai_node_asks_then_resumes_or_hands_off():
    state = flows.advance(hotel(), first_turn().state, text="2", reply_id=None, ctx=ctx()).state
    assert state.node_id == "ai" and state.waiting_for_input
    step = flows.advance(hotel(), state, text="Qual o horário do café?", reply_id=None, ctx=ctx())
    assert step.actions == [AskAI("Qual o horário do café?", "menu", None)]
    assert not step.state.waiting_for_input
    ok = flows.resume_after_ai(hotel(), step.state, ok=True, text="Das 7h às 10h.")
    assert texts(ok)[0] == "Das 7h às 10h." and ok.state.node_id == "menu"
    failed = flows.resume_after_ai(hotel(), step.state, ok=False, outcome="timeout")
    assert failed.actions == [Handoff(9, "ai_timeout", flows.DEFAULT_SETTINGS["ai_fail_text"])]
    assert failed.state.status == "handoff"


def test_ai_without_intro_answers_the_message_that_led_there():
    definition = {"start": "ai", "nodes": {"ai": {"type": "ai", "next": "ai"}}}
    step = first_turn(definition, text="Tem estacionamento?")
    assert step.actions == [AskAI("Tem estacionamento?", "ai", None)]
    after = flows.resume_after_ai(definition, step.state, ok=True, text="Sim.")
    assert texts(after) == ["Sim."] and after.state.waiting_for_input  # waits for the next question


def test_runaway_loop_is_capped_and_hands_off():
    definition = {"start": "a", "nodes": {"a": {"type": "message", "text": "A", "next": "b"},
                                          "b": {"type": "message", "text": "B", "next": "a"}}}
    step = first_turn(definition)
    assert len(texts(step)) == flows.MAX_STEPS and step.actions[-1] == Handoff(None, "loop")


def test_missing_node_at_runtime_hands_off_never_silence():
    definition = {"start": "a", "nodes": {"a": {"type": "message", "text": "A", "next": "ghost"}}}
    assert first_turn(definition).actions[-1] == Handoff(None, "dead_end")


def test_idle_without_new_conversation_trigger_until_keyword():
    definition = hotel()
    definition["triggers"]["new_conversation"] = False
    state = flows.start_session(definition, trigger="new_conversation", text="oi")
    assert state.status == "idle"
    assert flows.advance(definition, state, text="oi", reply_id=None, ctx=ctx()).actions == []
    step = flows.advance(definition, state, text="menu", reply_id=None, ctx=ctx())
    assert step.state.node_id == "menu" and step.state.status == "active"


def test_ended_state_does_nothing_and_state_round_trips():
    state = FlowState(node_id="x", status="handoff", attributes={"a": 1})
    assert flows.advance(hotel(), state, text="1", reply_id=None, ctx=ctx()).actions == []
    assert FlowState.from_dict(state.to_dict()) == state


def test_advance_does_not_mutate_its_input():
    state = first_turn().state
    before = copy.deepcopy(state)
    flows.advance(hotel(), state, text="1", reply_id=None, ctx=ctx())
    assert state == before


def test_placeholders_render_from_attributes():
    definition = {"start": "m", "nodes": {"m": {"type": "message", "text": "Oi {nome}, {x}", "next": "c"},
                                          "c": {"type": "close"}}}
    step = first_turn(definition, context=ctx(nome="Maria"))
    assert texts(step) == ["Oi Maria, {x}"] and step.actions[-1] == Close(None)


# ---- the validator -------------------------------------------------------------------------------------

def codes(definition) -> set[tuple[str, str | None]]:
    return {(p.code, p.node_id) for p in flows.validate_flow(definition)}


def test_a_good_flow_has_no_problems():
    assert flows.validate_flow(hotel()) == []


def test_empty_flow_lacks_a_start():
    assert ("missing_start", None) in codes(flows.empty_flow())
    assert codes(None) == {("missing_start", None)}


def test_missing_targets_and_unreachable_nodes():
    definition = hotel()
    definition["nodes"]["menu"]["options"][0]["next"] = "nowhere"
    definition["nodes"]["orphan"] = {"type": "close"}
    definition["nodes"]["welcome"]["next"] = ""
    found = codes(definition)
    assert ("missing_target", "menu") in found and ("missing_target", "welcome") in found
    assert ("unreachable", "orphan") in found


def test_keyword_trigger_makes_a_node_reachable_and_bad_trigger_is_reported():
    definition = hotel()
    definition["nodes"]["promo"] = {"type": "close", "text": "Promo!"}
    definition["triggers"]["keywords"].append({"keyword": "promo", "node": "promo"})
    assert flows.validate_flow(definition) == []
    definition["triggers"]["keywords"].append({"keyword": "x", "node": "ghost"})
    assert ("missing_target", None) in codes(definition)


def test_loop_without_exit_is_found_but_a_loop_through_a_menu_is_fine():
    definition = {"start": "a", "nodes": {"a": {"type": "message", "text": "A", "next": "b"},
                                          "b": {"type": "set", "attribute": "x", "value": "1", "next": "a"}}}
    assert {("loop_without_exit", "a"), ("loop_without_exit", "b")} <= codes(definition)
    assert not any(code == "loop_without_exit" for code, _ in codes(hotel()))  # ai -> menu -> ai waits


def test_condition_loop_with_an_exit_is_not_endless():
    definition = {"start": "a", "nodes": {
        "a": {"type": "condition", "rules": [{"kind": "contains", "value": "x", "next": "b"}], "else": "a"},
        "b": {"type": "close"}}}
    assert not any(code == "loop_without_exit" for code, _ in codes(definition))


def test_bad_regex_and_bad_nodes():
    definition = hotel()
    definition["nodes"]["hours"]["rules"].append({"kind": "regex", "value": "([a-", "next": "human"})
    definition["nodes"]["weird"] = {"type": "teleport"}
    definition["nodes"]["menu"]["options"] = []
    found = codes(definition)
    assert ("bad_regex", "hours") in found and ("bad_node", "weird") in found and ("bad_node", "menu") in found


@pytest.mark.parametrize(("change", "node"), [
    (lambda d: d["nodes"]["menu"].update(style="buttons", options=d["nodes"]["menu"]["options"] * 2), "menu"),
    (lambda d: d["nodes"]["menu"]["options"][0].update(label="Um rótulo longo demais para um botão"), "menu"),
    (lambda d: d["nodes"]["email"].update(kind="passport"), "email"),
    (lambda d: d["nodes"]["email"].update(attribute=""), "email"),
    (lambda d: d["nodes"]["welcome"].update(text=""), "welcome"),
    (lambda d: d["nodes"]["vip"].update(attribute="", label=""), "vip"),
])
def test_bad_node_cases(change, node):
    definition = hotel()
    definition["nodes"]["menu"]["style"] = "buttons" if node == "menu" else "text"
    change(definition)
    assert ("bad_node", node) in codes(definition)


def test_bad_settings_are_reported():
    definition = hotel()
    definition["settings"]["debounce_seconds"] = 999
    assert ("bad_node", None) in codes(definition)


# ---- the consent step ----------------------------------------------------------------------------------

def consent_flow(**step) -> dict:
    return {
        "start": "ask",
        "nodes": {
            "ask": {"type": "consent", "purpose": "marketing", "text": "Podemos enviar ofertas?", "max_retries": 1,
                    "granted": "thanks", "refused": "ok", **step},
            "thanks": {"type": "close", "text": "Obrigado!"},
            "ok": {"type": "close", "text": "Tudo bem, não enviaremos."},
        },
        "settings": {"handoff_team_id": 9},
    }


def test_consent_step_asks_with_two_buttons_and_waits():
    step = first_turn(consent_flow())
    assert [a.content for a in step.actions] == [{"type": "buttons", "body": "Podemos enviar ofertas?", "buttons": [
        ["ask:yes", "Sim, aceito"], ["ask:no", "Não aceito"]]}]
    assert step.state.node_id == "ask" and step.state.waiting_for_input


@pytest.mark.parametrize(("text", "reply_id", "granted"), [
    (None, "ask:yes", True), (None, "ask:no", False), ("Sim", None, True), ("não", None, False),
    ("NAO ACEITO", None, False), ("1", None, True), ("2", None, False), ("Quero sim, pode mandar", None, None),
    (None, "menu:1", None), ("aceito!", None, True), ("No", None, False)])
def test_consent_answer_records_the_answer_and_branches(text, reply_id, granted):
    definition = consent_flow()
    waiting = first_turn(definition).state
    step = flows.advance(definition, waiting, text=text, reply_id=reply_id, ctx=ctx())
    if granted is None:  # unclear: asked again, nothing recorded (silence or a vague answer is never consent)
        assert not any(isinstance(a, flows.RecordConsent) for a in step.actions)
        assert step.state.node_id == "ask" and step.state.retries == 1
        assert step.actions[-1].content["buttons"][0] == ["ask:yes", "Sim, aceito"]
        return
    assert step.actions[0] == flows.RecordConsent("marketing", granted)
    assert step.actions[-1] == Close("Obrigado!" if granted else "Tudo bem, não enviaremos.")
    assert step.state.attributes["consentimento_marketing"] == ("sim" if granted else "nao")


def test_consent_step_gives_up_after_its_retries_without_recording():
    definition = consent_flow()
    state = first_turn(definition).state
    for _ in range(2):
        step = flows.advance(definition, state, text="hã?", reply_id=None, ctx=ctx())
        state = step.state
    assert isinstance(step.actions[-1], Handoff) and step.actions[-1].reason == "max_retries"
    assert not any(isinstance(a, flows.RecordConsent) for a in step.actions)


def test_consent_step_own_labels_and_validation():
    definition = consent_flow(yes_label="Quero receber", no_label="Agora não")
    waiting = first_turn(definition).state
    step = flows.advance(definition, waiting, text="agora nao", reply_id=None, ctx=ctx())
    assert step.actions[0] == flows.RecordConsent("marketing", False)
    assert flows.validate_flow(definition) == []
    found = {(p.code, p.detail) for p in flows.validate_flow(consent_flow(purpose="spam", refused=""))}
    assert found == {("bad_node", "choose what the consent is for"), ("missing_target", "refused"),
                     ("unreachable", "")}
    same = flows.validate_flow(consent_flow(yes_label="Sim", no_label="sim"))
    assert [p.detail for p in same] == ["two options have the same label"]
    long = flows.validate_flow(consent_flow(yes_label="Sim, eu aceito receber tudo"))
    assert [p.detail for p in long] == ["option labels must have at most 20 characters"]
