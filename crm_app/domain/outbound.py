"""Build the exact JSON bodies of ``POST /<version>/<PHONE_NUMBER_ID>/messages``.

Pure: no network, no clock. Every builder checks Meta's documented limits, so a
message that Meta would refuse fails here, in words an attendant can act on,
before a job spends a request and a rate-limit token on it. Section numbers
(§) point into shared/reference/whatsapp_cloud_api.md.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

WINDOW = dt.timedelta(hours=24)
MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")

TEXT_MAX = 4096  # §4.2 text `body`
CAPTION_MAX = 1024  # §4.3 `caption`; the reference states it for images and we apply it to video and document too
BUTTONS_MAX = 3  # §4.4
BUTTON_ID_MAX = 256  # §4.4 `reply.id`
BUTTON_TITLE_MAX = 20  # §4.4 `reply.title`
BUTTONS_BODY_MAX = 1024  # §4.4 `body.text`
FOOTER_MAX = 60  # §4.4 and §4.5 `footer.text`
# §4.5 gives 60 for a list's text header; §4.4 gives none for a buttons text header, where Meta documents 60 too.
HEADER_MAX = 60
LIST_BODY_MAX = 4096  # §4.5 `body.text`
LIST_BUTTON_MAX = 20  # §4.5 `action.button`
SECTIONS_MAX = 10  # §4.5
ROWS_MAX = 10  # §4.5, all sections combined
SECTION_TITLE_MAX = 24  # §4.5
ROW_ID_MAX = 200  # §4.5
ROW_TITLE_MAX = 24  # §4.5
ROW_DESCRIPTION_MAX = 72  # §4.5
TEMPLATE_NAME_MAX = 512  # §7.3, with the pattern below
# §4.8: the 2023 Node SDK allowed indexes 0-2, current Meta pages allow 10 quick-reply buttons, so 0-9.
TEMPLATE_BUTTON_INDEX_MAX = 9
# §4.8: a quick-reply button carries a `payload` parameter, a URL button the `text` appended to its URL.
TEMPLATE_BUTTON_PARAM = {"quick_reply": "payload", "url": "text"}

_RECIPIENT = re.compile(r"\+?[0-9 -]+")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]+")
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)
# Not in the reference: Meta refuses such template parameters with 132018 "Param text cannot have new-line/tab
# characters or more than 4 consecutive spaces" (widely observed), and only after accepting the send.
_BAD_PARAM_TEXT = re.compile(r"[\n\r\t]| {5,}")


class OutboundError(ValueError):
    """Bad outbound content.

    `code` is a stable snake_case id (e.g. ``"too_many_buttons"``); the message
    is English and safe to show.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def build_text(to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None) -> dict:
    """A text message.

    Args:
        to: The customer's phone number; see `_recipient` for what is accepted.
        body: The text, 1 to 4096 characters.
        preview_url: Ask WhatsApp to render a preview of the first http(s) URL.
        reply_to: The `wa_message_id` this message quotes, if any.

    Returns:
        The request body.

    Raises:
        OutboundError: `empty_text`, `text_too_long`, or a recipient/reply code.
    """
    text: dict[str, Any] = {"body": _required(body, TEXT_MAX, "text")}
    if preview_url:
        # Meta's default is no preview, so the key is sent only when asked for.
        text = {"preview_url": True, **text}
    return {**_envelope(to, "text", reply_to), "text": text}


def build_media(
    to: str,
    kind: str,
    *,
    media_id: str | None = None,
    link: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    reply_to: str | None = None,
) -> dict:
    """An image, audio, video, document or sticker, by uploaded media id or by public link.

    Args:
        to: The customer's phone number.
        kind: One of `MEDIA_KINDS`.
        media_id: The id returned by Meta's media upload; give this or `link`.
        link: A public http(s) URL; give this or `media_id`.
        caption: Up to 1024 characters; not allowed on audio and stickers.
        filename: Shown to the customer; documents only.
        reply_to: The `wa_message_id` this message quotes, if any.

    Returns:
        The request body.

    Raises:
        OutboundError: `invalid_media_kind`, `missing_media`, `ambiguous_media`, `invalid_media_link`,
            `caption_not_allowed`, `caption_too_long`, `filename_not_allowed`, or a recipient/reply code.
    """
    if kind not in MEDIA_KINDS:
        raise OutboundError("invalid_media_kind", f"Unknown media kind {kind!r}; use one of {', '.join(MEDIA_KINDS)}.")
    media = _media_source(media_id, link)
    caption = _optional(caption, CAPTION_MAX, "caption")
    if caption is not None:
        if kind in ("audio", "sticker"):
            raise OutboundError("caption_not_allowed", f"A {kind} cannot have a caption.")
        media["caption"] = caption
    filename = _optional(filename, None, "filename")
    if filename is not None:
        if kind != "document":
            raise OutboundError("filename_not_allowed", "Only a document can have a file name.")
        media["filename"] = filename
    return {**_envelope(to, kind, reply_to), kind: media}


def build_template(
    to: str,
    name: str,
    language: str,
    *,
    body_params: list[str] | dict[str, str] | None = None,
    header_params: list[str] | dict[str, str] | None = None,
    button_params: list[tuple[str, int, str]] | None = None,
    reply_to: str | None = None,
) -> dict:
    """An approved template, with its variables filled in.

    A list fills positional variables ({{1}}, {{2}}…) in order; a dict fills
    named ones. Without any parameters the `components` key is left out.

    Args:
        to: The customer's phone number.
        name: The template's name: lowercase letters, digits and underscores.
        language: Its language code, such as ``pt_BR``.
        body_params: Values for the body's variables.
        header_params: Values for a text header's variables.
        button_params: ``(sub_type, index, value)`` per dynamic button: ``"quick_reply"`` takes a payload,
            ``"url"`` the text appended to the button's URL.
        reply_to: The `wa_message_id` this message quotes, if any.

    Returns:
        The request body.

    Raises:
        OutboundError: `invalid_template_name`, `empty_template_language`, `empty_template_param`,
            `invalid_template_param`, `invalid_button_sub_type`, `invalid_button_index`,
            `duplicate_button_index`, `empty_button_param`, or a recipient/reply code.
    """
    template: dict[str, Any] = {"name": _template_name(name), "language": {"code": _language(language)}}
    components = []
    if header_params:
        components.append({"type": "header", "parameters": _template_params(header_params)})
    if body_params:
        components.append({"type": "body", "parameters": _template_params(body_params)})
    components.extend(_template_buttons(button_params or []))
    if components:
        template["components"] = components
    return {**_envelope(to, "template", reply_to), "template": template}


def build_buttons(
    to: str,
    body: str,
    buttons: list[tuple[str, str]],
    *,
    header: str | None = None,
    footer: str | None = None,
    reply_to: str | None = None,
) -> dict:
    """An interactive message with one to three reply buttons.

    Args:
        to: The customer's phone number.
        body: The message text, up to 1024 characters.
        buttons: ``(id, title)`` pairs; ids (≤ 256 chars) and titles (≤ 20 chars) each unique.
        header: Optional text header, up to 60 characters.
        footer: Optional footer, up to 60 characters.
        reply_to: The `wa_message_id` this message quotes, if any.

    Returns:
        The request body.

    Raises:
        OutboundError: `no_buttons`, `too_many_buttons`, `empty_button_id`, `button_id_too_long`,
            `empty_button_title`, `button_title_too_long`, `duplicate_button_id`, `duplicate_button_title`,
            `empty_body`, `body_too_long`, `header_too_long`, `footer_too_long`, or a recipient/reply code.
    """
    if not buttons:
        raise OutboundError("no_buttons", "Add at least one button.")
    if len(buttons) > BUTTONS_MAX:
        raise OutboundError("too_many_buttons", f"A message can have at most {BUTTONS_MAX} buttons.")
    replies = [
        {
            "id": _required(button_id, BUTTON_ID_MAX, "button_id"),
            "title": _required(title, BUTTON_TITLE_MAX, "button_title"),
        }
        for button_id, title in buttons
    ]
    _unique([r["id"] for r in replies], "duplicate_button_id", "button id")
    _unique([r["title"] for r in replies], "duplicate_button_title", "button title")
    action = {"buttons": [{"type": "reply", "reply": reply} for reply in replies]}
    interactive = _interactive("button", _required(body, BUTTONS_BODY_MAX, "body"), header, footer, action)
    return {**_envelope(to, "interactive", reply_to), "interactive": interactive}


def build_list(
    to: str,
    body: str,
    button_label: str,
    sections: list[dict],
    *,
    header: str | None = None,
    footer: str | None = None,
    reply_to: str | None = None,
) -> dict:
    """An interactive list: a button that opens up to ten rows in up to ten sections.

    Args:
        to: The customer's phone number.
        body: The message text, up to 4096 characters.
        button_label: The text of the button that opens the list, up to 20 characters.
        sections: ``[{"title": str, "rows": [{"id": str, "title": str, "description": str}]}]``; a section
            title (≤ 24 chars) is required when there is more than one section; row ids (≤ 200 chars) are
            unique across sections, row titles ≤ 24 chars, descriptions optional and ≤ 72 chars.
        header: Optional text header, up to 60 characters.
        footer: Optional footer, up to 60 characters.
        reply_to: The `wa_message_id` this message quotes, if any.

    Returns:
        The request body.

    Raises:
        OutboundError: `no_sections`, `too_many_sections`, `empty_section`, `too_many_rows`,
            `section_title_required`, `section_title_too_long`, `empty_row_id`, `row_id_too_long`,
            `duplicate_row_id`, `empty_row_title`, `row_title_too_long`, `row_description_too_long`,
            `empty_list_button`, `list_button_too_long`, `empty_body`, `body_too_long`, `header_too_long`,
            `footer_too_long`, or a recipient/reply code.
    """
    action = {
        "button": _required(button_label, LIST_BUTTON_MAX, "list_button"),
        "sections": _list_sections(sections),
    }
    interactive = _interactive("list", _required(body, LIST_BODY_MAX, "body"), header, footer, action)
    return {**_envelope(to, "interactive", reply_to), "interactive": interactive}


def build_reaction(to: str, wa_message_id: str, emoji: str) -> dict:
    """A reaction to one of the conversation's messages.

    Args:
        to: The customer's phone number.
        wa_message_id: The message reacted to.
        emoji: The emoji; ``""`` removes our earlier reaction.

    Returns:
        The request body.

    Raises:
        OutboundError: `invalid_message_id`, `invalid_emoji`, or a recipient code.
    """
    if not isinstance(emoji, str):
        raise OutboundError("invalid_emoji", "A reaction is an emoji, or an empty text to remove it.")
    reaction = {"message_id": _message_id(wa_message_id), "emoji": emoji}
    return {**_envelope(to, "reaction", None), "reaction": reaction}


def build_mark_read(wa_message_id: str, *, typing: bool = False) -> dict:
    """Mark a received message (and the ones before it) as read.

    Args:
        wa_message_id: The customer's message.
        typing: Also show "typing…" to the customer until we answer, or for 25 seconds.

    Returns:
        The request body; it goes to the same ``/messages`` endpoint.

    Raises:
        OutboundError: `invalid_message_id`.
    """
    body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": _message_id(wa_message_id)}
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return body


def is_window_open(last_customer_message_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether free-form messages may be sent: the customer wrote less than 24 hours ago.

    Args:
        last_customer_message_at: When the customer's latest message arrived, or None if never.
        now: The current time, with the same kind of timezone as the other argument.

    Returns:
        True while the window is open; at exactly 24 hours it has closed.
    """
    return window_remaining(last_customer_message_at, now) > dt.timedelta(0)


def window_remaining(last_customer_message_at: dt.datetime | None, now: dt.datetime) -> dt.timedelta:
    """How long the customer service window stays open.

    Args:
        last_customer_message_at: When the customer's latest message arrived, or None if never.
        now: The current time, with the same kind of timezone as the other argument.

    Returns:
        Between zero (closed, or the customer never wrote) and 24 hours; a timestamp
        slightly in the future, from clock skew, counts as "just now".
    """
    if last_customer_message_at is None:
        return dt.timedelta(0)
    remaining = last_customer_message_at + WINDOW - now
    return max(dt.timedelta(0), min(remaining, WINDOW))


def _envelope(to: str, kind: str, reply_to: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": _recipient(to),
        "type": kind,
    }
    if reply_to is not None:
        body["context"] = {"message_id": _message_id(reply_to)}
    return body


def _recipient(to: str) -> str:
    """The digits of `to`, which may only add a leading '+', spaces and dashes."""
    raw = to.strip() if isinstance(to, str) else ""
    if not _RECIPIENT.fullmatch(raw):
        raise OutboundError(
            "invalid_recipient", "The phone number may only contain digits, spaces, dashes and a leading +."
        )
    number = raw.removeprefix("+").replace(" ", "").replace("-", "")
    if not 8 <= len(number) <= 15:
        raise OutboundError("invalid_recipient", "A phone number has 8 to 15 digits, country code included.")
    return number


def _message_id(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OutboundError("invalid_message_id", "The WhatsApp message id is missing.")
    return value


def _required(value: str, limit: int | None, field: str) -> str:
    """`value` unchanged, once known to hold something other than blanks and to fit in `limit` characters."""
    label = field.replace("_", " ")
    if not isinstance(value, str) or not value.strip():
        raise OutboundError(f"empty_{field}", f"The {label} is empty.")
    if limit is not None and len(value) > limit:
        raise OutboundError(f"{field}_too_long", f"The {label} has {len(value)} characters; the limit is {limit}.")
    return value


def _optional(value: str | None, limit: int | None, field: str) -> str | None:
    """Like `_required`, but None or blank means "leave it out": forms hand us "" for an untouched field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _required(value, limit, field)


def _unique(values: list[str], code: str, label: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise OutboundError(code, f"The {label} {value!r} is used twice.")
        seen.add(value)


def _media_source(media_id: str | None, link: str | None) -> dict[str, Any]:
    media_id = _optional(media_id, None, "media_id")
    link = _optional(link, None, "link")
    if media_id is None and link is None:
        raise OutboundError("missing_media", "Give the uploaded media id or a link.")
    if media_id is not None and link is not None:
        raise OutboundError("ambiguous_media", "Give the uploaded media id or a link, not both.")
    if media_id is not None:
        return {"id": media_id}
    if not _LINK.fullmatch(link):
        raise OutboundError("invalid_media_link", "A media link must be an http:// or https:// address.")
    return {"link": link}


def _interactive(kind: str, body: str, header: str | None, footer: str | None, action: dict) -> dict[str, Any]:
    interactive: dict[str, Any] = {"type": kind}
    header = _optional(header, HEADER_MAX, "header")
    if header is not None:
        interactive["header"] = {"type": "text", "text": header}
    interactive["body"] = {"text": body}
    footer = _optional(footer, FOOTER_MAX, "footer")
    if footer is not None:
        interactive["footer"] = {"text": footer}
    interactive["action"] = action
    return interactive


def _list_sections(sections: list[dict]) -> list[dict[str, Any]]:
    if not sections:
        raise OutboundError("no_sections", "Add at least one section.")
    if len(sections) > SECTIONS_MAX:
        raise OutboundError("too_many_sections", f"A list can have at most {SECTIONS_MAX} sections.")
    built = [_list_section(section, titled=len(sections) > 1) for section in sections]
    rows = [row for section in built for row in section["rows"]]
    if len(rows) > ROWS_MAX:
        raise OutboundError("too_many_rows", f"A list can have at most {ROWS_MAX} rows in all its sections.")
    _unique([row["id"] for row in rows], "duplicate_row_id", "row id")
    return built


def _list_section(section: dict, *, titled: bool) -> dict[str, Any]:
    """One section; Meta requires its title only when the list has several sections."""
    title = section.get("title")
    if titled:
        if not isinstance(title, str) or not title.strip():
            raise OutboundError("section_title_required", "Each section needs a title when there are several.")
    built: dict[str, Any] = {}
    title = _optional(title, SECTION_TITLE_MAX, "section_title")
    if title is not None:
        built["title"] = title
    rows = section.get("rows") or []
    if not rows:
        raise OutboundError("empty_section", "Each section needs at least one row.")
    built["rows"] = [_list_row(row) for row in rows]
    return built


def _list_row(row: dict) -> dict[str, str]:
    built = {
        "id": _required(row.get("id"), ROW_ID_MAX, "row_id"),
        "title": _required(row.get("title"), ROW_TITLE_MAX, "row_title"),
    }
    description = _optional(row.get("description"), ROW_DESCRIPTION_MAX, "row_description")
    if description is not None:
        built["description"] = description
    return built


def _template_name(name: str) -> str:
    if not isinstance(name, str) or not _TEMPLATE_NAME.fullmatch(name) or len(name) > TEMPLATE_NAME_MAX:
        raise OutboundError(
            "invalid_template_name",
            f"A template name has 1 to {TEMPLATE_NAME_MAX} lowercase letters, digits and underscores.",
        )
    return name


def _language(language: str) -> str:
    return _required(language, None, "template_language")


def _template_params(params: list[str] | dict[str, str]) -> list[dict[str, str]]:
    """Text parameters: positional from a list, named (``parameter_name``) from a dict."""
    if isinstance(params, dict):
        return [
            {"type": "text", "parameter_name": _required(name, None, "template_param_name"), "text": _param_text(value)}
            for name, value in params.items()
        ]
    return [{"type": "text", "text": _param_text(value)} for value in params]


def _param_text(value: str) -> str:
    value = _required(value, None, "template_param")
    if _BAD_PARAM_TEXT.search(value):
        raise OutboundError(
            "invalid_template_param",
            "A template variable cannot contain line breaks, tabs or more than 4 spaces in a row.",
        )
    return value


def _template_buttons(button_params: list[tuple[str, int, str]]) -> list[dict[str, Any]]:
    components = [_template_button(*button) for button in button_params]
    _unique([c["index"] for c in components], "duplicate_button_index", "button index")
    return components


def _template_button(sub_type: str, index: int, value: str) -> dict[str, Any]:
    param_type = TEMPLATE_BUTTON_PARAM.get(sub_type)
    if param_type is None:
        raise OutboundError("invalid_button_sub_type", f"Unknown template button type {sub_type!r}.")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= TEMPLATE_BUTTON_INDEX_MAX:
        raise OutboundError(
            "invalid_button_index", f"A template button index is a whole number from 0 to {TEMPLATE_BUTTON_INDEX_MAX}."
        )
    value = _required(value, None, "button_param")
    return {
        "type": "button",
        "sub_type": sub_type,
        "index": str(index),  # Meta's examples send the index as a string
        "parameters": [{"type": param_type, param_type: value}],
    }
