"""Matching what the customer typed against the flow: exit words, keyword triggers and menu choices.

Pure: the interpreter (`flows.engine`) asks these whether a message means something to the flow. Text is
compared folded (no accents, no case), without punctuation or emoji.
"""

from __future__ import annotations

import re
from typing import Any

from crm_app.domain.flows.schema import nodes_of, settings_of
from crm_app.domain.search import fold

_PUNCT = re.compile(r"[^\w\s]")


def clean_text(text: str | None) -> str:
    """Folded, without punctuation or emoji, single-spaced."""
    return re.sub(r"\s+", " ", _PUNCT.sub(" ", fold(text))).strip()


def has_word(text: str, phrase: str) -> bool:
    """Whether `phrase` (cleaned) occurs in the cleaned `text` as whole words."""
    phrase = clean_text(phrase)
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None


def is_exit_keyword(definition: dict[str, Any], text: str | None) -> bool:
    """Whether the customer asks for a person ("atendente", "humano"…), folded, as a word of the message."""
    cleaned = clean_text(text)
    return bool(cleaned) and any(has_word(cleaned, k) for k in settings_of(definition)["exit_keywords"] or [])


def keyword_trigger(definition: dict[str, Any], text: str | None) -> str | None:
    """The node a keyword trigger starts at, when the whole message is that keyword."""
    cleaned = clean_text(text)
    triggers = definition.get("triggers") if isinstance(definition.get("triggers"), dict) else {}
    for entry in triggers.get("keywords") or []:
        if cleaned and cleaned == clean_text((entry or {}).get("keyword")) and (entry or {}).get("node") in nodes_of(
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
    cleaned = clean_text(text)
    if not cleaned:
        return None
    number = re.fullmatch(r"(?:opcao |op |numero )?(\d{1,2})", cleaned)
    if number:
        chosen = int(number.group(1))
        return options[chosen - 1] if 1 <= chosen <= len(options) else None
    exact = [o for o in options if clean_text(o.get("label")) == cleaned]
    if exact:
        return exact[0]
    hits = [o for o in options if has_word(cleaned, o.get("label") or "")
            or any(has_word(cleaned, k) for k in o.get("keywords") or [])]
    return hits[0] if len(hits) == 1 else None
