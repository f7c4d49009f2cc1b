"""Text folding for search: "São João" and "sao joao" are the same query in pt-BR."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
MAX_FOLDED = 4000  # longer bodies are searched on their beginning only


def fold(value: str | None) -> str:
    """Lower case, accents removed, runs of whitespace collapsed to one space."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()[:MAX_FOLDED]


def contact_search_text(name: str | None, phone_e164: str | None, email: str | None) -> str:
    """What a contact is found by: its name, its phone digits (with and without +) and its e-mail."""
    digits = "".join(ch for ch in (phone_e164 or "") if ch.isdigit())
    return " ".join(part for part in (fold(name), digits, fold(email)) if part)


def like_pattern(query: str) -> str | None:
    """A LIKE pattern for a folded query, with LIKE's wildcards escaped; None for an empty query."""
    folded = fold(query)
    if not folded:
        return None
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
