"""A message's texts across a customer's edits and deletion. Pure: no session, no clock.

A message's `edit_history` holds every text it had, oldest first: the original, then each edit, each as
{"body", "at" (ISO time), "wa_message_id" (the wamid that set it)}. The last one is the current text.
Edits are kept in the order they were sent, whatever order their webhooks arrive in, and an edit that is
already there (a redelivered webhook) changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# What the conversation list shows for a deleted message: language-neutral, like the other previews.
DELETED_PREVIEW = "🚫"
# The parts of a deleted message's raw payload kept when its tenant does not keep deleted texts.
ENVELOPE_KEYS = ("id", "from", "timestamp", "type")


def version(body: str | None, at: dt.datetime, wa_message_id: str | None) -> dict[str, Any]:
    """One text of a message, as stored in `edit_history`."""
    return {"body": body, "at": at.isoformat(), "wa_message_id": wa_message_id}


def with_edit(history: list[dict[str, Any]] | None, original: dict[str, Any],
              edit: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The history with one more edit, or None when that edit (its wamid) is already in it.

    Args:
        history: The stored history, or None before the first edit.
        original: The original text's `version`, used when there is no history yet.
        edit: The edit's `version`.

    Returns:
        The new history: the original first, then the edits by the time they were sent.
    """
    versions = list(history or [original])
    if any(v.get("wa_message_id") == edit["wa_message_id"] for v in versions):
        return None
    edits = sorted([*versions[1:], edit], key=lambda v: str(v.get("at") or ""))  # stable: ties keep arrival
    return [versions[0], *edits]


def edited_at(history: list[dict[str, Any]]) -> dt.datetime:
    """When the current text was sent (the last version's time)."""
    return dt.datetime.fromisoformat(history[-1]["at"])


def earlier_texts(history: list[dict[str, Any]] | None) -> list[str]:
    """The texts a message had before its current one, oldest first (blank ones left out)."""
    return [str(v["body"]) for v in (history or [])[:-1] if v.get("body")]


def blanked(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history without its texts: when and by which wamid each edit happened stays."""
    return [{**v, "body": None} for v in history]


def envelope(payload: dict[str, Any] | None) -> dict[str, Any]:
    """A raw payload reduced to who sent what kind of message when, without its content."""
    return {k: v for k, v in (payload or {}).items() if k in ENVELOPE_KEYS}
