"""The editor's operations on a flow draft: add, change, link, rename and delete nodes, rows and triggers.

Pure: each function changes the draft dict it is given, in place, the way the editor's form promises, and
says whether anything changed. A draft may be half edited (empty targets, empty texts); `schema.validate_flow`
says what still stands in the way of publishing.

New node ids are `<prefix>_<n>`, the prefix being a word of the admin's language (`prefixes[kind]`), so the
caller passes its `prefixes`; a kind without one uses the kind's own name.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from crm_app.domain.flows.schema import NODE_TYPES

# The target dropdown's two special values: "+ new node" and "(none)".
NEW_TARGET = "__new__"
NO_TARGET = "__none__"
TARGET_FIELDS = ("next", "on_fail", "else", "granted", "refused")
INT_FIELDS = ("max_retries",)
TEXT_FIELDS = ("text", "style", "button_label", "retry_text", "kind", "attribute", "value", "label", "reason",
               "purpose", "yes_label", "no_label")
RULE_FIELDS = ("value", "attribute", "op")
NUMBER_SETTINGS = ("inactivity_minutes", "debounce_seconds", "max_retries")
TEXT_SETTINGS = ("inactivity_text", "fallback_text", "out_of_hours_text")
NODE_ID = re.compile(r"^[a-z0-9_]{1,40}$")
_BLANKS: dict[str, dict[str, Any]] = {
    "message": {"text": "", "next": ""},
    "menu": {"text": "", "style": "text", "button_label": "", "options": [], "retry_text": "",
             "max_retries": 2, "on_fail": ""},
    "collect": {"text": "", "kind": "text", "attribute": "", "retry_text": "", "max_retries": 2, "next": "",
                "on_fail": ""},
    "consent": {"text": "", "purpose": "marketing", "yes_label": "", "no_label": "", "granted": "", "refused": "",
                "retry_text": "", "max_retries": 2, "on_fail": ""},
    "condition": {"rules": [], "else": ""},
    "set": {"attribute": "", "value": "", "label": "", "next": ""},
    "ai": {"text": "", "next": "", "on_fail": ""},
    "handoff": {"team_id": None, "text": "", "reason": "menu"},
    "close": {"text": ""},
}
Prefixes = Mapping[str, str]


class InvalidNodeId(ValueError):
    """A rename the editor refuses; `reason` is "bad" (not a valid id) or "taken" (another node has it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DraftShapeError(ValueError):
    """JSON that parses but is not a flow (an object with a `nodes` object)."""


def blank_node(kind: str) -> dict[str, Any]:
    """A new node of `kind` with every field the form shows, so the form never meets a missing key."""
    return {"type": kind, **copy.deepcopy(_BLANKS[kind])}


def normalise_flow(flow: dict[str, Any]) -> dict[str, Any]:
    """Fill each node with the fields its form shows, so editing never meets a missing key (in place)."""
    nodes = flow.get("nodes") if isinstance(flow.get("nodes"), dict) else {}
    for node_id, node in list(nodes.items()):
        kind = node.get("type") if isinstance(node, dict) else None
        if kind in NODE_TYPES:
            nodes[node_id] = {**blank_node(kind), **node}
    flow["nodes"] = nodes
    flow.setdefault("start", next(iter(nodes), ""))
    flow.setdefault("triggers", {"new_conversation": True, "keywords": []})
    flow.setdefault("settings", {})
    flow.setdefault("layout", {})
    return flow


def draft_from_json(text: str) -> dict[str, Any]:
    """The flow typed in the editor's JSON box, normalised.

    Raises:
        DraftShapeError: It parses, but is not an object with a `nodes` object.
        ValueError: It is not JSON (the message says where).
    """
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), dict):
        raise DraftShapeError("not a flow")
    return normalise_flow(data)


def stored_node(node: dict[str, Any]) -> dict[str, Any]:
    """The node as stored: empty optional targets leave the JSON instead of pointing at ""."""
    out = {k: v for k, v in node.items() if not (k in TARGET_FIELDS and not v)}
    for option in out.get("options") or []:
        if not option.get("next"):
            option.pop("next", None)
    return out


def stored_flow(flow: dict[str, Any]) -> dict[str, Any]:
    """A copy of the draft as the services store it: empty targets dropped."""
    out = copy.deepcopy(flow)
    out["nodes"] = {k: stored_node(v) for k, v in flow.setdefault("nodes", {}).items()}
    return out


def csv_items(value: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated field."""
    return [k.strip() for k in value.split(",") if k.strip()]


def _nodes(flow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return flow.setdefault("nodes", {})


def new_node_id(flow: dict[str, Any], kind: str, prefixes: Prefixes) -> str:
    """The first free `<prefix>_<n>` id for a node of `kind`."""
    prefix = prefixes.get(kind, kind)
    n = 1
    while f"{prefix}_{n}" in _nodes(flow):
        n += 1
    return f"{prefix}_{n}"


def add_node(flow: dict[str, Any], kind: str, prefixes: Prefixes) -> str | None:
    """Add a blank, unlinked node of `kind` (the start, when the flow has none); its id, or None for no kind."""
    if kind not in NODE_TYPES:
        return None
    node_id = new_node_id(flow, kind, prefixes)
    _nodes(flow)[node_id] = blank_node(kind)
    if not flow.get("start"):
        flow["start"] = node_id
    return node_id


def duplicate_node(flow: dict[str, Any], node_id: str, prefixes: Prefixes) -> str | None:
    """Add a copy of a node under a new id (its links go where the original's go); the id, or None."""
    node = _nodes(flow).get(node_id)
    if node is None:
        return None
    copy_id = new_node_id(flow, str(node.get("type")), prefixes)
    _nodes(flow)[copy_id] = copy.deepcopy(node)
    return copy_id


def set_start(flow: dict[str, Any], node_id: str) -> bool:
    """Make a node the flow's start."""
    if node_id not in _nodes(flow):
        return False
    flow["start"] = node_id
    return True


def change_type(flow: dict[str, Any], node_id: str, kind: str) -> bool:
    """Turn a node into a blank one of another type, keeping its text."""
    node = _nodes(flow).get(node_id)
    if node is None or kind not in NODE_TYPES or node.get("type") == kind:
        return False
    fresh = blank_node(kind)
    if "text" in fresh and node.get("text"):
        fresh["text"] = node["text"]
    _nodes(flow)[node_id] = fresh
    return True


def resolve_target(flow: dict[str, Any], value: str, prefixes: Prefixes) -> str:
    """A target dropdown's value as a node id: NEW_TARGET adds a message node right away, NO_TARGET is ""."""
    if value == NEW_TARGET:
        return add_node(flow, "message", prefixes) or ""
    return "" if value == NO_TARGET else value


def _number(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


def _team(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def set_node_field(flow: dict[str, Any], node_id: str, field: str, value: str, prefixes: Prefixes) -> bool:
    """Set one scalar field of a node from the form's string (targets, numbers and teams converted)."""
    node = _nodes(flow).get(node_id)
    if node is None:
        return False
    if field in TARGET_FIELDS:
        node[field] = resolve_target(flow, value, prefixes)
    elif field in INT_FIELDS:
        node[field] = _number(value)
    elif field == "team_id":
        node[field] = _team(value)
    elif field in TEXT_FIELDS:
        node[field] = value
    else:
        return False
    return True


def rename_node(flow: dict[str, Any], old: str, typed: str) -> str | None:
    """Give a node the id typed (lower-cased), moving every link, trigger and the start to it.

    Returns:
        The new id, or None when there is nothing to rename (same id, or no such node).

    Raises:
        InvalidNodeId: The id is not 1-40 lower-case letters, digits or _, or another node has it.
    """
    new, nodes = typed.strip().lower(), _nodes(flow)
    if new == old or old not in nodes:
        return None
    if not NODE_ID.match(new):
        raise InvalidNodeId("bad")
    if new in nodes:
        raise InvalidNodeId("taken")
    flow["nodes"] = {(new if k == old else k): v for k, v in nodes.items()}
    retarget(flow, old, new)
    return new


def delete_node(flow: dict[str, Any], node_id: str) -> bool:
    """Remove a node and every link into it (those become empty, and validation will say so)."""
    if node_id not in _nodes(flow):
        return False
    del _nodes(flow)[node_id]
    retarget(flow, node_id, "")
    if flow.get("start") == node_id:
        flow["start"] = next(iter(_nodes(flow)), "")
    flow.get("layout", {}).pop(node_id, None)
    return True


def retarget(flow: dict[str, Any], old: str, new: str) -> None:
    """Point every link, trigger and the start that named `old` at `new` ("" removes the link)."""
    if flow.get("start") == old:
        flow["start"] = new
    for node in flow.get("nodes", {}).values():
        for field in TARGET_FIELDS:
            if node.get(field) == old:
                node[field] = new
        for row in (node.get("options") or []) + (node.get("rules") or []):
            if row.get("next") == old:
                row["next"] = new
    for trigger in (flow.get("triggers") or {}).get("keywords") or []:
        if trigger.get("node") == old:
            trigger["node"] = new
    layout = flow.get("layout") or {}
    if old in layout and new:
        layout[new] = layout.pop(old)


def _rows(flow: dict[str, Any], node_id: str, key: str) -> list[dict[str, Any]] | None:
    """A node's options or rules (created empty), or None when there is no such node."""
    node = _nodes(flow).get(node_id)
    return None if node is None else node.setdefault(key, [])


def remove_row(flow: dict[str, Any], node_id: str, key: str, index: int) -> bool:
    """Remove a node's option or rule (`key` "options" or "rules") by position."""
    rows = _rows(flow, node_id, key)
    if rows is None or not 0 <= index < len(rows):
        return False
    rows.pop(index)
    return True


def add_option(flow: dict[str, Any], node_id: str) -> bool:
    """Add an empty menu option with the first free id `o<n>`."""
    options = _rows(flow, node_id, "options")
    if options is None:
        return False
    used = {o.get("id") for o in options}
    n = len(options) + 1
    while f"o{n}" in used:
        n += 1
    options.append({"id": f"o{n}", "label": "", "keywords": [], "next": ""})
    return True


def set_option(flow: dict[str, Any], node_id: str, index: int, field: str, value: str, prefixes: Prefixes) -> bool:
    """Set a menu option's label, keywords (comma-separated) or target."""
    options = _rows(flow, node_id, "options")
    if options is None or not 0 <= index < len(options):
        return False
    if field == "keywords":
        options[index]["keywords"] = csv_items(value)
    elif field == "next":
        options[index]["next"] = resolve_target(flow, value, prefixes)
    elif field == "label":
        options[index]["label"] = value
    return True


def add_rule(flow: dict[str, Any], node_id: str) -> bool:
    """Add an empty keyword rule to a condition."""
    rules = _rows(flow, node_id, "rules")
    if rules is None:
        return False
    rules.append({"kind": "keyword", "value": "", "next": ""})
    return True


def set_rule(flow: dict[str, Any], node_id: str, index: int, field: str, value: str, prefixes: Prefixes) -> bool:
    """Set a condition rule's kind (keeping its target), value, attribute, test, team or target."""
    rules = _rows(flow, node_id, "rules")
    if rules is None or not 0 <= index < len(rules):
        return False
    rule = rules[index]
    if field == "next":
        rule["next"] = resolve_target(flow, value, prefixes)
    elif field == "team_id":
        rule["team_id"] = _team(value)
    elif field == "kind":
        rules[index] = rule_of_kind(value, rule)
    elif field in RULE_FIELDS:
        rule[field] = value
    return True


def rule_of_kind(kind: str, old: dict[str, Any]) -> dict[str, Any]:
    """A condition rule of another kind, keeping its target (and its value where the kind has one)."""
    rule: dict[str, Any] = {"kind": kind, "next": old.get("next") or ""}
    if kind in ("keyword", "contains", "regex"):
        rule["value"] = old.get("value") or ""
    elif kind == "business_hours":
        rule["team_id"] = None
    elif kind == "attribute":
        rule.update(attribute=old.get("attribute") or "", op="eq", value=old.get("value") or "")
    else:
        return old
    return rule


def set_setting(flow: dict[str, Any], field: str, value: str) -> bool:
    """Set one of the flow's settings from the form's string; False for a field the form does not have."""
    settings = flow.setdefault("settings", {})
    if field == "exit_keywords":
        settings[field] = csv_items(value)
    elif field in NUMBER_SETTINGS:
        settings[field] = _number(value)
    elif field == "handoff_team_id":
        settings[field] = _team(value)
    elif field in TEXT_SETTINGS:
        # No out-of-hours text means "say nothing"; the other texts keep "" until validation.
        settings[field] = value or None if field == "out_of_hours_text" else value
    else:
        return False
    return True


def _keywords(flow: dict[str, Any]) -> list[dict[str, Any]]:
    return flow.setdefault("triggers", {}).setdefault("keywords", [])


def set_new_conversation(flow: dict[str, Any], checked: bool) -> bool:
    """Whether a new conversation starts the flow (else only keyword triggers do)."""
    flow.setdefault("triggers", {})["new_conversation"] = bool(checked)
    return True


def add_trigger(flow: dict[str, Any]) -> bool:
    """Add an empty keyword trigger that starts at the flow's start."""
    _keywords(flow).append({"keyword": "", "node": flow.get("start") or ""})
    return True


def set_trigger(flow: dict[str, Any], index: int, field: str, value: str, prefixes: Prefixes) -> bool:
    """Set a keyword trigger's keyword or node."""
    keywords = _keywords(flow)
    if not 0 <= index < len(keywords) or field not in ("keyword", "node"):
        return False
    keywords[index][field] = resolve_target(flow, value, prefixes) if field == "node" else value
    return True


def remove_trigger(flow: dict[str, Any], index: int) -> bool:
    """Remove a keyword trigger by position."""
    keywords = _keywords(flow)
    if not 0 <= index < len(keywords):
        return False
    keywords.pop(index)
    return True
