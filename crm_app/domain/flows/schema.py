"""A flow's JSON definition and its validator: what a publishable flow looks like.

Pure: no session, no network, no clock. `validate_flow` is what `publish` checks and what the editor
shows next to each node; `targets` lists a node's links for both.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from crm_app.domain.consent import PURPOSES
from crm_app.domain.search import fold

NODE_TYPES = ("message", "menu", "collect", "consent", "condition", "set", "ai", "handoff", "close")
MENU_STYLES = ("text", "buttons", "list")
COLLECT_KINDS = ("email", "cpf", "date", "number", "text")
RULE_KINDS = ("keyword", "contains", "regex", "business_hours", "attribute")
ATTRIBUTE_OPS = ("eq", "ne", "set", "unset")
# Nodes that stop the turn to wait for the customer, and nodes that end the bot's part.
WAITING_TYPES = ("menu", "collect", "consent", "ai")
TERMINAL_TYPES = ("handoff", "close")
BUTTONS_MAX, ROWS_MAX = 3, 10
BUTTON_TITLE_MAX, ROW_TITLE_MAX, LIST_BUTTON_MAX = 20, 24, 20
# The consent step's buttons when the admin leaves them empty.
DEFAULT_YES, DEFAULT_NO = "Sim, aceito", "Não aceito"
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


def nodes_of(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The definition's nodes by id ({} when the definition has none, or is not a dict)."""
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
    if kind == "consent":
        found.append(("granted", node.get("granted") or None, True))
        found.append(("refused", node.get("refused") or None, True))
    if kind == "condition":
        for index, rule in enumerate(node.get("rules") or []):
            found.append((f"rules[{index}].next", (rule or {}).get("next") or None, True))
        found.append(("else", node.get("else") or None, True))
    if kind in ("menu", "collect", "consent", "ai") and node.get("on_fail"):
        found.append(("on_fail", node.get("on_fail"), False))
    return found


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
    nodes = nodes_of(definition)
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
    if kind in ("message", "menu", "collect", "consent") and not str(node.get("text") or "").strip():
        return [FlowProblem("bad_node", node_id, "the text is empty")]
    checks = {"menu": _menu_problems, "collect": _collect_problems, "consent": _consent_problems,
              "condition": _condition_problems, "set": _set_problems}
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


def consent_labels(node: dict[str, Any]) -> tuple[str, str]:
    """The consent step's two button titles (yes, no); an empty one takes the default."""
    return (str(node.get("yes_label") or "").strip() or DEFAULT_YES,
            str(node.get("no_label") or "").strip() or DEFAULT_NO)


def _consent_problems(node_id: str, node: dict[str, Any]) -> list[FlowProblem]:
    if node.get("purpose") not in PURPOSES:
        return [FlowProblem("bad_node", node_id, "choose what the consent is for")]
    yes, no = consent_labels(node)
    if fold(yes) == fold(no):
        return [FlowProblem("bad_node", node_id, "two options have the same label")]
    if max(len(yes), len(no)) > BUTTON_TITLE_MAX:
        return [FlowProblem("bad_node", node_id, f"option labels must have at most {BUTTON_TITLE_MAX} characters")]
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
    nodes = nodes_of(definition)
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
    nodes = nodes_of(definition)
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
