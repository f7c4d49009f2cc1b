"""Webhook bodies exactly as Meta shapes them (reference §3): inbound messages and statuses.

Pure: every builder takes `now` and the data it needs. `customer_message` raises
`ValueError` with a message safe to show the simulator's user.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from crm_app.sandbox import ids
from crm_app.sandbox.config import SandboxConfig
from crm_app.sandbox.errors import webhook_error
from crm_app.sandbox.state import MediaItem

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
CONVERSATION_TTL = dt.timedelta(hours=24)


def unix(now: dt.datetime) -> str:
    """Unix seconds as a string, as every Meta timestamp is."""
    return str(int(now.timestamp()))


def envelope(config: SandboxConfig, value: dict[str, Any]) -> dict[str, Any]:
    """The `whatsapp_business_account` wrapper around one `messages` change."""
    return {"object": "whatsapp_business_account",
            "entry": [{"id": config.waba_id, "changes": [{"value": value, "field": "messages"}]}]}


def metadata(config: SandboxConfig) -> dict[str, str]:
    """The business number as webhooks name it."""
    return {"display_phone_number": config.display_digits, "phone_number_id": config.phone_number_id}


def contact(wa_id: str, name: str) -> dict[str, Any]:
    """The sender's profile, with the business-scoped user ids newer payloads carry."""
    country = ids.country_of(wa_id)
    return {"profile": {"name": name}, "wa_id": wa_id, "user_id": ids.user_id(wa_id, country),
            "parent_user_id": ids.parent_user_id(wa_id, country)}


def inbound_body(config: SandboxConfig, wa_id: str, name: str, message: dict[str, Any]) -> dict[str, Any]:
    """A full webhook body carrying one customer message."""
    value = {"messaging_product": "whatsapp", "metadata": metadata(config), "contacts": [contact(wa_id, name)],
             "messages": [message]}
    return envelope(config, value)


def status_body(config: SandboxConfig, statuses: list[dict[str, Any]]) -> dict[str, Any]:
    """A full webhook body carrying statuses (no contacts, no messages)."""
    value = {"messaging_product": "whatsapp", "metadata": metadata(config), "statuses": statuses}
    return envelope(config, value)


def status_object(*, wamid: str, status: str, recipient_id: str, now: dt.datetime, category: str,
                  conversation_id: str, error_code: int | None = None,
                  biz_opaque_callback_data: str | None = None) -> dict[str, Any]:
    """One entry of `statuses[]` (§3.15).

    `conversation` and `pricing` ride on `sent` and `delivered`; the expiration only on `sent`;
    `failed` carries `errors[]` instead.
    """
    item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": unix(now), "recipient_id": recipient_id}
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if status in ("sent", "delivered"):
        conversation: dict[str, Any] = {"id": conversation_id}
        if status == "sent":
            conversation["expiration_timestamp"] = unix(now + CONVERSATION_TTL)
        conversation["origin"] = {"type": category}
        item["conversation"] = conversation
        item["pricing"] = pricing(category)
    if status == "failed":
        item["errors"] = [webhook_error(error_code or 131000)]
    return item


def pricing(category: str) -> dict[str, Any]:
    """Per-message pricing: service replies inside the window are free."""
    kind = "free_customer_service" if category == "service" else "regular"
    return {"billable": kind == "regular", "pricing_model": "PMP", "type": kind, "category": category}


def customer_message(spec: dict[str, Any], *, wa_id: str, wamid: str, now: dt.datetime, config: SandboxConfig,
                     media: dict[str, MediaItem]) -> dict[str, Any]:
    """The `messages[]` entry for what a customer sends from the simulator or a test.

    Args:
        spec: The control request (`type` and the fields of that type, see the module docs of control).
        wa_id: The customer's WhatsApp id.
        wamid: The new message's id.
        now: The send time.
        config: The sandbox configuration (for the display number in `context`).
        media: Uploaded media by id, for image/audio/video/document/sticker.
    """
    kind = spec.get("type") or "text"
    builder = BUILDERS.get(kind)
    if builder is None:
        raise ValueError(f"unsupported customer message type: {kind}")
    wire_type, content = builder(spec, media)
    message: dict[str, Any] = {}
    context = _context(spec, config)
    if context:
        message["context"] = context
    message.update({"from": wa_id, "id": wamid, "timestamp": unix(now), "type": wire_type})
    message.update(content)
    return message


def _context(spec: dict[str, Any], config: SandboxConfig) -> dict[str, Any] | None:
    if spec.get("reply_to"):
        return {"from": config.display_digits, "id": str(spec["reply_to"])}
    if spec.get("forwarded"):
        return {"frequently_forwarded": True} if spec.get("forwarded") == "frequently" else {"forwarded": True}
    return None


def _required_text(spec: dict[str, Any], key: str, limit: int = 4096) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' is required")
    if len(value) > limit:
        raise ValueError(f"'{key}' is longer than {limit} characters")
    return value


def _text(spec: dict[str, Any], media: dict[str, MediaItem]) -> tuple[str, dict[str, Any]]:
    text = spec.get("text")
    body = text.get("body") if isinstance(text, dict) else text
    return "text", {"text": {"body": _required_text({"text": body}, "text", 65536)}}


def _media(spec: dict[str, Any], media: dict[str, MediaItem]) -> tuple[str, dict[str, Any]]:
    kind = spec["type"]
    item = media.get(str(spec.get("media_id") or ""))
    if item is None:
        raise ValueError("'media_id' must be the id of a file uploaded to /sandbox/api/customer/media")
    content: dict[str, Any] = {}
    if spec.get("caption") and kind in ("image", "video", "document"):
        content["caption"] = str(spec["caption"])
    if kind == "document":
        content["filename"] = str(spec.get("filename") or item.filename or "documento")
    content.update({"mime_type": item.mime_type, "sha256": _b64_sha256(item), "id": item.id})
    if kind == "audio":
        content["voice"] = bool(spec.get("voice", False))
    if kind == "sticker":
        content["animated"] = bool(spec.get("animated", False))
    return kind, {kind: content}


def _b64_sha256(item: MediaItem) -> str:
    return base64.b64encode(bytes.fromhex(item.sha256_hex)).decode()


def _location(spec: dict[str, Any], media: dict[str, MediaItem]) -> tuple[str, dict[str, Any]]:
    """Fields from `spec["location"]`, else top-level `latitude`, `longitude`, `address`, `url`,
    `location_name` (top-level `name` is always the customer's profile name)."""
    nested = spec.get("location")
    source = nested if isinstance(nested, dict) else {**spec, "name": spec.get("location_name")}
    try:
        latitude, longitude = float(source["latitude"]), float(source["longitude"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("'latitude' and 'longitude' must be numbers") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError("'latitude' or 'longitude' out of range")
    content: dict[str, Any] = {"address": str(source["address"])} if source.get("address") else {}
    content.update({"latitude": latitude, "longitude": longitude})
    for key in ("name", "url"):
        if source.get(key):
            content[key] = str(source[key])
    return "location", {"location": content}


def _button_reply(spec: dict[str, Any], media: dict[str, MediaItem]) -> tuple[str, dict[str, Any]]:
    _require_reply_to(spec)
    reply = {"id": _required_text(spec, "button_id" if spec.get("button_id") else "id", 256),
             "title": _required_text(spec, "title", 20)}
    return "interactive", {"interactive": {"type": "button_reply", "button_reply": reply}}


def _list_reply(spec: dict[str, Any], media: dict[str, MediaItem]) -> tuple[str, dict[str, Any]]:
    _require_reply_to(spec)
    reply = {"id": _required_text(spec, "row_id" if spec.get("row_id") else "id", 200),
             "title": _required_text(spec, "title", 24)}
    if spec.get("description"):
        reply["description"] = str(spec["description"])
    return "interactive", {"interactive": {"type": "list_reply", "list_reply": reply}}


def _require_reply_to(spec: dict[str, Any]) -> None:
    if not spec.get("reply_to"):
        raise ValueError("'reply_to' (the wamid of the business's message) is required")


def _quick_reply(spec: dict[str, Any], media: dict[str, MediaItem]) -> tuple[str, dict[str, Any]]:
    text = _required_text(spec, "text", 256)
    return "button", {"button": {"payload": str(spec.get("payload") or text), "text": text}}


def _reaction(spec: dict[str, Any], media: dict[str, MediaItem]) -> tuple[str, dict[str, Any]]:
    reaction = {"message_id": _required_text(spec, "message_id", 512)}
    if spec.get("emoji"):
        reaction["emoji"] = str(spec["emoji"])
    return "reaction", {"reaction": reaction}


def _contacts(spec: dict[str, Any], media: dict[str, MediaItem]) -> tuple[str, dict[str, Any]]:
    contacts = spec.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise ValueError("'contacts' must be a non-empty list of Meta contact objects")
    return "contacts", {"contacts": contacts}


BUILDERS = {
    "text": _text, "image": _media, "audio": _media, "video": _media, "document": _media, "sticker": _media,
    "location": _location, "button_reply": _button_reply, "list_reply": _list_reply, "button": _quick_reply,
    "reaction": _reaction, "contacts": _contacts,
}
