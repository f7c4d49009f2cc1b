"""What the flow editor shows, as plain rows of strings: the map, the form, the problems and the test chat.

Pure: the browser never needs to understand the flow JSON, so everything it shows is derived here from the
draft and the admin's strings (`t`, the catalogue of their language).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from crm_app.domain.flows import layout
from crm_app.domain.flows.editing import NO_TARGET, csv_items
from crm_app.domain.flows.schema import FlowProblem, validate_flow
from crm_app.domain.timefmt import format_local

Strings = Mapping[str, str]
TYPE_COLORS = {"message": "blue", "menu": "teal", "collect": "cyan", "consent": "grass", "condition": "amber",
               "set": "gray", "ai": "violet", "handoff": "orange", "close": "red"}
# Which problem explains a node best, first (a card has room for one).
PROBLEM_ORDER = ("unreachable", "loop_without_exit", "bad_regex", "bad_node", "missing_target")
# The validator's details (English, for logs) and the catalogue keys that say them to the admin.
_DETAILS = (
    (r"the text is empty", "editor.detail.text_empty"),
    (r"unknown node type", "editor.detail.unknown_type"),
    (r"the id must be .*", "editor.detail.bad_id"),
    (r"the menu has no options", "editor.detail.no_options"),
    (r"an option has no label", "editor.detail.option_label"),
    (r"two options have the same label", "editor.detail.same_label"),
    (r"reply buttons allow at most (\d+) options", "editor.detail.buttons_max"),
    (r"a list allows at most (\d+) options", "editor.detail.list_max"),
    (r"option labels must have at most (\d+) characters", "editor.detail.label_max"),
    (r"choose the attribute that keeps the answer", "editor.detail.collect_attribute"),
    (r"choose what the consent is for", "editor.detail.consent_purpose"),
    (r"rule (\d+): the value is empty", "editor.detail.rule_value"),
    (r"rule (\d+): choose an attribute and a test", "editor.detail.rule_attribute"),
    (r"rule (\d+): unknown kind .*", "editor.detail.rule_kind"),
    (r"set an attribute or a label", "editor.detail.set_empty"),
    (r"a keyword trigger has no keyword", "editor.detail.trigger_empty"),
    (r"settings\.(\w+) must be between (\d+) and (\d+)", "editor.detail.setting_range"),
)


@dataclasses.dataclass
class SimChoice:
    """A button or list row the tester can click."""

    id: str = ""
    label: str = ""


@dataclasses.dataclass
class SimRow:
    """One line of the test chat: a bot bubble (maybe with choices), the tester's bubble, or an event."""

    side: str = "bot"
    text: str = ""
    choices: list[SimChoice] = dataclasses.field(default_factory=list)
    footer: str = ""


@dataclasses.dataclass
class SimView:
    """The test chat: its rows, how it ended ("handoff", "close" or ""), the current node and attributes."""

    rows: list[SimRow] = dataclasses.field(default_factory=list)
    ended: str = ""
    node: str = ""
    variables: list[dict[str, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class MapView:
    """The map: one card per node, one edge per link, and the drawing's size in CSS pixels."""

    cards: list[dict[str, str]]
    edges: list[dict[str, str]]
    width: str
    height: str


def field_of(obj: Any, *names: str) -> Any:
    """A field of a service result, whether it is a dataclass, a row or a dict: the first one not None."""
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def sorted_problems(flow: dict[str, Any]) -> list[FlowProblem]:
    """The draft's problems by node, the most telling first; none for a draft too broken to check."""
    try:
        found = validate_flow(flow)
    except (AttributeError, TypeError, KeyError, ValueError, IndexError):  # a half-edited flow must never break
        found = []
    rank = {code: i for i, code in enumerate(PROBLEM_ORDER)}
    return sorted(found, key=lambda p: (p.node_id or "", rank.get(p.code, len(rank))))


def problem_rows(problems: list[FlowProblem], t: Strings) -> list[dict[str, str]]:
    """Each problem as {node, code, text}, its text a plain sentence in the admin's language."""
    return [{"node": p.node_id or "", "code": p.code, "text": problem_text(p, t)} for p in problems]


def problems_by_node(rows: list[dict[str, str]]) -> dict[str, list[str]]:
    """Each node's problem texts, the one that explains most first (a card has room for one)."""
    by_node: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: PROBLEM_ORDER.index(r["code"])
                      if r["code"] in PROBLEM_ORDER else len(PROBLEM_ORDER)):
        by_node.setdefault(row["node"], []).append(row["text"])
    return by_node


def problem_text(problem: FlowProblem, t: Strings) -> str:
    """The validator's code and detail as a plain sentence in the admin's language."""
    template = t.get(f"editor.problem.{problem.code}") or t["editor.problem.other"]
    detail = str(problem.detail or "")
    if problem.code == "missing_target":
        detail = link_name(detail, t)
    elif problem.code in ("bad_node", "other"):
        detail = detail_text(detail, t)
    return template.format(node=problem.node_id or "", detail=detail)


def link_name(field: str, t: Strings) -> str:
    """The form's name of a link: "options[1].next" -> "opção 2", "on_fail" -> "se falhar"…"""
    found = re.fullmatch(r"(options|rules)\[(\d+)\]\.next", field)
    if found:
        return t[f"editor.linkname.{found.group(1)}"].format(n=int(found.group(2)) + 1)
    trigger = re.fullmatch(r"trigger '(.*)'", field)
    if trigger:
        return t["editor.linkname.trigger"].format(word=trigger.group(1))
    return t.get(f"editor.linkname.{field}", field)


def detail_text(detail: str, t: Strings) -> str:
    """A validator detail in the admin's language (as it is, when the catalogue has no words for it)."""
    for pattern, key in _DETAILS:
        found = re.fullmatch(pattern, detail)
        if found:
            return t[key].format(*found.groups())
    return detail


def node_choices(flow: dict[str, Any], t: Strings) -> list[dict[str, str]]:
    """The target dropdowns' entries: "<id> · <type>"."""
    return [{"value": node_id, "label": f"{node_id} · {t['editor.type.' + n['type']]}"}
            for node_id, n in flow.setdefault("nodes", {}).items()]


def map_view(flow: dict[str, Any], t: Strings, teams: list[dict[str, str]], selected: str,
             problems: dict[str, list[str]]) -> MapView:
    """Cards placed by depth and edges between them; `problems` (per node) show on the cards."""
    nodes = flow.setdefault("nodes", {})
    placed, width, height = layout.place(flow)
    start = flow.get("start")
    cards = [{
        "id": p.node_id, "type": nodes[p.node_id].get("type", ""),
        "type_label": t.get("editor.type." + str(nodes[p.node_id].get("type")), "?"),
        "color": TYPE_COLORS.get(str(nodes[p.node_id].get("type")), "gray"),
        "summary": node_summary(nodes[p.node_id], t, teams), "left": f"{p.x}px", "top": f"{p.y}px",
        "selected": "1" if p.node_id == selected else "",
        "start": "1" if p.node_id == start else "",
        "problem": (problems.get(p.node_id) or [""])[0],
    } for p in placed]
    edges, loops = _edges(nodes, {p.node_id: p for p in placed}, t)
    return MapView(cards, edges, f"{width}px", f"{height + (layout.GAP_Y + 24 if loops else 0)}px")


def _edges(nodes: dict[str, dict[str, Any]], spots: dict[str, layout.Placed],
           t: Strings) -> tuple[list[dict[str, str]], bool]:
    """The SVG edges between placed cards, and whether any goes back (it arcs below the cards)."""
    edges, loops = [], False
    for source, node in nodes.items():
        for link in layout.links(node):
            if link.target not in spots:
                continue
            d, lx, ly = layout.edge_path(spots[source], spots[link.target])
            loops = loops or spots[link.target].x <= spots[source].x
            label = t.get(link.label, link.label) if link.key else link.label
            edges.append({"d": d, "lx": str(lx), "ly": str(ly), "label": label[:24]})
    return edges, loops


def node_summary(node: dict[str, Any], t: Strings, teams: list[dict[str, str]]) -> str:
    """The line a card shows under its type."""
    kind = node.get("type")
    if kind == "menu":
        text = str(node.get("text") or "")
        return text or t["editor.summary.options"].format(n=len(node.get("options") or []))
    if kind == "condition":
        return t["editor.summary.rules"].format(n=len(node.get("rules") or []))
    if kind == "set":
        return f"{node.get('attribute') or ''} = {node.get('value') or ''} {node.get('label') or ''}".strip()
    if kind == "handoff":
        team = next((row["name"] for row in teams if row["id"] == str(node.get("team_id"))), "")
        return team or t["editor.team.none"]
    return str(node.get("text") or "")[:90]


def csv_view(raw: str | None, items: list[str]) -> str:
    """What a comma-separated field shows: what was typed while it still means `items`, else the items."""
    return raw if raw is not None and csv_items(raw) == list(items) else ", ".join(items)


def form_value(key: str, value: Any) -> str:
    """A node field as the form's string (no team is NO_TARGET, the dropdowns' "none")."""
    if key == "team_id":
        return str(value) if value else NO_TARGET
    return "" if value is None else str(value)


def selected_form(flow: dict[str, Any], node_id: str,
                  typed: Mapping[str, str]) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
    """The selected node's scalar fields, options and rules as strings; `typed` keeps keywords as typed."""
    node = flow.setdefault("nodes", {})[node_id]
    form = {k: form_value(k, v) for k, v in node.items() if k not in ("options", "rules")}
    form["is_start"] = "1" if flow.get("start") == node_id else ""
    options = [{"id": str(o.get("id") or ""), "label": str(o.get("label") or ""),
                "keywords": csv_view(typed.get(f"{node_id}:{i}"), o.get("keywords") or []),
                "next": str(o.get("next") or "")} for i, o in enumerate(node.get("options") or [])]
    rules = [{"kind": str(r.get("kind") or "keyword"), "value": str(r.get("value") or ""),
              "attribute": str(r.get("attribute") or ""), "op": str(r.get("op") or "eq"),
              "team_id": str(r.get("team_id") or NO_TARGET), "next": str(r.get("next") or "")}
             for r in node.get("rules") or []]
    return form, options, rules


def _number_text(value: Any) -> str:
    return str(value if value is not None else "")


def settings_form(flow: dict[str, Any], typed: Mapping[str, str]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The flow's settings and keyword triggers as the form's strings."""
    triggers = flow.setdefault("triggers", {})
    settings = flow.setdefault("settings", {})
    cfg = {
        "new_conversation": "1" if triggers.get("new_conversation", True) else "",
        "exit_keywords": csv_view(typed.get("exit_keywords"), settings.get("exit_keywords") or []),
        "inactivity_minutes": str(settings.get("inactivity_minutes") or ""),
        "inactivity_text": str(settings.get("inactivity_text") or ""),
        "debounce_seconds": _number_text(settings.get("debounce_seconds")),
        "max_retries": _number_text(settings.get("max_retries")),
        "fallback_text": str(settings.get("fallback_text") or ""),
        "handoff_team_id": str(settings.get("handoff_team_id") or NO_TARGET),
        "out_of_hours_text": str(settings.get("out_of_hours_text") or ""),
    }
    rows = [{"keyword": str(k.get("keyword") or ""), "node": str(k.get("node") or "")}
            for k in triggers.get("keywords") or []]
    return cfg, rows


def version_rows(versions: list[Any], timezone: str) -> list[dict[str, str]]:
    """Published versions, newest first, their dates in the admin's time zone."""
    rows = []
    for version in versions:
        when: dt.datetime | None = field_of(version, "published_at")
        rows.append({"version": str(field_of(version, "version")),
                     "at": format_local(when, timezone) if when else "",
                     "by": str(field_of(version, "published_by", "published_by_name") or "")})
    return sorted(rows, key=lambda row: -int(row["version"] or 0))


def sim_view(lines: list[Any], t: Strings, teams: list[dict[str, str]]) -> SimView:
    """The test chat from the simulator's lines (the last node and attributes seen are the current ones)."""
    view = SimView()
    for line in lines:
        rows, ended = _sim_rows(line, t, teams)
        view.rows.extend(rows)
        view.ended = ended or view.ended
        node = field_of(line, "node_id", "node")
        if node:
            view.node = str(node)
        variables = field_of(line, "variables", "attributes")
        if isinstance(variables, dict):
            view.variables = [{"name": str(k), "value": str(v)} for k, v in variables.items()]
    return view


def _sim_rows(line: Any, t: Strings, teams: list[dict[str, str]]) -> tuple[list[SimRow], str]:
    """One simulator line as chat rows, and "handoff" or "close" when it ends the chat."""
    kind = str(field_of(line, "kind", "type") or "")
    text = str(field_of(line, "text") or "")
    said = [SimRow(side="bot", text=text)] if text else []
    if kind in ("customer", "user", "in"):
        return [SimRow(side="customer", text=text)], ""
    if kind == "handoff":
        team = field_of(line, "team_name") or next(
            (row["name"] for row in teams if row["id"] == str(field_of(line, "team_id"))), "")
        reason = str(field_of(line, "reason") or "")
        event = t["editor.sim.handoff"].format(team=team or t["editor.team.none"],
                                               reason=t.get(f"editor.reason.{reason}", reason))
        return said + [SimRow(side="event", text=event)], "handoff"
    if kind in ("close", "closed"):
        return said + [SimRow(side="event", text=t["editor.sim.closed"])], "close"
    if kind in ("set_attribute", "attribute"):
        return [SimRow(side="event", text=t["editor.sim.attribute"].format(
            name=field_of(line, "name", "attribute") or "", value=field_of(line, "value") or ""))], ""
    if kind == "consent":
        purpose = str(field_of(line, "attribute") or "")
        return [SimRow(side="event", text=t[f"editor.sim.consent.{field_of(line, 'value')}"].format(
            purpose=t.get(f"editor.purpose.{purpose}", purpose)))], ""
    if kind in ("label", "add_label"):
        return [SimRow(side="event", text=t["editor.sim.label"].format(
            label=field_of(line, "label", "value") or text))], ""
    if kind in ("event", "info", "ai", "error"):
        return [SimRow(side="event", text=text)], ""
    choices = [SimChoice(id=str(field_of(c, "id") or ""), label=str(field_of(c, "label", "title") or ""))
               for c in field_of(line, "choices", "buttons", "options") or []]
    footer = str(field_of(line, "button_label") or "")
    return ([SimRow(side="bot", text=text, choices=choices, footer=footer)] if text or choices else []), ""
