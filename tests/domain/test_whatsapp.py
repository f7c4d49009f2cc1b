"""Every case of the real-shaped fixtures is parsed into something to store, or deliberately ignored."""

import json
from pathlib import Path

import pytest

from crm_app.domain import whatsapp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "meta_payloads"
CASES = [(f.stem, name, body)
         for f in sorted(FIXTURES.glob("*.json")) for name, body in json.loads(f.read_text()).items()]
# Fields we do not handle yet; each is listed, never dropped silently.
IGNORED_FIELDS = {"account_update", "calls", "message_template_status_update", "message_template_quality_update",
                  "template_category_update", "message_template_components_update", "user_preferences",
                  "smb_message_echoes", "flows"}


@pytest.mark.parametrize("fixture, case, body", CASES, ids=[f"{f}:{c}" for f, c, _ in CASES])
def test_every_fixture_case_is_stored_or_deliberately_ignored(fixture, case, body):
    parsed = whatsapp.parse_webhook(body)
    produced = len(parsed.messages) + len(parsed.statuses) + len(parsed.errors)
    assert produced > 0 or (parsed.ignored_fields and set(parsed.ignored_fields) <= IGNORED_FIELDS), (
        fixture, case, parsed)
    for message in parsed.messages:
        assert message.wa_message_id and message.wa_id and message.phone_number_id
        assert message.sent_at.tzinfo is not None and message.payload
    for status in parsed.statuses:
        assert status.wa_message_id and status.status


def _one(fixture, case):
    body = json.loads((FIXTURES / f"{fixture}.json").read_text())[case]
    return whatsapp.parse_webhook(body)


def test_text_reply_forward_and_media_details():
    reply = _one("message", "reply").messages[0]
    assert (reply.kind, reply.body, reply.reply_to_wa_message_id) == ("text", "replied text", "wamid.xyzxyz==")
    assert _one("message", "forwarded").messages[0].forwarded
    image = _one("message", "image").messages[0]
    assert image.kind == "image" and image.media_id and image.media_mime == "image/jpeg"
    assert _one("message", "voice").messages[0].kind == "voice"
    assert _one("message", "unsupported_with_type").messages[0].kind == "unsupported"
    assert _one("callback_selection", "callback").messages[0].body == "title"
    assert _one("message", "reaction").messages[0].body == "😮"
    assert _one("message", "unreaction_empty").messages[0].body == ""


def test_failed_status_keeps_code_and_reason():
    status = _one("message_status", "failed").statuses[0]
    assert (status.status, status.error_code) == ("failed", 130472)
    assert "experiment" in status.error_reason


def test_a_batch_yields_every_message_and_status():
    text = json.loads((FIXTURES / "message.json").read_text())["text"]
    sent = json.loads((FIXTURES / "message_status.json").read_text())["sent"]
    text["entry"].append(sent["entry"][0])
    text["entry"][0]["changes"].append(json.loads(json.dumps(text["entry"][0]["changes"][0])))
    parsed = whatsapp.parse_webhook(text)
    assert len(parsed.messages) == 2 and len(parsed.statuses) == 1


@pytest.mark.parametrize("current, incoming, expected", [
    ("sent", "delivered", "delivered"), ("read", "delivered", "read"), ("delivered", "sent", "delivered"),
    ("queued", "read", "read"), ("read", "failed", "failed"), ("failed", "read", "failed"),
    ("delivered", "played", "delivered"),
])
def test_statuses_only_move_forward(current, incoming, expected):
    assert whatsapp.next_status(current, incoming) == expected


def test_signature_is_checked_over_the_exact_bytes():
    raw = json.dumps({"a": "äöå"}, ensure_ascii=True).encode()
    header = whatsapp.sign(raw, "app-secret")
    assert whatsapp.verify_signature(raw, header, "app-secret")
    assert not whatsapp.verify_signature(raw + b" ", header, "app-secret")
    assert not whatsapp.verify_signature(raw, header, "other-secret")
    assert not whatsapp.verify_signature(raw, None, "app-secret")
    assert not whatsapp.verify_signature(raw, header.removeprefix("sha256="), "app-secret")
