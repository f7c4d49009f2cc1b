"""The interpreter that runs one turn of a flow: its state, actions, collected answers and rendered messages.

Pure: no session, no network, no clock. The runtime (`services.bot`) and the editor's test panel both
drive the same interpreter, so what the admin tries is what customers get.

A turn is `advance(definition, state, text=…, reply_id=…, ctx=…)`: it runs nodes from where the state
stands until the flow waits for the customer (a menu, a collect, an AI question) or ends (handoff,
close), and returns the actions to carry out. Message, condition and set nodes chain without waiting,
so each turn is capped at `MAX_STEPS` nodes: a loop that slipped past the validator hands off instead
of spinning.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm_app.domain.flows.matching import (
    clean_text,
    has_word,
    is_exit_keyword,
    keyword_trigger,
    match_option,
    reply_id_for,
)
from crm_app.domain.flows.schema import (
    BUTTON_TITLE_MAX,
    BUTTONS_MAX,
    LIST_BUTTON_MAX,
    ROW_TITLE_MAX,
    ROWS_MAX,
    consent_labels,
    nodes_of,
    settings_of,
)
from crm_app.domain.search import fold

MAX_STEPS = 25


@dataclass
class FlowState:
    """Where one conversation stands in its flow; stored in `BotSession` between turns.

    `status`: "active" (the bot talks), "idle" (waiting for a keyword trigger), "handoff" or "closed".
    `entered`: False means `node_id` has not run yet (it runs at the next turn without reading input);
    True means it ran and waits for the customer's answer. `ai_question` is set while an AI answer is due.
    """

    node_id: str | None = None
    status: str = "active"
    entered: bool = False
    retries: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    ai_question: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe copy."""
        return {"node_id": self.node_id, "status": self.status, "entered": self.entered, "retries": self.retries,
                "attributes": dict(self.attributes), "ai_question": self.ai_question}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowState:
        """The state `to_dict` wrote (unknown keys ignored)."""
        return cls(node_id=data.get("node_id"), status=data.get("status") or "active",
                   entered=bool(data.get("entered")), retries=int(data.get("retries") or 0),
                   attributes=dict(data.get("attributes") or {}), ai_question=data.get("ai_question"))

    @property
    def ended(self) -> bool:
        """The bot's part is over (handed off or closed)."""
        return self.status in ("handoff", "closed")

    @property
    def waiting_for_input(self) -> bool:
        """The bot asked something and waits for the customer (inactivity counts from here)."""
        return self.status == "active" and self.entered and self.ai_question is None


@dataclass
class FlowContext:
    """What the interpreter may know of the world: the time, the customer's attributes, business hours."""

    now: dt.datetime
    attributes: dict[str, Any] = field(default_factory=dict)
    is_open: Callable[[int | None], bool] = lambda team_id: True


@dataclass(frozen=True)
class Send:
    """Send one message; `content` is an outbound content dict (text, buttons or list)."""

    content: dict[str, Any]


@dataclass(frozen=True)
class SetAttribute:
    """Keep a value on the customer (contact attribute)."""

    name: str
    value: Any


@dataclass(frozen=True)
class AddLabel:
    """Put a label on the conversation."""

    label: str


@dataclass(frozen=True)
class RecordConsent:
    """The customer answered a consent step: add a grant or a withdrawal for `purpose` to the ledger, with the
    answering message as proof."""

    purpose: str
    granted: bool


@dataclass(frozen=True)
class AskAI:
    """Ask the AI `question`; then call `resume_after_ai`."""

    question: str
    next: str | None
    on_fail: str | None


@dataclass(frozen=True)
class Handoff:
    """Hand the conversation to people; `text` (if any) is sent first."""

    team_id: int | None
    reason: str
    text: str | None = None


@dataclass(frozen=True)
class Close:
    """Close the conversation, after `text` (if any)."""

    text: str | None = None


Action = Send | SetAttribute | AddLabel | RecordConsent | AskAI | Handoff | Close


@dataclass
class Step:
    """The result of a turn: the new state and what to do, in order."""

    state: FlowState
    actions: list[Action] = field(default_factory=list)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def cpf_is_valid(value: str) -> bool:
    """A CPF with 11 digits (not all equal) and both check digits right."""
    digits = [int(c) for c in value if c.isdigit()]
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        if (total * 10 % 11) % 10 != digits[size]:
            return False
    return True


def parse_input(kind: str, text: str | None) -> str | None:
    """The normalised value of a collected answer, or None when it is not a valid `kind`."""
    raw = (text or "").strip()
    if not raw:
        return None
    if kind == "email":
        return raw.lower() if _EMAIL.fullmatch(raw) else None
    if kind == "cpf":
        if not re.fullmatch(r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}", raw) or not cpf_is_valid(raw):
            return None
        d = "".join(c for c in raw if c.isdigit())
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"
    if kind == "date":
        found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", raw)
        try:
            day = dt.date(int(found.group(3)), int(found.group(2)), int(found.group(1))) if found else None
        except ValueError:
            day = None
        return day.strftime("%d/%m/%Y") if day else None
    if kind == "number":
        plain = raw.replace(" ", "")
        if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", plain):
            plain = plain.replace(".", "")
        plain = plain.replace(",", ".")
        return plain if re.fullmatch(r"-?\d+(\.\d+)?", plain) else None
    return raw[:1000]

def text_content(text: str) -> dict[str, Any]:
    """A plain text message."""
    return {"type": "text", "body": text}


def menu_content(node_id: str, node: dict[str, Any]) -> dict[str, Any]:
    """A menu as WhatsApp content: reply buttons (≤3), a list (≤10) or numbered text (anything else)."""
    options = [o for o in node.get("options") or [] if isinstance(o, dict)]
    style, text = node.get("style") or "text", str(node.get("text") or "").strip()
    if style == "buttons" and len(options) <= BUTTONS_MAX:
        return {"type": "buttons", "body": text[:1024], "buttons": [
            [reply_id_for(node_id, o, i), str(o.get("label")).strip()[:BUTTON_TITLE_MAX]]
            for i, o in enumerate(options)]}
    if style == "list" and len(options) <= ROWS_MAX:
        label = str(node.get("button_label") or "").strip() or "Ver opções"
        return {"type": "list", "body": text[:4096], "button_label": label[:LIST_BUTTON_MAX], "sections": [
            {"rows": [{"id": reply_id_for(node_id, o, i), "title": str(o.get("label")).strip()[:ROW_TITLE_MAX]}
                      for i, o in enumerate(options)]}]}
    lines = [f"{i}. {str(o.get('label')).strip()}" for i, o in enumerate(options, 1)]
    return text_content(f"{text}\n\n" + "\n".join(lines))


# Typed answers a consent step understands besides its own button titles and "1"/"2" (folded, whole message).
CONSENT_YES = frozenset({"sim", "s", "aceito", "eu aceito", "concordo", "autorizo", "pode", "ok", "yes", "y", "si",
                         "acepto"})
CONSENT_NO = frozenset({"nao", "n", "nao aceito", "nao concordo", "nao autorizo", "recuso", "no", "nao quero",
                        "no acepto"})


def consent_content(node_id: str, node: dict[str, Any]) -> dict[str, Any]:
    """A consent question as two reply buttons (yes, no)."""
    yes, no = consent_labels(node)
    return {"type": "buttons", "body": str(node.get("text") or "").strip()[:1024],
            "buttons": [[f"{node_id}:yes", yes[:BUTTON_TITLE_MAX]], [f"{node_id}:no", no[:BUTTON_TITLE_MAX]]]}


def consent_answer(node_id: str, node: dict[str, Any], text: str | None, reply_id: str | None) -> bool | None:
    """True (yes), False (no) or None (unclear) for an answer to a consent step: a tap on one of its own
    buttons, "1"/"2", a button's title or a plain yes/no word. Anything else is no answer: silence is never
    taken as consent."""
    if reply_id:
        return {f"{node_id}:yes": True, f"{node_id}:no": False}.get(reply_id)
    cleaned = clean_text(text)
    yes, no = (clean_text(label) for label in consent_labels(node))
    if cleaned in ("1", yes) or cleaned in CONSENT_YES:
        return True
    if cleaned in ("2", no) or cleaned in CONSENT_NO:
        return False
    return None


def render(template: str, attributes: dict[str, Any]) -> str:
    """`{email}`-style placeholders filled from the attributes; unknown ones are left as they are."""
    return re.sub(r"\{(\w+)\}", lambda m: str(attributes.get(m.group(1), m.group(0))), template)


def start_session(definition: dict[str, Any], *, trigger: str = "new_conversation",
                  text: str | None = None) -> FlowState:
    """A new session: at the start for a new (or reopened) conversation, or at a keyword trigger's node.

    With `triggers.new_conversation` off and no keyword in `text`, the session is "idle": it waits for
    a keyword (see `advance`).
    """
    node = keyword_trigger(definition, text)
    if node is not None:
        return FlowState(node_id=node)
    triggers = definition.get("triggers") if isinstance(definition.get("triggers"), dict) else {}
    if trigger == "keyword" or not triggers.get("new_conversation", True):
        return FlowState(node_id=None, status="idle")
    return FlowState(node_id=definition.get("start") or None)


def advance(definition: dict[str, Any], state: FlowState, *, text: str | None, reply_id: str | None,
            ctx: FlowContext) -> Step:
    """One turn: the customer said `text` (or tapped `reply_id`); run until the flow waits or ends."""
    state = copy.deepcopy(state)
    if state.ended:
        return Step(state, [])
    settings = settings_of(definition)
    # A tapped button or list row carries its option's title as text: the tap is the answer, even when that
    # title holds an exit word or a trigger keyword ("Falar com atendente" leads where its option says).
    typed = None if reply_id else text
    if is_exit_keyword(definition, typed):
        return _end(state, [Handoff(settings["handoff_team_id"], "exit_keyword")])
    jump = keyword_trigger(definition, typed)
    if jump is not None:
        state.node_id, state.entered, state.retries, state.status, state.ai_question = jump, False, 0, "active", None
        return _run(definition, state, ctx, None, [])
    if state.status == "idle" or not state.node_id:
        return Step(state, [])
    if not state.entered:
        return _run(definition, state, ctx, text, [])
    node = nodes_of(definition).get(state.node_id)
    if not isinstance(node, dict):  # the flow changed under the session: people take over
        return _end(state, [Handoff(settings["handoff_team_id"], "flow_changed")])
    return _answer(definition, state, node, text, reply_id, ctx)


def resume_after_ai(definition: dict[str, Any], state: FlowState, *, ok: bool, text: str | None = None,
                    outcome: str | None = None, ctx: FlowContext | None = None) -> Step:
    """After the AI answered (`ok`, with `text`) or failed (`outcome`): go on to `next`, else `on_fail`/handoff."""
    state = copy.deepcopy(state)
    node = nodes_of(definition).get(state.node_id or "") or {}
    state.ai_question, state.entered = None, False
    ctx = ctx or FlowContext(now=dt.datetime.now(dt.UTC))
    if ok:
        actions: list[Action] = [Send(text_content(text))] if text else []
        return _go(definition, state, ctx, node.get("next"), None, actions)
    if node.get("on_fail"):
        return _go(definition, state, ctx, node["on_fail"], None, [])
    settings = settings_of(definition)
    text = str(settings.get("ai_fail_text") or "").strip() or None
    return _end(state, [Handoff(settings["handoff_team_id"], f"ai_{outcome or 'error'}", text)])


def _end(state: FlowState, actions: list[Action]) -> Step:
    last = actions[-1] if actions else None
    state.status = "handoff" if isinstance(last, Handoff) else "closed" if isinstance(last, Close) else state.status
    state.entered, state.ai_question = True, None
    return Step(state, actions)


def _go(definition: dict[str, Any], state: FlowState, ctx: FlowContext, target: str | None, text: str | None,
        actions: list[Action]) -> Step:
    """Move to `target` and run from there; a missing target hands off (never silence)."""
    if not target or target not in nodes_of(definition):
        actions.append(Handoff(settings_of(definition)["handoff_team_id"], "dead_end"))
        return _end(state, actions)
    state.node_id, state.entered, state.retries = target, False, 0
    return _run(definition, state, ctx, text, actions)


def _answer(definition: dict[str, Any], state: FlowState, node: dict[str, Any], text: str | None,
            reply_id: str | None, ctx: FlowContext) -> Step:
    """The customer answered the node the state waits at."""
    kind = node.get("type")
    if kind == "menu":
        option = match_option(state.node_id, node, text, reply_id)
        if option is not None:
            return _go(definition, state, ctx, option.get("next"), None, [])
        return _retry(definition, state, node, ctx, [menu_content(state.node_id, node)])
    if kind == "consent":
        answer = consent_answer(state.node_id, node, text, reply_id)
        if answer is None:
            return _retry(definition, state, node, ctx, [consent_content(state.node_id, node)])
        purpose = str(node.get("purpose") or "marketing")
        state.attributes[f"consentimento_{purpose}"] = "sim" if answer else "nao"
        return _go(definition, state, ctx, node.get("granted" if answer else "refused"), None,
                   [RecordConsent(purpose, answer)])
    if kind == "collect":
        value = parse_input(node.get("kind") or "text", text)
        if value is not None:
            name = str(node.get("attribute") or "").strip()
            state.attributes[name] = value
            return _go(definition, state, ctx, node.get("next"), None, [SetAttribute(name, value)])
        return _retry(definition, state, node, ctx, [])
    if kind == "ai":
        if not (text or "").strip():
            return Step(state, [])
        state.ai_question = text.strip()
        return Step(state, [AskAI(state.ai_question, node.get("next"), node.get("on_fail"))])
    return _run(definition, state, ctx, text, [])  # a node that does not wait: run it again


def _retry(definition: dict[str, Any], state: FlowState, node: dict[str, Any], ctx: FlowContext,
           again: list[dict[str, Any]]) -> Step:
    """An answer we could not use: the retry text (and the menu again), or on_fail / handoff after the max."""
    settings = settings_of(definition)
    limit = node.get("max_retries")
    limit = settings["max_retries"] if limit is None or limit == "" else int(limit)
    state.retries += 1
    if state.retries > limit:
        if node.get("on_fail"):
            return _go(definition, state, ctx, node["on_fail"], None, [])
        return _end(state, [Handoff(settings["handoff_team_id"], "max_retries")])
    retry = str(node.get("retry_text") or "").strip() or settings["fallback_text"]
    return Step(state, [Send(text_content(render(retry, state.attributes)))] + [Send(c) for c in again])


def _run(definition: dict[str, Any], state: FlowState, ctx: FlowContext, text: str | None,
         actions: list[Action]) -> Step:
    """Run nodes from `state.node_id` until one waits or ends the bot's part; at most MAX_STEPS nodes."""
    nodes, settings = nodes_of(definition), settings_of(definition)
    for _ in range(MAX_STEPS):
        node_id = state.node_id
        node = nodes.get(node_id or "")
        if not isinstance(node, dict):
            actions.append(Handoff(settings["handoff_team_id"], "dead_end"))
            return _end(state, actions)
        outcome = _run_node(definition, state, node_id, node, ctx, text, actions)
        if outcome is not None:
            return outcome
    actions.append(Handoff(settings["handoff_team_id"], "loop"))
    return _end(state, actions)


def _run_node(definition: dict[str, Any], state: FlowState, node_id: str, node: dict[str, Any],
              ctx: FlowContext, text: str | None, actions: list[Action]) -> Step | None:
    """Run one node: a Step when the turn stops here, None when it moved `state.node_id` on."""
    kind, attrs = node.get("type"), {**ctx.attributes, **state.attributes}
    state.entered, state.retries = True, 0
    if kind == "message":
        actions.append(Send(text_content(render(str(node.get("text") or ""), attrs))))
        return _next(definition, state, node.get("next"), actions)
    if kind == "menu":
        actions.append(Send(menu_content(node_id, {**node, "text": render(str(node.get("text") or ""), attrs)})))
        return Step(state, actions)
    if kind == "collect":
        actions.append(Send(text_content(render(str(node.get("text") or ""), attrs))))
        return Step(state, actions)
    if kind == "consent":
        actions.append(Send(consent_content(node_id, {**node, "text": render(str(node.get("text") or ""), attrs)})))
        return Step(state, actions)
    if kind == "condition":
        return _next(definition, state, evaluate_condition(node, text, attrs, ctx), actions)
    if kind == "set":
        _apply_set(state, node, actions)
        return _next(definition, state, node.get("next"), actions)
    if kind == "ai":
        return _enter_ai(state, node, text, attrs, actions)
    if kind == "handoff":
        team = node.get("team_id") if node.get("team_id") not in ("", None) else settings_of(definition)[
            "handoff_team_id"]
        body = render(str(node.get("text") or ""), attrs).strip() or None
        actions.append(Handoff(int(team) if team is not None else None, str(node.get("reason") or "menu"), body))
        return _end(state, actions)
    if kind == "close":
        actions.append(Close(render(str(node.get("text") or ""), attrs).strip() or None))
        return _end(state, actions)
    actions.append(Handoff(settings_of(definition)["handoff_team_id"], "bad_node"))
    return _end(state, actions)


def _next(definition: dict[str, Any], state: FlowState, target: str | None, actions: list[Action]) -> Step | None:
    if not target or target not in nodes_of(definition):
        actions.append(Handoff(settings_of(definition)["handoff_team_id"], "dead_end"))
        return _end(state, actions)
    state.node_id, state.entered = target, False
    return None


def _apply_set(state: FlowState, node: dict[str, Any], actions: list[Action]) -> None:
    name, label = str(node.get("attribute") or "").strip(), str(node.get("label") or "").strip()
    if name:
        value = render(str(node.get("value") or ""), state.attributes)
        state.attributes[name] = value
        actions.append(SetAttribute(name, value))
    if label:
        actions.append(AddLabel(label))


def _enter_ai(state: FlowState, node: dict[str, Any], text: str | None, attrs: dict[str, Any],
              actions: list[Action]) -> Step:
    """An AI node with an intro asks for the question; without one it answers the message that led here."""
    intro = render(str(node.get("text") or ""), attrs).strip()
    if intro or not (text or "").strip():
        if intro:
            actions.append(Send(text_content(intro)))
        return Step(state, actions)
    state.ai_question = text.strip()
    actions.append(AskAI(state.ai_question, node.get("next"), node.get("on_fail")))
    return Step(state, actions)


def evaluate_condition(node: dict[str, Any], text: str | None, attrs: dict[str, Any], ctx: FlowContext) -> str | None:
    """The target of the first rule that holds, else the `else` target."""
    for rule in node.get("rules") or []:
        if isinstance(rule, dict) and _rule_holds(rule, text, attrs, ctx):
            return rule.get("next")
    return node.get("else")


def _rule_holds(rule: dict[str, Any], text: str | None, attrs: dict[str, Any], ctx: FlowContext) -> bool:
    kind, value = rule.get("kind"), str(rule.get("value") or "")
    if kind == "keyword":
        return has_word(clean_text(text), value)
    if kind == "contains":
        return bool(fold(value)) and fold(value) in fold(text)
    if kind == "regex":
        try:
            return re.search(value, text or "", re.IGNORECASE) is not None
        except re.error:
            return False
    if kind == "business_hours":
        team = rule.get("team_id")
        return bool(ctx.is_open(int(team) if team not in (None, "") else None))
    if kind == "attribute":
        current = attrs.get(str(rule.get("attribute") or ""))
        op = rule.get("op") or "eq"
        present = current not in (None, "")
        if op == "set":
            return present
        if op == "unset":
            return not present
        same = present and fold(str(current)) == fold(value)
        return same if op == "eq" else not same
    return False
