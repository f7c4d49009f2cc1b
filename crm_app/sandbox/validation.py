"""Check a `POST /{phone_number_id}/messages` body the way Meta does, raising `GraphError`.

Limits come from Meta's message pages (reference §4.2-§4.8, checklist §8.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_app.sandbox import media, message_templates
from crm_app.sandbox.errors import GraphError, invalid_value, param_error
from crm_app.sandbox.state import SandboxState

SEND_TYPES = ("text", "image", "audio", "video", "document", "sticker", "location", "contacts", "interactive",
              "template", "reaction")
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
CAPTIONED = ("image", "video", "document")
INTERACTIVE_TYPES = ("button", "list", "cta_url", "flow", "product", "product_list", "catalog_message",
                     "location_request_message", "address_message", "call_permission_request")


@dataclass
class ValidSend:
    """A message send that passed validation.

    Attributes:
        to: The `to` field as received.
        wa_id: The recipient's WhatsApp id (digits of `to`).
        type: The message type.
        content: The type's object (`body[type]`).
        template: The stored template, for template sends.
        async_failure: An error code Meta reports later in a `failed` status instead of refusing the call.
    """

    to: str
    wa_id: str
    type: str
    content: dict[str, Any]
    template: dict[str, Any] | None = None
    async_failure: int | None = None


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (so missing and malformed read alike)."""
    return value if isinstance(value, dict) else {}


def required(path: str) -> GraphError:
    """Meta's "The parameter X is required." error."""
    return param_error(f"The parameter {path} is required.")


def one_of(path: str, allowed: tuple[str, ...], got: Any) -> GraphError:
    """Meta's "Param X must be one of {...}" error."""
    choices = ", ".join(a.upper() for a in allowed)
    return param_error(f'Param {path} must be one of {{{choices}}} - got "{got}".')


def too_long(path: str, limit: int) -> GraphError:
    """Meta's "Param X must be at most N characters long." error."""
    return param_error(f"Param {path} must be at most {limit} characters long.")


def check_product(body: Any) -> dict[str, Any]:
    """The body as a dict with `messaging_product` == "whatsapp"."""
    if not isinstance(body, dict):
        raise GraphError(100, "The request body must be a JSON object.")
    product = body.get("messaging_product")
    if product in (None, ""):
        raise required("messaging_product")
    if product != "whatsapp":
        raise one_of("messaging_product", ("whatsapp",), product)
    return body


def is_read_request(body: dict[str, Any]) -> bool:
    """Whether the body is a mark-as-read (with optional typing indicator)."""
    return "status" in body and "type" not in body


def check_read(body: dict[str, Any], state: SandboxState) -> str:
    """The message id of a valid mark-as-read body."""
    if body.get("status") != "read":
        raise one_of("status", ("read",), body.get("status"))
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise required("message_id")
    indicator = body.get("typing_indicator")
    if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
        raise one_of("typing_indicator['type']", ("text",), obj(indicator).get("type"))
    if message_id not in state.known_inbound_wamids:
        raise invalid_value(f"Message ID {message_id} is invalid: no message with this id was received.")
    return message_id


def check_send(body: dict[str, Any], state: SandboxState) -> ValidSend:
    """A valid message send, or a `GraphError` like Meta's."""
    to = body.get("to") if body.get("to") is not None else body.get("recipient")
    if not isinstance(to, str) or not to.strip():
        raise required("to")
    wa_id = _recipient_digits(to)
    recipient_type = body.get("recipient_type", "individual")
    if recipient_type != "individual":
        raise one_of("recipient_type", ("individual",), recipient_type)
    kind = body.get("type", "text")
    if kind not in SEND_TYPES:
        raise one_of("type", SEND_TYPES, kind)
    if kind == "contacts":
        check_contacts(body)
    content = {"contacts": body["contacts"]} if kind == "contacts" else body.get(kind)
    if not isinstance(content, dict):
        raise required(kind)
    send = ValidSend(to=to, wa_id=wa_id, type=kind, content=content)
    CHECKS[kind](send, state)
    return send


def _recipient_digits(to: str) -> str:
    digits = "".join(ch for ch in to if ch.isdigit())
    if any(ch not in "0123456789+-() ." for ch in to) or not 8 <= len(digits) <= 15:
        raise param_error("Invalid parameter", 100) from None
    return digits


def _text_field(obj: dict[str, Any], key: str, path: str, limit: int, *, needed: bool = True) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if needed:
            raise required(path)
        return None
    if not isinstance(value, str):
        raise param_error(f"Param {path} must be a string.")
    if len(value) > limit:
        raise too_long(path, limit)
    return value


def check_text(send: ValidSend, state: SandboxState) -> None:
    """text: `body` required, at most 4096 characters; `preview_url` a boolean."""
    _text_field(send.content, "body", "text['body']", 4096)
    if not isinstance(send.content.get("preview_url", False), bool):
        raise param_error("Param text['preview_url'] must be a boolean.")


def check_media(send: ValidSend, state: SandboxState) -> None:
    """image/audio/video/document/sticker: `id` of uploaded media or `link`; caption at most 1024."""
    kind, content = send.type, send.content
    if not content.get("id") and not content.get("link"):
        raise required(f"{kind}['id'] or {kind}['link']")
    if kind in CAPTIONED:
        _text_field(content, "caption", f"{kind}['caption']", 1024, needed=False)
    if content.get("id"):
        item = state.media.get(str(content["id"]))
        if item is None:
            raise invalid_value(f"Invalid media id {content['id']}: the media does not exist or has expired.")
        if media.kind_for(item.mime_type) != kind:
            send.async_failure = 131053


def check_location(send: ValidSend, state: SandboxState) -> None:
    """location: numeric `latitude` and `longitude`."""
    for key in ("latitude", "longitude"):
        value = send.content.get(key)
        if value is None:
            raise required(f"location['{key}']")
        try:
            float(value)
        except (TypeError, ValueError):
            raise param_error(f"Param location['{key}'] must be a number.") from None


def check_contacts(body: dict[str, Any]) -> None:
    """contacts: a non-empty list (not an object), each with `name.formatted_name`."""
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise required("contacts")
    for index, contact in enumerate(contacts):
        name = obj(contact).get("name")
        if not isinstance(name, dict) or not name.get("formatted_name"):
            raise required(f"contacts[{index}]['name']['formatted_name']")


def check_reaction(send: ValidSend, state: SandboxState) -> None:
    """reaction: `message_id` required; reacting to an unknown message fails later with 131009."""
    message_id = send.content.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise required("reaction['message_id']")
    if not isinstance(send.content.get("emoji", ""), str):
        raise param_error("Param reaction['emoji'] must be a string.")
    if message_id not in state.known_inbound_wamids and message_id not in state.sent_by_wamid:
        send.async_failure = 131009


def check_interactive(send: ValidSend, state: SandboxState) -> None:
    """interactive: a known `type`, a body, and the limits of reply buttons and lists."""
    content = send.content
    kind = content.get("type")
    if kind not in INTERACTIVE_TYPES:
        raise one_of("interactive['type']", INTERACTIVE_TYPES, kind)
    action = content.get("action")
    if not isinstance(action, dict):
        raise required("interactive['action']")
    _check_header_footer(content)
    if kind == "button":
        _text_field(obj(content.get("body")), "text", "interactive['body']['text']", 1024)
        check_buttons(action)
    elif kind == "list":
        _text_field(obj(content.get("body")), "text", "interactive['body']['text']", 4096)
        check_list(action)
    elif kind == "cta_url":
        _text_field(obj(content.get("body")), "text", "interactive['body']['text']", 1024)
        params = obj(action.get("parameters"))
        _text_field(params, "display_text", "interactive['action']['parameters']['display_text']", 20)
        _text_field(params, "url", "interactive['action']['parameters']['url']", 2000)


def _check_header_footer(content: dict[str, Any]) -> None:
    header = content.get("header")
    if isinstance(header, dict) and header.get("type") == "text":
        _text_field(header, "text", "interactive['header']['text']", 60)
    footer = content.get("footer")
    if isinstance(footer, dict):
        _text_field(footer, "text", "interactive['footer']['text']", 60, needed=False)


def check_buttons(action: dict[str, Any]) -> None:
    """Reply buttons: 1 to 3, each with an id (≤256) and a unique title (1 to 20 characters)."""
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise invalid_value("Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3")
    titles, ids = set(), set()
    for button in buttons:
        reply = obj(button).get("reply")
        if not isinstance(reply, dict) or obj(button).get("type") != "reply":
            raise required("interactive['action']['buttons'][]['reply']")
        title, button_id = str(reply.get("title") or ""), str(reply.get("id") or "")
        if not 1 <= len(title) <= 20:
            raise invalid_value("Button title length invalid. Min length: 1, Max length: 20")
        if not 1 <= len(button_id) <= 256:
            raise invalid_value("Button id length invalid. Min length: 1, Max length: 256")
        if title in titles or button_id in ids:
            raise invalid_value("Button title and id must be unique")
        titles.add(title)
        ids.add(button_id)


def check_list(action: dict[str, Any]) -> None:
    """List: a button label ≤20, 1 to 10 sections, 1 to 10 rows in all, with Meta's length limits."""
    label = str(action.get("button") or "")
    if not 1 <= len(label) <= 20:
        raise invalid_value("Button title length invalid. Min length: 1, Max length: 20")
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise invalid_value("Invalid sections count. Min allowed sections: 1, Max allowed sections: 10")
    rows = [row for section in sections for row in _rows(section)]
    if not 1 <= len(rows) <= 10:
        raise invalid_value("Total row count exceed max allowed count: 10")
    for section in sections:
        _check_section(section, many=len(sections) > 1)
    ids = [str(obj(row).get("id", "")) for row in rows]
    if len(set(ids)) != len(ids):
        raise invalid_value("Row ids must be unique")


def _rows(section: Any) -> list[Any]:
    rows = obj(section).get("rows")
    return rows if isinstance(rows, list) else []


def _check_section(section: Any, many: bool) -> None:
    if not isinstance(section, dict):
        raise required("interactive['action']['sections'][]")
    title = str(section.get("title") or "")
    if (many and not title) or len(title) > 24:
        raise invalid_value("Section title length invalid. Min length: 1, Max length: 24")
    for row in map(obj, _rows(section)):
        if not 1 <= len(str(row.get("title") or "")) <= 24:
            raise invalid_value("Row title length invalid. Min length: 1, Max length: 24")
        if not 1 <= len(str(row.get("id") or "")) <= 200:
            raise invalid_value("Row id length invalid. Min length: 1, Max length: 200")
        if len(str(row.get("description") or "")) > 72:
            raise invalid_value("Row description length invalid. Max length: 72")


def check_template(send: ValidSend, state: SandboxState) -> None:
    """template: it must exist in that language and be approved, with the right parameters."""
    content = send.content
    name = content.get("name")
    if not isinstance(name, str) or not name:
        raise required("template['name']")
    language = content.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code:
        raise required("template['language']['code']")
    template = message_templates.find_template(state.templates, name, code)
    status = template["status"] if template else None
    if status == "PAUSED":
        raise GraphError(132015, f"Template {name} is paused and cannot be sent.")
    if status == "DISABLED":
        raise GraphError(132016, f"Template {name} is disabled and cannot be sent.")
    if status != "APPROVED":
        raise GraphError(132001, f"template name ({name}) does not exist in {code}")
    check_template_params(template, content.get("components") or [])
    send.template = template


def check_template_params(template: dict[str, Any], components: list[Any]) -> None:
    """Parameter counts per component (132000) and names for NAMED templates (132012)."""
    if not isinstance(components, list):
        raise param_error("Param template['components'] must be an array.")
    expected = message_templates.expected_params(template)
    given = message_templates.given_params(components)
    for kind in sorted(set(expected) | set(given)):
        names, params = expected.get(kind, []), given.get(kind, [])
        if len(params) != len(names):
            raise GraphError(132000, f"{kind}: number of localizable_params ({len(params)}) does not match the "
                                     f"expected number of params ({len(names)})")
        if template.get("parameter_format") == "NAMED":
            sent = sorted(str(p.get("parameter_name")) for p in params)
            if sent != sorted(names):
                raise GraphError(132012, f"{kind}: parameter names {sent} do not match the template's "
                                         f"{sorted(names)}")


CHECKS = {
    "text": check_text, "image": check_media, "audio": check_media, "video": check_media,
    "document": check_media, "sticker": check_media, "location": check_location, "contacts": lambda send, state: None,
    "interactive": check_interactive, "template": check_template, "reaction": check_reaction,
}
