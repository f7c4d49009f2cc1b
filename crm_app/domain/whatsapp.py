"""Parse Meta's webhook bodies into plain facts. Pure: no session, no clock.

One POST may hold several entries, changes, messages and statuses; every level
is walked. Unknown fields are ignored; an unknown message type becomes
`unsupported` with its raw JSON kept.

A customer's edit or deletion of an earlier message comes in two forms: `edit`
and `revoke` types that name the original (`original_message_id`), or an
`unsupported` message whose `unsupported.type` is `edit`, which names none.
Both are parsed as a `change` of an earlier message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
CHANGE_KINDS = ("edit", "revoke")
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3}


@dataclass(frozen=True)
class InboundMessage:
    phone_number_id: str
    wa_id: str
    profile_name: str | None
    wa_message_id: str
    sent_at: dt.datetime
    kind: str
    body: str | None
    media_id: str | None = None
    media_mime: str | None = None
    reply_to_wa_message_id: str | None = None
    forwarded: bool = False
    payload: dict[str, Any] = field(default_factory=dict)
    # "edit" or "revoke" when this message changes an earlier one (its `body` is then the edited text),
    # and that earlier message's wamid when Meta says which.
    change: str | None = None
    original_wa_message_id: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    phone_number_id: str
    wa_message_id: str
    status: str
    at: dt.datetime
    recipient_id: str | None
    error_code: int | None = None
    error_reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedWebhook:
    messages: list[InboundMessage]
    statuses: list[StatusUpdate]
    errors: list[dict[str, Any]]
    ignored_fields: list[str]


def verify_signature(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """Check `X-Hub-Signature-256` (``sha256=<hex>``) over the exact bytes received."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def sign(raw_body: bytes, app_secret: str) -> str:
    """The header value Meta would send for `raw_body`."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def phone_number_ids(body: dict[str, Any]) -> set[str]:
    """Every `metadata.phone_number_id` in a webhook body (how it is routed)."""
    ids = set()
    for _, value in _changes(body):
        pid = (value.get("metadata") or {}).get("phone_number_id")
        if pid:
            ids.add(str(pid))
    return ids


def waba_ids(body: dict[str, Any]) -> list[str]:
    """The WhatsApp Business Account ids (`entry[].id`) of a body, in order."""
    return [str(entry["id"]) for entry in body.get("entry") or [] if entry.get("id")]


def parse_webhook(body: dict[str, Any]) -> ParsedWebhook:
    """Every message, status and error in a body; other fields are listed as ignored."""
    messages, statuses, errors, ignored = [], [], [], []
    for field_name, value in _changes(body):
        if field_name != "messages":
            ignored.append(field_name)
            continue
        pid = str((value.get("metadata") or {}).get("phone_number_id", ""))
        names = {c.get("wa_id"): (c.get("profile") or {}).get("name") for c in value.get("contacts") or []}
        for raw in value.get("messages") or []:
            sender = _sender(raw, names)
            messages.append(parse_message(dict(raw, **{"from": sender}), pid, names.get(sender)))
        for raw in value.get("statuses") or []:
            statuses.append(parse_status(raw, pid))
        errors.extend(value.get("errors") or [])
    return ParsedWebhook(messages, statuses, errors, ignored)


def _sender(raw: dict[str, Any], names: dict[str, Any]) -> str:
    """`from`, or the only contact's wa_id when `from` carries no number."""
    sender = str(raw.get("from", ""))
    if not any(ch.isdigit() for ch in sender) and len(names) == 1:
        return str(next(iter(names)))
    return sender


def _changes(body: dict[str, Any]):
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or []:
            yield change.get("field", ""), change.get("value") or {}


def _timestamp(value: Any) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (TypeError, ValueError):
        return dt.datetime.fromtimestamp(0, dt.UTC)


def parse_message(raw: dict[str, Any], phone_number_id: str, profile_name: str | None) -> InboundMessage:
    """One inbound message of any type."""
    kind, body, media = _content(raw)
    context = raw.get("context") or {}
    change, original = _change(raw)
    if change is not None:
        media, context = {}, {}  # an edit's own media and context describe the original, not a new message
    return InboundMessage(
        phone_number_id=phone_number_id, wa_id=str(raw.get("from", "")), profile_name=profile_name,
        wa_message_id=str(raw.get("id", "")), sent_at=_timestamp(raw.get("timestamp")), kind=kind, body=body,
        media_id=media.get("id"), media_mime=media.get("mime_type"),
        reply_to_wa_message_id=context.get("id") if not context.get("forwarded") else None,
        forwarded=bool(context.get("forwarded") or context.get("frequently_forwarded")), payload=raw,
        change=change, original_wa_message_id=original,
    )


def _change(raw: dict[str, Any]) -> tuple[str | None, str | None]:
    """("edit" or "revoke", the original's wamid or None) for a change of an earlier message, else (None, None)."""
    kind = raw.get("type")
    if kind in CHANGE_KINDS:
        original = (raw.get(kind) or {}).get("original_message_id")
        return kind, str(original) if original else None
    if kind == "unsupported" and (raw.get("unsupported") or {}).get("type") == "edit":
        return "edit", None
    return None, None


def _content(raw: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """(kind, display text, media object) for a message."""
    kind = raw.get("type", "unsupported")
    data = raw.get(kind) or {}
    if kind == "text":
        return "text", data.get("body"), {}
    if kind in MEDIA_KINDS:
        is_voice = kind == "audio" and data.get("voice")
        return ("voice" if is_voice else kind), data.get("caption") or data.get("filename"), data
    if kind == "location":
        label = " — ".join(x for x in (data.get("name"), data.get("address")) if x)
        return "location", label or f"{data.get('latitude')}, {data.get('longitude')}", {}
    if kind == "contacts":
        names = [(c.get("name") or {}).get("formatted_name", "") for c in raw.get("contacts") or []]
        return "contacts", ", ".join(n for n in names if n), {}
    if kind == "interactive":
        reply = data.get(data.get("type", "")) or {}
        return "interactive", reply.get("title") or reply.get("body") or None, {}
    if kind == "button":
        return "button", data.get("text"), {}
    if kind == "reaction":
        return "reaction", data.get("emoji") or "", {}
    if kind == "order":
        return "order", data.get("text") or None, {}
    if kind == "system":
        return "system", data.get("body"), {}
    if kind == "edit":
        edited = data.get("message") or {}
        if not isinstance(edited, dict) or edited.get("type") in CHANGE_KINDS:
            return "edit", None, {}
        return "edit", _content(edited)[1], {}
    if kind == "revoke":
        return "revoke", None, {}
    return "unsupported", None, {}


def parse_status(raw: dict[str, Any], phone_number_id: str) -> StatusUpdate:
    """One delivery status of an outbound message."""
    error = (raw.get("errors") or [{}])[0]
    details = (error.get("error_data") or {}).get("details")
    return StatusUpdate(
        phone_number_id=phone_number_id, wa_message_id=str(raw.get("id", "")), status=str(raw.get("status", "")),
        at=_timestamp(raw.get("timestamp")), recipient_id=raw.get("recipient_id"),
        error_code=error.get("code"), error_reason=details or error.get("title") or error.get("message"),
        payload=raw,
    )


def next_status(current: str, incoming: str) -> str:
    """Statuses only move forward: sent < delivered < read; failed is final."""
    if current == "failed" or incoming == current:
        return current
    if incoming == "failed":
        return "failed"
    if incoming not in STATUS_RANK:
        return current  # "played", "deleted", …: no delivery progress
    return incoming if STATUS_RANK[incoming] > STATUS_RANK.get(current, 0) else current
