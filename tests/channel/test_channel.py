"""Both directions of the WhatsApp channel, with the sandbox playing Meta over HTTP and real workers."""

import concurrent.futures
import datetime as dt
import hashlib
import json

import httpx
import pytest
from sqlalchemy import text

from crm_app.config import get_settings
from crm_app.domain.whatsapp import sign
from crm_app.models import Conversation, Message, User
from crm_app.services.access import sessions
from crm_app.services.channel import ingest, outbound, reads
from crm_app.services.core import jobs
from tests.channel.conftest import free_port, scalar, start_api, stop, wait_for, wait_http
from tests.factories import make_tenant, make_user

WA_ID = "5511981234567"


def _conversation_id(channel) -> int:
    return wait_for(lambda: scalar("SELECT id FROM conversations"))


def _open_conversation(channel, db) -> int:
    channel.customer_says("Olá! Quero reservar um quarto.")
    return _conversation_id(channel)


def _owner(db, channel, conversation_id: int):
    """An attendant who took the conversation over from the bot: only they may reply in it."""
    from crm_app.services import inbox

    attendant = make_user(db, channel.tenant_id, "attendant")
    inbox.take_over(db, actor=attendant, conversation_id=conversation_id)
    db.commit()
    return attendant


def _sync_templates() -> None:
    """Mirror the sandbox number's templates, so a UTILITY one is known as such (an unsynced template is gated
    like a marketing one)."""
    from crm_app.services.channel import templates

    assert templates.sync_inbox_templates(scalar("SELECT id FROM inboxes")) >= 4


def _send(db, actor, conversation_id: int, content: dict, key: str | None = None, reply_to=None):
    row = outbound.send_message(db, actor=actor, conversation_id=conversation_id, content=content, client_key=key,
                                reply_to_message_id=reply_to)
    db.commit()
    return row


def _final_status(message_id: int, wanted: str) -> str:
    return wait_for(lambda: scalar("SELECT status FROM messages WHERE id = :id", id=message_id) == wanted and wanted)


def test_customer_text_reaches_the_inbox(channel, db):
    sent = channel.customer_says("Olá! Quero reservar um quarto.")
    assert sent["webhook_status"] == 200
    body = wait_for(lambda: scalar("SELECT body FROM messages WHERE wa_message_id = :w", w=sent["wamid"]))
    assert body == "Olá! Quero reservar um quarto."
    assert scalar("SELECT name FROM contacts") == "Maria Souza"
    assert scalar("SELECT status FROM conversations") == "open"


def test_attendant_reply_is_sent_and_ends_read(channel, db):
    conversation_id = _open_conversation(channel, db)
    admin = _owner(db, channel, conversation_id)
    row = _send(db, admin, conversation_id, {"type": "text", "body": "Claro! Para quais datas?"}, key="k-1")
    assert row.status == "queued"
    _final_status(row.id, "read")
    calls = channel.sent(to=WA_ID)
    assert [c["body"] for c in calls if c["kind"] == "message"] == [{
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID, "type": "text",
        "text": {"body": "Claro! Para quais datas?"}}]
    stored = db.get(Message, row.id)
    db.refresh(stored)
    assert stored.wa_message_id == calls[0]["wamid"] and stored.delivered_at and stored.read_at


def test_double_submit_with_one_idempotency_key_sends_once(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)

    def submit(_):
        from crm_app.db import session_scope

        with session_scope() as session:
            return outbound.send_message(session, actor=attendant, conversation_id=conversation_id,
                                         content={"type": "text", "body": "Só uma vez"}, client_key="click-42").id

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(pool.map(submit, range(4)))
    assert len(ids) == 1
    _final_status(ids.pop(), "read")
    assert len([c for c in channel.sent(to=WA_ID) if c["kind"] == "message"]) == 1
    assert scalar("SELECT count(*) FROM messages WHERE direction = 'outbound' AND sender_type = 'attendant'") == 1


def test_rate_limit_error_is_retried_then_sent(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    channel.sandbox("POST", "/faults", json={"errors": [{"code": 130429, "times": 2}]})
    row = _send(db, attendant, conversation_id, {"type": "text", "body": "Tentando de novo"})
    _final_status(row.id, "read")
    calls = [c for c in channel.sent(to=WA_ID) if c["kind"] == "message"]
    assert [c["http_status"] for c in calls][-1] == 200 and len(calls) == 3
    assert scalar("SELECT send_attempts FROM messages WHERE id = :id", id=row.id) == 2


def test_permanent_error_marks_the_message_failed_with_metas_code(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    channel.sandbox("POST", "/faults", json={"errors": [{"code": 131026, "times": 1}]})
    row = _send(db, attendant, conversation_id, {"type": "text", "body": "Não vai chegar"})
    _final_status(row.id, "failed")
    failed = db.get(Message, row.id)
    db.refresh(failed)
    assert failed.error_code == 131026 and failed.error_reason
    assert len([c for c in channel.sent(to=WA_ID) if c["kind"] == "message"]) == 1


def test_closed_window_refuses_free_text_but_takes_a_template(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
    conversation = db.get(Conversation, conversation_id)
    conversation.last_customer_message_at = old
    db.add(conversation)
    db.commit()
    channel.sandbox("POST", "/window", json={"wa_id": WA_ID, "last_customer_message_at": old.isoformat()})
    with pytest.raises(outbound.WindowClosed):
        _send(db, attendant, conversation_id, {"type": "text", "body": "Oi?"})
    db.rollback()
    _sync_templates()
    template = {"type": "template", "name": "reserva_confirmada", "language": "pt_BR",
                "body_params": ["Maria", "12/07", "15/07", "SA-4821"]}
    row = _send(db, attendant, conversation_id, template)
    _final_status(row.id, "read")
    assert channel.sent(to=WA_ID)[-1]["body"]["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": v} for v in ("Maria", "12/07", "15/07", "SA-4821")]}]


def test_exact_bodies_of_media_buttons_list_and_named_template(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    _sync_templates()
    contents = [
        {"type": "media", "kind": "image", "link": "https://example.com/quarto.jpg", "caption": "Suíte luxo"},
        {"type": "buttons", "body": "Confirma a reserva?", "buttons": [["sim", "Sim"], ["nao", "Não"]]},
        {"type": "list", "body": "Escolha o quarto", "button_label": "Ver quartos",
         "sections": [{"title": "Quartos", "rows": [{"id": "std", "title": "Standard", "description": "Cama casal"},
                                                    {"id": "lux", "title": "Luxo"}]}]},
        {"type": "template", "name": "lembrete_checkin", "language": "pt_BR",
         "body_params": {"nome": "Maria", "data_checkin": "12/07"}},
    ]
    for content in contents:
        _final_status(_send(db, attendant, conversation_id, content).id, "read")
    bodies = [c["body"] for c in channel.sent(to=WA_ID) if c["kind"] == "message"]
    envelope = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID}
    assert bodies == [
        {**envelope, "type": "image", "image": {"link": "https://example.com/quarto.jpg", "caption": "Suíte luxo"}},
        {**envelope, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Confirma a reserva?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "sim", "title": "Sim"}},
                                   {"type": "reply", "reply": {"id": "nao", "title": "Não"}}]}}},
        {**envelope, "type": "interactive", "interactive": {
            "type": "list", "body": {"text": "Escolha o quarto"},
            "action": {"button": "Ver quartos", "sections": [{"title": "Quartos", "rows": [
                {"id": "std", "title": "Standard", "description": "Cama casal"},
                {"id": "lux", "title": "Luxo"}]}]}}},
        {**envelope, "type": "template", "template": {
            "name": "lembrete_checkin", "language": {"code": "pt_BR"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "parameter_name": "nome", "text": "Maria"},
                {"type": "text", "parameter_name": "data_checkin", "text": "12/07"}]}]}},
    ]


def test_reply_to_a_customer_message_quotes_it(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    customer_message = scalar("SELECT id FROM messages WHERE direction = 'inbound'")
    wamid = scalar("SELECT wa_message_id FROM messages WHERE id = :id", id=customer_message)
    row = _send(db, attendant, conversation_id, {"type": "text", "body": "Respondendo"}, reply_to=customer_message)
    _final_status(row.id, "read")
    assert channel.sent(to=WA_ID)[-1]["body"]["context"] == {"message_id": wamid}


def test_reordered_status_webhooks_still_end_read(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    channel.sandbox("POST", "/faults", json={"status_mode": "reorder"})
    row = _send(db, attendant, conversation_id, {"type": "text", "body": "Fora de ordem"})
    _final_status(row.id, "read")
    channel.sandbox("POST", "/faults", json={"status_mode": "duplicate"})
    second = _send(db, attendant, conversation_id, {"type": "text", "body": "Em dobro"})
    _final_status(second.id, "read")


def test_inbound_image_is_downloaded_checked_and_served_to_its_tenant_only(channel, db):
    image = b"\x89PNG\r\n\x1a\n" + b"0" * 2048
    upload = channel.sandbox("POST", "/customer/media", files={"file": ("foto.png", image, "image/png")})
    assert upload.status_code == 200, upload.text
    channel.sandbox("POST", "/customer/messages", json={"from": WA_ID, "name": "Maria", "type": "image",
                                                        "media_id": upload.json()["media_id"], "caption": "Olha"})
    media_token = wait_for(lambda: scalar("SELECT media_token FROM messages WHERE media_storage_key IS NOT NULL"),
                           30)
    member = make_user(db, channel.tenant_id, "attendant")
    outsider = make_user(db, make_tenant(db).id, "admin")
    cookies = {}
    for name, actor in (("member", member), ("outsider", outsider)):
        cookies[name] = sessions.open_session(db, user=db.get(User, actor.user_id))
    db.commit()
    url = f"{channel.api_url}/api/media/{media_token}"
    ok = httpx.get(url, cookies={sessions.COOKIE_NAME: cookies["member"]})
    assert ok.status_code == 200 and ok.content == image and ok.headers["content-type"] == "image/png"
    assert ok.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(url, cookies={sessions.COOKIE_NAME: cookies["outsider"]}).status_code == 404
    assert httpx.get(url).status_code == 401
    assert hashlib.sha256(image).hexdigest()[:16] in scalar("SELECT media_storage_key FROM messages")


def test_templates_are_synced_with_paging(channel, db):
    inbox_id = scalar("SELECT id FROM inboxes")
    jobs.enqueue("sync_templates", inbox_id)
    count = wait_for(lambda: scalar("SELECT count(*) FROM message_templates"))
    expected = httpx.get(f"{channel.sandbox_url}/graph/v23.0/{get_settings().demo_wa_waba_id}/message_templates",
                         params={"limit": 100},
                         headers={"Authorization": f"Bearer {get_settings().demo_wa_access_token.get_secret_value()}"})
    assert count == len(expected.json()["data"]) >= 4
    assert scalar("SELECT category FROM message_templates WHERE name = 'promocao_inverno'") == "MARKETING"


def _signed_text_webhook() -> bytes:
    settings = get_settings()
    from tests.support.whatsapp import fixture

    body = fixture("message", "text")
    body["entry"][0]["id"] = settings.demo_wa_waba_id
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = settings.demo_wa_phone_number_id
    return json.dumps(body, ensure_ascii=True).encode()


def test_webhook_with_redis_down_is_acknowledged_and_processed_after(channel, db):
    port = free_port()
    api = start_api(port, REDIS_URL="redis://127.0.0.1:1/0")
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", api)
        raw = _signed_text_webhook()
        secret = get_settings().demo_wa_app_secret.get_secret_value()
        response = httpx.post(f"http://127.0.0.1:{port}/api/whatsapp/webhook", content=raw,
                              headers={"X-Hub-Signature-256": sign(raw, secret)}, timeout=30)
    finally:
        stop(api)
    assert response.status_code == 200
    assert scalar("SELECT status FROM inbound_events") == "pending"
    db.execute(text("UPDATE inbound_events SET received_at = received_at - interval '1 minute'"))
    db.commit()
    assert ingest.sweep_inbound_events() == 1  # Redis is back: the sweeper finds the stored event
    wait_for(lambda: scalar("SELECT count(*) FROM messages") == 1)
    assert scalar("SELECT status FROM inbound_events") == "processed"


def test_webhook_with_the_database_down_gets_503(channel):
    port = free_port()
    api = start_api(port, DATABASE_URL="postgresql://postgres@127.0.0.1:1/none?connect_timeout=2")
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", api)
        raw = _signed_text_webhook()
        response = httpx.post(f"http://127.0.0.1:{port}/api/whatsapp/webhook", content=raw,
                              headers={"X-Hub-Signature-256": sign(raw, "whatever")}, timeout=30)
    finally:
        stop(api)
    assert response.status_code == 503


def test_outbound_media_is_uploaded_first_then_sent_by_id(channel, db):
    from crm_app.services.channel import media

    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    picture = b"\xff\xd8\xff\xe0" + b"1" * 4096
    content = media.store_outbound_file(actor=attendant, kind="image", data=picture, mime="image/jpeg",
                                        filename="quarto.jpg")
    row = _send(db, attendant, conversation_id, {**content, "caption": "Nosso quarto"})
    _final_status(row.id, "read")
    body = channel.sent(to=WA_ID)[-1]["body"]
    media_id = body["image"]["id"]
    assert body["type"] == "image" and body["image"]["caption"] == "Nosso quarto" and "link" not in body["image"]
    token = get_settings().demo_wa_access_token.get_secret_value()
    info = httpx.get(f"{channel.sandbox_url}/graph/v23.0/{media_id}", headers={"Authorization": f"Bearer {token}"})
    assert info.json()["sha256"] == hashlib.sha256(picture).hexdigest()
    stored = db.get(Message, row.id)
    db.refresh(stored)
    assert stored.payload["content"]["media_id"] == media_id  # a retry would not upload again


def test_reading_a_conversation_sends_a_read_receipt_with_typing(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    wamid = scalar("SELECT wa_message_id FROM messages WHERE direction = 'inbound'")
    assert reads.mark_conversation_read(db, actor=attendant, conversation_id=conversation_id, typing=True)
    db.commit()
    receipt = wait_for(lambda: channel.sent(kind="read"))
    assert receipt[-1]["body"] == {"messaging_product": "whatsapp", "status": "read", "message_id": wamid,
                                   "typing_indicator": {"type": "text"}}
    assert scalar("SELECT unread_count FROM conversations WHERE id = :id", id=conversation_id) == 0


def test_unsupported_messages_keep_their_raw_json_for_admins_only(channel, db):
    from crm_app.errors import PermissionDenied

    raw = {"object": "whatsapp_business_account", "entry": [{"id": get_settings().demo_wa_waba_id, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "551140000001",
                         "phone_number_id": get_settings().demo_wa_phone_number_id},
            "contacts": [{"profile": {"name": "Maria"}, "wa_id": WA_ID}],
            "messages": [{"from": WA_ID, "id": "wamid.poll-1", "timestamp": "1700000000", "type": "poll",
                          "poll": {"question": "Qual dia?"}}]}}]}]}
    assert channel.sandbox("POST", "/webhooks/raw", json={"body": raw}).json()["webhook_status"] == 200
    wait_for(lambda: scalar("SELECT kind FROM messages WHERE wa_message_id = 'wamid.poll-1'") == "unsupported")
    admin = make_user(db, channel.tenant_id, "admin")
    rows = reads.list_unsupported(db, actor=admin)
    assert len(rows) == 1 and '"question": "Qual dia?"' in rows[0].raw_json
    assert reads.list_unsupported(db, actor=make_user(db, make_tenant(db).id, "admin")) == []
    with pytest.raises(PermissionDenied):
        reads.list_unsupported(db, actor=make_user(db, channel.tenant_id, "attendant"))


def test_a_second_delivery_job_for_the_same_message_sends_nothing(channel, db):
    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    row = _send(db, attendant, conversation_id, {"type": "text", "body": "Uma vez só"})
    _final_status(row.id, "read")
    assert outbound.deliver_message(row.id) == "skipped"
    assert len([c for c in channel.sent(to=WA_ID) if c["kind"] == "message"]) == 1


def test_another_tenants_stored_file_cannot_be_sent(channel, db):
    from crm_app.errors import NotFound

    conversation_id = _open_conversation(channel, db)
    attendant = _owner(db, channel, conversation_id)
    with pytest.raises(NotFound):
        _send(db, attendant, conversation_id, {"type": "media", "kind": "image", "mime": "image/jpeg",
                                               "storage_key": "999/out/abc.jpg"})
