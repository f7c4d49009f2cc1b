"""An admin replays a dead-lettered webhook from the settings page."""

import json
import re
import time

from sqlalchemy import text

from tests.e2e.conftest import login, shoot


def test_admin_replays_a_dead_webhook_and_it_is_processed(page):
    from crm_app.config import get_settings
    from crm_app.db import get_engine

    settings = get_settings()
    body = {"object": "whatsapp_business_account", "entry": [{"id": settings.demo_wa_waba_id, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "551140000001", "phone_number_id": settings.demo_wa_phone_number_id},
            "contacts": [{"profile": {"name": "Rita"}, "wa_id": "5511977776666"}],
            "messages": [{"from": "5511977776666", "id": "wamid.dead-1", "timestamp": "1700000000", "type": "text",
                          "text": {"body": "Mensagem que falhou"}}]}}]}]}
    with get_engine().begin() as conn:
        tenant_id, inbox_id = conn.execute(text("SELECT tenant_id, id FROM inboxes WHERE phone_number_id = :p"),
                                           {"p": settings.demo_wa_phone_number_id}).one()
        event_id = conn.execute(text(
            "INSERT INTO inbound_events (tenant_id, inbox_id, body, content_hash, status, attempts, last_error, "
            "received_at) VALUES (:t, :i, :b, 'e2e-dead-1', 'dead', 6, 'OperationalError: boom', now()) "
            "RETURNING id"), {"t": tenant_id, "i": inbox_id, "b": json.dumps(body)}).scalar()
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/settings")
    table = page.locator("#dead-events-table")
    table.get_by_text("OperationalError: boom").wait_for()
    shoot(page, "settings-dead-letters")
    table.get_by_role("button", name=re.compile("Reprocessar")).click()
    page.get_by_text("Evento reenviado para processamento.").wait_for()
    deadline, status = time.monotonic() + 20, None
    while time.monotonic() < deadline and status != "processed":
        with get_engine().connect() as conn:
            status = conn.execute(text("SELECT status FROM inbound_events WHERE id = :id"), {"id": event_id}).scalar()
        time.sleep(0.2)
    assert status == "processed"
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT body FROM messages WHERE wa_message_id = 'wamid.dead-1'")).scalar() \
            == "Mensagem que falhou"
        actions = conn.execute(text("SELECT action FROM audit_logs WHERE target_id = :id"),
                               {"id": str(event_id)}).scalars().all()
    assert "inbound_event.replay" in actions
    page.locator("#dead-events-table").wait_for(state="detached")
