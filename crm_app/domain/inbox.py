"""Pure helpers for the inbox: list previews, keyset cursors, phone display, canned-response variables."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping

from crm_app.domain.search import like_pattern

PREVIEW_LENGTH = 200
_SPACES = re.compile(r"\s+")

# One emoji per kind: the preview stays language-neutral, and the UI shows it as is.
_KIND_ICONS = {
    "image": "📷", "video": "🎥", "audio": "🎵", "voice": "🎤", "document": "📄", "sticker": "💟",
    "location": "📍", "contacts": "👤", "template": "📋", "order": "🛒", "unsupported": "⚠️",
}


def compute_preview(kind: str, body: str | None) -> str:
    """One line for the conversation list: the text, or the kind's emoji and its caption or name."""
    text = _SPACES.sub(" ", body or "").strip()
    icon = _KIND_ICONS.get(kind)
    line = f"{icon} {text}".strip() if icon else text
    if len(line) > PREVIEW_LENGTH:
        line = line[:PREVIEW_LENGTH - 1] + "…"
    return line


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def encode_cursor(moment: dt.datetime | None, row_id: int) -> str:
    """An opaque keyset cursor for (moment, id); exact to the microsecond."""
    micros = "" if moment is None else str((moment - _EPOCH) // dt.timedelta(microseconds=1))
    return base64.urlsafe_b64encode(f"{micros}:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime | None, int]:
    """The (moment, id) a cursor encodes. Raises ValueError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        micros, _, row_id = raw.partition(":")
        moment = None if micros == "" else _EPOCH + dt.timedelta(microseconds=int(micros))
        return moment, int(row_id)
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:  # a huge number overflows the timedelta
        raise ValueError("invalid cursor") from exc


def display_phone(phone_e164: str | None) -> str:
    """A phone as people read it: "+55 11 98123-4567" for Brazil, the E.164 form elsewhere."""
    phone = phone_e164 or ""
    digits = phone.lstrip("+")
    if digits.startswith("55") and len(digits) in (12, 13) and digits.isdigit():
        local = digits[4:]
        return f"+55 {digits[2:4]} {local[:-4]}-{local[-4:]}"
    return phone


_VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_]+)\s*\}\}")


def render_variables(content: str, values: Mapping[str, str | None]) -> str:
    """Replace `{{name}}` with `values[name]` (missing value: empty); unknown names stay as typed."""
    def substitute(match: re.Match) -> str:
        name = match.group(1).lower()
        if name not in values:
            return match.group(0)
        return values[name] or ""

    return _VARIABLE.sub(substitute, content)


_PHONE_LIKE = re.compile(r"^[\d\s()+.\-]+$")


def search_pattern(query: str | None) -> str | None:
    """The LIKE pattern for a search box: a typed phone ("(11) 98123-4567") searches by its digits only."""
    text = (query or "").strip()
    if _PHONE_LIKE.match(text) and any(ch.isdigit() for ch in text):
        text = "".join(ch for ch in text if ch.isdigit())
    return like_pattern(text)
