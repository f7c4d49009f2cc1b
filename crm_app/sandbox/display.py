"""What a message looks like on the customer's phone: one flat dict for the simulator to draw.

Keys appear only when they apply: `text`, `header`, `footer`, `caption`, `media_id`, `media_link`,
`mime_type`, `filename`, `location`, `contacts`, `buttons` ([{kind, id, title}]), `list`
({button, sections: [{title, rows: [{id, title, description}]}]}), `reaction`, `template`, `reply_to`.
"""

from __future__ import annotations

from typing import Any

from crm_app.sandbox import message_templates

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def outbound(message_type: str, content: dict[str, Any], template: dict[str, Any] | None,
             reply_to: str | None = None) -> dict[str, Any]:
    """The display of a message the business sent."""
    shown: dict[str, Any] = {"reply_to": reply_to} if reply_to else {}
    shown.update(_common(message_type, content, content.get("contacts")))
    if message_type == "interactive":
        shown.update(_interactive(content))
    elif message_type == "template" and template is not None:
        shown.update(_template(template, content))
    return shown


def inbound(message: dict[str, Any]) -> dict[str, Any]:
    """The display of a message the customer sent."""
    kind = message.get("type")
    data = message.get(kind) if isinstance(message.get(kind), dict) else {}
    context = _obj(message.get("context"))
    shown: dict[str, Any] = {"reply_to": context["id"]} if context.get("id") else {}
    shown.update(_common(kind, data, message.get("contacts")))
    if kind == "interactive":
        reply = _obj(data.get(str(data.get("type", ""))))
        shown["text"] = reply.get("title", "")
    elif kind == "button":
        shown["text"] = data.get("text", "")
    return shown


def _common(kind: Any, data: dict[str, Any], contacts: Any) -> dict[str, Any]:
    """What both directions show alike: text, media, location, contacts, reactions."""
    if kind == "text":
        return {"text": data.get("body", "")}
    if kind in MEDIA_KINDS:
        return _media(data)
    if kind == "location":
        return {"location": _location(data)}
    if kind == "contacts":
        return {"contacts": _contact_names(_list(contacts))}
    if kind == "reaction":
        return {"reaction": {"emoji": data.get("emoji", ""), "message_id": data.get("message_id")}}
    return {}


def _media(content: dict[str, Any]) -> dict[str, Any]:
    shown = {key: content[key] for key in ("caption", "filename", "mime_type") if content.get(key)}
    if content.get("id"):
        shown["media_id"] = str(content["id"])
    if content.get("link"):
        shown["media_link"] = str(content["link"])
    return shown


def _location(content: dict[str, Any]) -> dict[str, Any]:
    return {key: content.get(key) for key in ("latitude", "longitude", "name", "address")}


def _contact_names(contacts: list[Any]) -> list[str]:
    return [str(_obj(_obj(c).get("name")).get("formatted_name", "")) for c in contacts]


def _interactive(content: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {"text": _obj(content.get("body")).get("text", "")}
    header = _obj(content.get("header"))
    if header.get("type") == "text":
        shown["header"] = header.get("text")
    if _obj(content.get("footer")).get("text"):
        shown["footer"] = content["footer"]["text"]
    action = _obj(content.get("action"))
    if content.get("type") == "button":
        shown["buttons"] = [{"kind": "button_reply", "id": b["reply"]["id"], "title": b["reply"]["title"]}
                            for b in _list(action.get("buttons"))]
    elif content.get("type") == "list":
        sections = [_section(s) for s in _list(action.get("sections"))]
        shown["list"] = {"button": action.get("button"), "sections": sections}
    elif content.get("type") == "cta_url":
        params = _obj(action.get("parameters"))
        shown["buttons"] = [{"kind": "url", "id": params.get("url"), "title": params.get("display_text")}]
    return shown


def _section(section: Any) -> dict[str, Any]:
    rows = [{"id": r.get("id"), "title": r.get("title"), "description": r.get("description")}
            for r in map(_obj, _list(_obj(section).get("rows")))]
    return {"title": _obj(section).get("title"), "rows": rows}


def _template(template: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    rendered = message_templates.render(template, _list(content.get("components")))
    shown = {key: value for key, value in rendered.items() if value}
    shown["template"] = template["name"]
    return shown
