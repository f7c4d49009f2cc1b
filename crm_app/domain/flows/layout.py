"""Pure helpers for the flow editor's map: a node's outgoing links, depths from the start, and card positions.

This is drawing only: what a flow *means* (validation, running it) belongs to `flows.schema` and `flows.engine`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

CARD_W, CARD_H = 200, 92
GAP_X, GAP_Y = 96, 30
PAD = 16
# Node types whose card shows nothing after it (the conversation leaves the bot there).
TERMINAL = ("handoff", "close")


@dataclass(frozen=True)
class Link:
    """One outgoing connection: `label` is an i18n key (`key=True`) or the admin's own text."""

    target: str
    label: str
    key: bool = True


def links(node: dict[str, Any]) -> list[Link]:
    """Where a node can go next, in the order the editor shows them."""
    kind = node.get("type")
    out: list[Link] = []
    if kind == "menu":
        for index, option in enumerate(node.get("options") or []):
            label = str(option.get("label") or "").strip() or str(index + 1)
            out.append(Link(str(option.get("next") or ""), label, key=False))
        out.append(Link(str(node.get("on_fail") or ""), "editor.link.on_fail"))
    elif kind == "condition":
        for rule in node.get("rules") or []:
            out.append(Link(str(rule.get("next") or ""), rule_label(rule), key=False))
        out.append(Link(str(node.get("else") or ""), "editor.link.else"))
    elif kind == "consent":
        out.append(Link(str(node.get("granted") or ""), "editor.link.granted"))
        out.append(Link(str(node.get("refused") or ""), "editor.link.refused"))
        out.append(Link(str(node.get("on_fail") or ""), "editor.link.on_fail"))
    elif kind in ("collect", "ai"):
        out.append(Link(str(node.get("next") or ""), "editor.link.ok"))
        out.append(Link(str(node.get("on_fail") or ""), "editor.link.on_fail"))
    elif kind in ("message", "set"):
        out.append(Link(str(node.get("next") or ""), "editor.link.next"))
    return out


def rule_label(rule: dict[str, Any]) -> str:
    """A short, language-neutral summary of a condition rule for the map."""
    kind = rule.get("kind")
    if kind == "business_hours":
        return "⏰"
    if kind == "attribute":
        return f"{rule.get('attribute') or '?'} {rule.get('op') or 'eq'} {rule.get('value') or ''}".strip()
    return f"{kind}: {rule.get('value') or ''}"


def targets(node: dict[str, Any]) -> list[str]:
    """The node ids a node links to, in the order the map draws them (empty links left out)."""
    return [link.target for link in links(node) if link.target]


def incoming(nodes: dict[str, dict[str, Any]], node_id: str) -> list[str]:
    """The nodes that link to `node_id` (for the delete warning)."""
    return [source for source, node in nodes.items() if source != node_id and node_id in targets(node)]


def depths(flow: dict[str, Any]) -> dict[str, int]:
    """Breadth-first depth of each node from the start, then from keyword triggers the start does not reach;
    unreachable ones are absent."""
    nodes = flow.get("nodes") or {}
    roots = [flow.get("start")] + [t.get("node") for t in (flow.get("triggers") or {}).get("keywords") or []]
    seen: dict[str, int] = {}
    for root in roots:
        queue = deque([(root, 0)] if root in nodes and root not in seen else [])
        while queue:
            node_id, depth = queue.popleft()
            if node_id in seen:
                continue
            seen[node_id] = depth
            queue.extend((t, depth + 1) for t in targets(nodes[node_id]) if t in nodes and t not in seen)
    return seen


@dataclass(frozen=True)
class Placed:
    """A card's top-left corner on the map, in CSS pixels."""

    node_id: str
    x: int
    y: int


def place(flow: dict[str, Any]) -> tuple[list[Placed], int, int]:
    """Cards in columns by depth; unreachable nodes get a column of their own at the end."""
    nodes = flow.get("nodes") or {}
    depth = depths(flow)
    last = max(depth.values(), default=-1) + 1
    columns: dict[int, list[str]] = {}
    for node_id in nodes:
        columns.setdefault(depth.get(node_id, last), []).append(node_id)
    placed = [Placed(node_id, PAD + col * (CARD_W + GAP_X), PAD + row * (CARD_H + GAP_Y))
              for col, ids in sorted(columns.items()) for row, node_id in enumerate(ids)]
    width = max((p.x for p in placed), default=0) + CARD_W + PAD
    height = max((p.y for p in placed), default=0) + CARD_H + PAD
    return placed, width, height


def edge_path(src: Placed, dst: Placed) -> tuple[str, int, int]:
    """An SVG cubic from the right edge of `src` to the left edge of `dst`, and where its label goes.

    Links that go back (loops) leave from the bottom and arc below the cards, so they stay readable.
    """
    if dst.x > src.x:
        x1, y1 = src.x + CARD_W, src.y + CARD_H // 2
        x2, y2 = dst.x, dst.y + CARD_H // 2
        bend = max(40, (x2 - x1) // 2)
        d = f"M {x1} {y1} C {x1 + bend} {y1}, {x2 - bend} {y2}, {x2} {y2}"
        return d, (x1 + x2) // 2, (y1 + y2) // 2 - 4
    x1, y1 = src.x + CARD_W // 2, src.y + CARD_H
    x2, y2 = dst.x + CARD_W // 2 + 24, dst.y + CARD_H
    low = max(y1, y2) + GAP_Y + 10
    d = f"M {x1} {y1} C {x1} {low}, {x2} {low}, {x2} {y2}"
    return d, (x1 + x2) // 2, low - 6
