"""Edits and deletions: both of Meta's wire forms parse as a change; a message's texts across its edits."""

import datetime as dt
import json
from pathlib import Path

from crm_app.domain import edits, whatsapp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "meta_payloads"
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _one(fixture: str, case: str) -> whatsapp.InboundMessage:
    [message] = whatsapp.parse_webhook(json.loads((FIXTURES / f"{fixture}.json").read_text())[case]).messages
    return message


def test_edits_and_deletions_in_both_wire_forms_are_changes():
    image = _one("edited_message", "image")
    assert (image.change, image.original_wa_message_id, image.body) == (
        "edit", "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=", "Updated image caption")
    assert image.media_id is None and image.reply_to_wa_message_id is None  # the original's, not a new one's
    assert (_one("edited_message", "text").change, _one("edited_message", "text").body) == ("edit", "Updated text")
    unnamed = _one("edited_message", "unsupported_edit")
    assert (unnamed.change, unnamed.original_wa_message_id, unnamed.kind) == ("edit", None, "unsupported")
    revoke = _one("deleted_message", "revoke")
    assert (revoke.change, revoke.original_wa_message_id) == ("revoke", "<ORIGINAL_WHATSAPP_MESSAGE_ID>")


def test_other_messages_are_no_changes_and_unknown_types_stay_unsupported():
    assert _one("message", "text").change is None
    unsupported = _one("message", "unsupported_with_type")  # unsupported.type "pool": not an edit
    assert (unsupported.change, unsupported.kind) == (None, "unsupported")
    nested = whatsapp.parse_message({"id": "w", "from": "1", "type": "edit", "edit": {
        "original_message_id": "o", "message": {"type": "edit", "edit": {"message": {"type": "text"}}}}}, "p", None)
    assert (nested.change, nested.body) == ("edit", None)  # an edit of an edit carries no text


def test_texts_across_edits_in_the_order_they_were_sent_once_each():
    original = edits.version("v1", T0, "w0")
    v3 = edits.version("v3", T0 + dt.timedelta(minutes=3), "w3")
    v2 = edits.version("v2", T0 + dt.timedelta(minutes=2), "w2")
    history = edits.with_edit(None, original, v3)
    history = edits.with_edit(history, original, v2)
    assert [v["body"] for v in history] == ["v1", "v2", "v3"]
    assert edits.with_edit(history, original, v2) is None  # redelivered
    assert edits.edited_at(history) == T0 + dt.timedelta(minutes=3)
    assert edits.earlier_texts(history) == ["v1", "v2"]
    assert edits.earlier_texts(edits.blanked(history)) == [] and len(edits.blanked(history)) == 3
    assert edits.envelope({"id": "w0", "type": "text", "text": {"body": "segredo"}}) == {"id": "w0", "type": "text"}
