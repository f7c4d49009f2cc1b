"""Outbound content as we store it (`messages.payload["content"]`), and the Graph body it becomes.

The content is what an attendant or the bot asked to send, without the
recipient; the body is built at send time with the contact's `wa_id`.
"""

from __future__ import annotations

from typing import Any

from crm_app.domain import outbound
from crm_app.domain.outbound import OutboundError

CONTENT_TYPES = ("text", "media", "template", "buttons", "list", "reaction")


def build_body(content: dict[str, Any], to: str, reply_to: str | None = None) -> dict[str, Any]:
    """The exact Graph API body for `content` sent to `to`. Raises OutboundError on bad content."""
    kind = content.get("type")
    if kind == "text":
        return outbound.build_text(to, str(content.get("body", "")), preview_url=bool(content.get("preview_url")),
                                   reply_to=reply_to)
    if kind == "media":
        media_kind = str(content.get("kind", ""))
        # The file name is also kept for uploads, but Meta takes it only on documents.
        filename = content.get("filename") if media_kind == "document" else None
        return outbound.build_media(to, media_kind, media_id=content.get("media_id"), link=content.get("link"),
                                    caption=content.get("caption"), filename=filename, reply_to=reply_to)
    if kind == "template":
        buttons = [tuple(b) for b in content.get("button_params") or []] or None
        return outbound.build_template(to, str(content.get("name", "")), str(content.get("language", "")),
                                       body_params=content.get("body_params"),
                                       header_params=content.get("header_params"), button_params=buttons,
                                       reply_to=reply_to)
    if kind == "buttons":
        buttons = [tuple(b) for b in content.get("buttons") or []]
        return outbound.build_buttons(to, str(content.get("body", "")), buttons, header=content.get("header"),
                                      footer=content.get("footer"), reply_to=reply_to)
    if kind == "list":
        return outbound.build_list(to, str(content.get("body", "")), str(content.get("button_label", "")),
                                   list(content.get("sections") or []), header=content.get("header"),
                                   footer=content.get("footer"), reply_to=reply_to)
    if kind == "reaction":
        return outbound.build_reaction(to, str(content.get("wa_message_id", "")), str(content.get("emoji", "")))
    raise OutboundError("unknown_content_type", f"content type must be one of {', '.join(CONTENT_TYPES)}")


def needs_open_window(content: dict[str, Any]) -> bool:
    """Only templates may be sent outside the 24-hour customer service window."""
    return content.get("type") != "template"


def message_kind(content: dict[str, Any]) -> str:
    """The `messages.kind` stored for this content."""
    kind = content.get("type")
    if kind == "media":
        return str(content.get("kind"))
    if kind in ("buttons", "list"):
        return "interactive"
    return str(kind)


def display_text(content: dict[str, Any]) -> str | None:
    """What the inbox shows for this content."""
    kind = content.get("type")
    if kind in ("text", "buttons", "list"):
        return content.get("body")
    if kind == "media":
        return content.get("caption") or content.get("filename")
    if kind == "template":
        params = content.get("body_params") or []
        values = params.values() if isinstance(params, dict) else params
        return " · ".join([str(content.get("name"))] + [str(v) for v in values])
    if kind == "reaction":
        return content.get("emoji")
    return None


INTERACTIVE_KINDS = ("buttons", "list")


def interactive_problem(kind: str, body: str, options: list[str], list_button: str = "") -> str | None:
    """Why the composer's buttons-or-list form cannot be sent (a stable code for the UI), or None.

    The same limits as `outbound.build_buttons` / `build_list`, checked early so the form can say
    what to fix before anything is queued.
    """
    if kind not in INTERACTIVE_KINDS:
        return "unknown_kind"
    body_max = outbound.BUTTONS_BODY_MAX if kind == "buttons" else outbound.LIST_BODY_MAX
    if not body.strip():
        return "empty_body"
    if len(body) > body_max:
        return "body_too_long"
    titles = [o.strip() for o in options]
    if not titles or not all(titles):
        return "empty_option"
    if kind == "buttons" and len(titles) > outbound.BUTTONS_MAX:
        return "too_many_buttons"
    if kind == "list" and len(titles) > outbound.ROWS_MAX:
        return "too_many_rows"
    limit = outbound.BUTTON_TITLE_MAX if kind == "buttons" else outbound.ROW_TITLE_MAX
    if any(len(t) > limit for t in titles):
        return "option_too_long"
    if len({t.casefold() for t in titles}) != len(titles):
        return "duplicate_option"
    if kind == "list" and not list_button.strip():
        return "empty_list_button"
    if kind == "list" and len(list_button.strip()) > outbound.LIST_BUTTON_MAX:
        return "list_button_too_long"
    return None


def interactive_content(kind: str, body: str, options: list[str], list_button: str = "") -> dict[str, Any]:
    """The message content for reply buttons or a one-section list; check `interactive_problem` first."""
    titles = [o.strip() for o in options]
    if kind == "buttons":
        return {"type": "buttons", "body": body.strip(),
                "buttons": [[f"opcao-{i}", title] for i, title in enumerate(titles, 1)]}
    return {"type": "list", "body": body.strip(), "button_label": list_button.strip(),
            "sections": [{"rows": [{"id": f"opcao-{i}", "title": title} for i, title in enumerate(titles, 1)]}]}
