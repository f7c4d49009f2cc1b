"""The bot's flows: the JSON definition, its validator, and the interpreter that runs one turn.

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

from crm_app.domain.search import fold

NODE_TYPES = ("message", "menu", "collect", "condition", "set", "ai", "handoff", "close")
MENU_STYLES = ("text", "buttons", "list")
COLLECT_KINDS = ("email", "cpf", "date", "number", "text")
RULE_KINDS = ("keyword", "contains", "regex", "business_hours", "attribute")
ATTRIBUTE_OPS = ("eq", "ne", "set", "unset")
# Nodes that stop the turn to wait for the customer, and nodes that end the bot's part.
WAITING_TYPES = ("menu", "collect", "ai")
TERMINAL_TYPES = ("handoff", "close")
MAX_STEPS = 25
BUTTONS_MAX, ROWS_MAX = 3, 10
BUTTON_TITLE_MAX, ROW_TITLE_MAX, LIST_BUTTON_MAX = 20, 24, 20
DEFAULT_SETTINGS: dict[str, Any] = {
    "exit_keywords": ["atendente", "humano"], "inactivity_minutes": 30,
    "inactivity_text": "Como não recebemos sua resposta, vamos encerrar este atendimento. "
                       "Se precisar, é só mandar uma nova mensagem.",
    "debounce_seconds": 3, "max_retries": 2,
    "fallback_text": "Desculpe, não entendi. Por favor, escolha uma das opções.",
    "handoff_team_id": None, "out_of_hours_text": None,
    # Said before the handoff when the AI could not answer (the customer must never meet silence).
    "ai_fail_text": "Não consegui responder a isso agora. Vou chamar uma pessoa da nossa equipe.",
}


# ---- the definition ------------------------------------------------------------------------------------------

def empty_flow() -> dict[str, Any]:
    """A new flow: no nodes yet, the default triggers and settings."""
    return {"start": "", "nodes": {}, "triggers": {"new_conversation": True, "keywords": []},
            "settings": copy.deepcopy(DEFAULT_SETTINGS), "layout": {}}


def settings_of(definition: dict[str, Any]) -> dict[str, Any]:
    """The flow's settings with defaults filled in (a missing or None value takes the default)."""
    raw = definition.get("settings") if isinstance(definition.get("settings"), dict) else {}
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    merged.update({k: v for k, v in raw.items() if v is not None or k in ("handoff_team_id", "out_of_hours_text")})
    return merged


def _nodes(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    return nodes if isinstance(nodes, dict) else {}


def targets(node: dict[str, Any]) -> list[tuple[str, str | None, bool]]:
    """Every link out of a node as (field, target, required); an empty optional target is left out."""
    kind = node.get("type")
    found: list[tuple[str, str | None, bool]] = []
    if kind in ("message", "collect", "set", "ai"):
        found.append(("next", node.get("next") or None, True))
    if kind == "menu":
        for index, option in enumerate(node.get("options") or []):
            found.append((f"options[{index}].next", (option or {}).get("next") or None, True))
    if kind == "condition":
        for index, rule in enumerate(node.get("rules") or []):
            found.append((f"rules[{index}].next", (rule or {}).get("next") or None, True))
        found.append(("else", node.get("else") or None, True))
    if kind in ("menu", "collect", "ai") and node.get("on_fail"):
        found.append(("on_fail", node.get("on_fail"), False))
    return found


# ---- validation ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlowProblem:
    """One reason a flow cannot be published; `code` is stable (the editor translates it)."""

    code: str
    node_id: str | None = None
    detail: str = ""


def validate_flow(definition: Any) -> list[FlowProblem]:
    """Everything that would strand a customer: bad start, bad nodes, dangling links, dead and endless parts."""
    if not isinstance(definition, dict) or not isinstance(definition.get("nodes"), dict):
        return [FlowProblem("missing_start", None, "the flow has no nodes")]
    nodes = _nodes(definition)
    problems: list[FlowProblem] = []
    if not definition.get("start") or definition.get("start") not in nodes:
        problems.append(FlowProblem("missing_start", None, str(definition.get("start") or "")))
    for node_id, node in nodes.items():
        problems.extend(_node_problems(node_id, node))
        if isinstance(node, dict) and node.get("type") in NODE_TYPES:
            problems.extend(FlowProblem("missing_target", node_id, name)
                            for name, target, required in targets(node)
                            if (target is None and required) or (target is not None and target not in nodes))
    problems.extend(_trigger_problems(definition, nodes))
    problems.extend(_settings_problems(definition))
    if any(p.code == "missing_start" for p in problems):
        return problems
    problems.extend(FlowProblem("unreachable", node_id, "") for node_id in nodes
                    if node_id not in reachable(definition))
    problems.extend(FlowProblem("loop_without_exit", node_id, "") for node_id in endless_loops(definition))
    return problems


def _node_problems(node_id: str, node: Any) -> list[FlowProblem]:
    """Missing or malformed fields of one node (its links are checked separately)."""
    if not isinstance(node, dict) or node.get("type") not in NODE_TYPES:
        return [FlowProblem("bad_node", node_id, "unknown node type")]
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", node_id):
        return [FlowProblem("bad_node", node_id, "the id must be 1-64 letters, digits, _ or -")]
    kind = node["type"]
    if kind in ("message", "menu", "collect") and not str(node.get("text") or "").strip():
        return [FlowProblem("bad_node", node_id, "the text is empty")]
    checks = {"menu": _menu_problems, "collect": _collect_problems, "condition": _condition_problems,
              "set": _set_problems}
    return checks[kind](node_id, node) if kind in checks else []


def _menu_problems(node_id: str, node: dict[str, Any]) -> list[FlowProblem]:
    options = node.get("options") or []
    style = node.get("style") or "text"
    if style not in MENU_STYLES:
        return [FlowProblem("bad_node", node_id, f"unknown menu style {style!r}")]
    if not options:
        return [FlowProblem("bad_node", node_id, "the menu has no options")]
    if any(not str((o or {}).get("label") or "").strip() for o in options):
        return [FlowProblem("bad_node", node_id, "an option has no label")]
    labels = [fold(o["label"]) for o in options]
    if len(set(labels)) != len(labels):
        return [FlowProblem("bad_node", node_id, "two options have the same label")]
    if style == "buttons" and len(options) > BUTTONS_MAX:
        return [FlowProblem("bad_node", node_id, f"reply buttons allow at most {BUTTONS_MAX} options")]
    if style == "list" and len(options) > ROWS_MAX:
        return [FlowProblem("bad_node", node_id, f"a list allows at most {ROWS_MAX} options")]
    limit = BUTTON_TITLE_MAX if style == "buttons" else ROW_TITLE_MAX if style == "list" else None
    if limit and any(len(str(o["label"]).strip()) > limit for o in options):
        return [FlowProblem("bad_node", node_id, f"option labels must have at most {limit} characters")]
    return []


def _collect_problems(node_id: str, node: dict[str, Any]) -> list[FlowProblem]:
    if (node.get("kind") or "text") not in COLLECT_KINDS:
        return [FlowProblem("bad_node", node_id, f"unknown kind {node.get('kind')!r}")]
    if not str(node.get("attribute") or "").strip():
        return [FlowProblem("bad_node", node_id, "choose the attribute that keeps the answer")]
    return []


def _condition_problems(node_id: str, node: dict[str, Any]) -> list[FlowProblem]:
    problems = []
    for index, rule in enumerate(node.get("rules") or []):
        kind = (rule or {}).get("kind")
        if kind not in RULE_KINDS:
            problems.append(FlowProblem("bad_node", node_id, f"rule {index + 1}: unknown kind {kind!r}"))
        elif kind == "regex":
            try:
                re.compile(str(rule.get("value") or ""))
            except re.error as exc:
                problems.append(FlowProblem("bad_regex", node_id, str(exc)))
        elif kind in ("keyword", "contains") and not fold(str(rule.get("value") or "")):
            problems.append(FlowProblem("bad_node", node_id, f"rule {index + 1}: the value is empty"))
        elif kind == "attribute" and (not rule.get("attribute") or (rule.get("op") or "eq") not in ATTRIBUTE_OPS):
            problems.append(FlowProblem("bad_node", node_id, f"rule {index + 1}: choose an attribute and a test"))
    return problems


def _set_problems(node_id: str, node: dict[str, Any]) -> list[FlowProblem]:
    if not str(node.get("attribute") or "").strip() and not str(node.get("label") or "").strip():
        return [FlowProblem("bad_node", node_id, "set an attribute or a label")]
    return []


def _trigger_problems(definition: dict[str, Any], nodes: dict[str, Any]) -> list[FlowProblem]:
    triggers = definition.get("triggers") if isinstance(definition.get("triggers"), dict) else {}
    problems = []
    for entry in triggers.get("keywords") or []:
        keyword, node_id = fold(str((entry or {}).get("keyword") or "")), (entry or {}).get("node")
        if not keyword:
            problems.append(FlowProblem("bad_node", node_id, "a keyword trigger has no keyword"))
        elif node_id not in nodes:
            problems.append(FlowProblem("missing_target", None, f"trigger {keyword!r}"))
    return problems


def _settings_problems(definition: dict[str, Any]) -> list[FlowProblem]:
    settings = settings_of(definition)
    problems = []
    for name, low, high in (("inactivity_minutes", 1, 7 * 24 * 60), ("debounce_seconds", 0, 60),
                            ("max_retries", 0, 10)):
        value = settings.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(FlowProblem("bad_node", None, f"settings.{name} must be between {low} and {high}"))
    return problems


def reachable(definition: dict[str, Any]) -> set[str]:
    """Nodes a customer can get to: from the start and from each keyword trigger."""
    nodes = _nodes(definition)
    triggers = definition.get("triggers") if isinstance(definition.get("triggers"), dict) else {}
    todo = [definition.get("start")] + [(e or {}).get("node") for e in triggers.get("keywords") or []]
    seen: set[str] = set()
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in nodes or not isinstance(nodes[node_id], dict):
            continue
        seen.add(node_id)
        todo.extend(target for _, target, _ in targets(nodes[node_id]) if target)
    return seen


def endless_loops(definition: dict[str, Any]) -> list[str]:
    """Nodes on a cycle that never waits for the customer and has no way out of the cycle.

    Only message, condition and set nodes run without waiting; a strongly connected group of them
    with a cycle and no link leaving the group would spin forever.
    """
    nodes = _nodes(definition)
    passing = {n: node for n, node in nodes.items()
               if isinstance(node, dict) and node.get("type") in ("message", "condition", "set")}
    edges = {n: [t for _, t, _ in targets(node) if t] for n, node in passing.items()}
    stuck: list[str] = []
    for group in _components(edges):
        cyclic = len(group) > 1 or any(t == next(iter(group)) for t in edges[next(iter(group))])
        leaves = any(t not in group for n in group for t in edges[n])
        if cyclic and not leaves:
            stuck.extend(sorted(group))
    return stuck


def _components(edges: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components (Tarjan, iterative) of the graph restricted to `edges`' keys."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter([t for t in edges[root] if t in edges]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter([t for t in edges[child] if t in edges])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


# ---- state, context, actions -----------------------------------------------------------------------------

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


Action = Send | SetAttribute | AddLabel | AskAI | Handoff | Close


@dataclass
class Step:
    """The result of a turn: the new state and what to do, in order."""

    state: FlowState
    actions: list[Action] = field(default_factory=list)


# ---- matching input ----------------------------------------------------------------------------------------

_PUNCT = re.compile(r"[^\w\s]")


def _clean(text: str | None) -> str:
    """Folded, without punctuation or emoji, single-spaced."""
    return re.sub(r"\s+", " ", _PUNCT.sub(" ", fold(text))).strip()


def _has_word(text: str, phrase: str) -> bool:
    phrase = _clean(phrase)
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def is_exit_keyword(definition: dict[str, Any], text: str | None) -> bool:
    """Whether the customer asks for a person ("atendente", "humano"…), folded, as a word of the message."""
    cleaned = _clean(text)
    return bool(cleaned) and any(_has_word(cleaned, k) for k in settings_of(definition)["exit_keywords"] or [])


def keyword_trigger(definition: dict[str, Any], text: str | None) -> str | None:
    """The node a keyword trigger starts at, when the whole message is that keyword."""
    cleaned = _clean(text)
    triggers = definition.get("triggers") if isinstance(definition.get("triggers"), dict) else {}
    for entry in triggers.get("keywords") or []:
        if cleaned and cleaned == _clean((entry or {}).get("keyword")) and (entry or {}).get("node") in _nodes(
                definition):
            return entry["node"]
    return None


def reply_id_for(node_id: str, option: dict[str, Any], index: int) -> str:
    """The id a button or list row carries, scoped by node so an old menu's tap is not misread."""
    return f"{node_id}:{option.get('id') or index + 1}"


def match_option(node_id: str, node: dict[str, Any], text: str | None, reply_id: str | None) -> dict | None:
    """The menu option the customer chose: by reply id, number, label or keyword; None if unclear."""
    options = [o for o in node.get("options") or [] if isinstance(o, dict)]
    if reply_id:
        for index, option in enumerate(options):
            if reply_id in (reply_id_for(node_id, option, index), option.get("id")):
                return option
    cleaned = _clean(text)
    if not cleaned:
        return None
    number = re.fullmatch(r"(?:opcao |op |numero )?(\d{1,2})", cleaned)
    if number:
        chosen = int(number.group(1))
        return options[chosen - 1] if 1 <= chosen <= len(options) else None
    exact = [o for o in options if _clean(o.get("label")) == cleaned]
    if exact:
        return exact[0]
    hits = [o for o in options if _has_word(cleaned, o.get("label") or "")
            or any(_has_word(cleaned, k) for k in o.get("keywords") or [])]
    return hits[0] if len(hits) == 1 else None


# ---- validating collected input -------------------------------------------------------------------------------

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


# ---- rendering -------------------------------------------------------------------------------------------------

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


def render(template: str, attributes: dict[str, Any]) -> str:
    """`{email}`-style placeholders filled from the attributes; unknown ones are left as they are."""
    return re.sub(r"\{(\w+)\}", lambda m: str(attributes.get(m.group(1), m.group(0))), template)


# ---- the interpreter ---------------------------------------------------------------------------------------

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
    node = _nodes(definition).get(state.node_id)
    if not isinstance(node, dict):  # the flow changed under the session: people take over
        return _end(state, [Handoff(settings["handoff_team_id"], "flow_changed")])
    return _answer(definition, state, node, text, reply_id, ctx)


def resume_after_ai(definition: dict[str, Any], state: FlowState, *, ok: bool, text: str | None = None,
                    outcome: str | None = None, ctx: FlowContext | None = None) -> Step:
    """After the AI answered (`ok`, with `text`) or failed (`outcome`): go on to `next`, else `on_fail`/handoff."""
    state = copy.deepcopy(state)
    node = _nodes(definition).get(state.node_id or "") or {}
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
    if not target or target not in _nodes(definition):
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
    nodes, settings = _nodes(definition), settings_of(definition)
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
    if not target or target not in _nodes(definition):
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
        return _has_word(_clean(text), value)
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
