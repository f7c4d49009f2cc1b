"""Every audit action code the code base can write, found by reading its source (so a new call is seen)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "crm_app"
# Helpers that pass their own argument on as the code (or as its conversation./team. suffix).
CONVERSATION_HELPERS = {"record_change", "_record"}
CONVERSATION_DIRS = ("conversations", "inbox", "routing", "bot")
KNOWN_DYNAMIC = {"f'team.{field}'", "f'conversation.{action}'", "action"}
# Codes built from an enum's values: every value is a code.
ENUM_CODES = {"f'privacy.request.{kind}'": ("privacy.request.", "crm_app.models.privacy", "RequestKind")}


def _constants(node: ast.AST | None) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _constants(node.body), _constants(node.orelse)
        return None if a is None or b is None else a + b
    return None


def _name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def scan() -> tuple[set[str], list[str]]:
    """(codes, problems): a problem is a call whose code this scan cannot read."""
    codes: set[str] = set()
    problems: list[str] = []
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        in_conversations = any(part in CONVERSATION_DIRS for part in path.parts)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name, kw = _name(call), {k.arg: k.value for k in call.keywords}
            where = f"{path.relative_to(ROOT.parent)}:{call.lineno}"
            if name == "record" and getattr(call.func, "value", None) is not None \
                    and getattr(call.func.value, "id", "") == "audit":
                found = _constants(kw.get("action"))
                if found is None and ast.unparse(kw.get("action")) in ENUM_CODES:
                    prefix, module, enum = ENUM_CODES[ast.unparse(kw.get("action"))]
                    found = [prefix + str(v) for v in getattr(importlib.import_module(module), enum)]
                if found is None and ast.unparse(kw.get("action")) not in KNOWN_DYNAMIC:
                    problems.append(f"{where}: {ast.unparse(kw.get('action'))}")
                codes.update(found or [])
            elif name in CONVERSATION_HELPERS and in_conversations:
                arg = kw.get("action") or (call.args[3] if len(call.args) > 3 else None)
                found = _constants(arg)
                if found is not None:
                    codes.update(f"conversation.{c}" for c in found)
            elif name == "_change" and path.name == "teams.py":
                codes.update(f"team.{c}" for c in _constants(call.args[3]) or [])
            elif name == "_audit_attempt":
                codes.update(_constants(call.args[2]) or [])
            elif name == "_audit_both":
                codes.update(_constants(kw.get("action")) or [])
    return codes, problems


if __name__ == "__main__":
    found, bad = scan()
    print(len(found), sorted(found), bad)
