"""The attendant inbox in Chromium against the whole stack: real time, ownership, escaping, templates, reconnect."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.conftest import SHOTS, STACK_ENV, login, shoot
from tests.support.waiting import wait_for

LIVE_BUDGET_S = 1.0


def _sandbox() -> str:
    return f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}"


def _customer_says(phone: str, name: str, body: str) -> str:
    sent = httpx.post(f"{_sandbox()}/sandbox/api/customer/messages", timeout=10,
                      json={"from": phone, "name": name, "type": "text", "text": body})
    assert sent.status_code == 200 and sent.json()["webhook_status"] == 200, sent.text
    return sent.json()["wamid"]


def _sent_to(phone: str) -> list[dict]:
    return httpx.get(f"{_sandbox()}/sandbox/api/sent", params={"to": phone, "kind": "message"}, timeout=10).json()


def _wait(predicate, timeout: float = 20.0, step: float = 0.2):
    return wait_for(predicate, timeout, step)


@pytest.fixture(scope="module")
def second_attendant(stack):
    """Bia, a second attendant of the demo tenant, created through the services."""
    from crm_app.config import get_settings
    from crm_app.db import session_scope
    from crm_app.services.access import users

    with session_scope() as session:
        tenant_id = session.execute(text("SELECT tenant_id FROM inboxes WHERE phone_number_id = :p"),
                                    {"p": get_settings().demo_wa_phone_number_id}).scalar()
        users.ensure_user(session, actor=None, tenant_id=tenant_id, email="bia@demo.local", name="Bia Atendente",
                          role="attendant", password="demo1234")
    return "bia@demo.local"


def _open_inbox(browser, stack, email: str, width: int = 1366, height: int = 768):
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=stack)
    page = context.new_page()
    page.set_default_timeout(30_000)
    login(page, email)
    page.wait_for_url(re.compile(r"/(inbox)?$"))
    page.locator("#conversation-list").wait_for()
    page.wait_for_function("() => window.crmInbox !== undefined")
    return context, page


def _row(page, name: str):
    return page.locator("#conversation-list .conv-row", has_text=name)


def test_two_attendants_see_the_customer_live_take_over_reply_and_ticks(browser, stack, second_attendant):
    ctx_a, ana = _open_inbox(browser, stack, "ana@demo.local")
    ctx_b, bia = _open_inbox(browser, stack, "bia@demo.local")
    try:
        for page in (ana, bia):
            page.click("#tab-bot")  # new conversations belong to the bot until someone takes over
            page.wait_for_timeout(300)
        phone, name = "5511955550001", "Marina Tavares"
        started = time.monotonic()
        _customer_says(phone, name, "Oi! Vocês têm quarto para o feriado?")
        webhook_done = time.monotonic() - started
        _row(ana, name).wait_for(timeout=10_000)
        seen_a = time.monotonic() - started
        _row(bia, name).wait_for(timeout=10_000)
        seen_b = time.monotonic() - started
        print(f"customer message visible: ana {seen_a * 1000:.0f} ms, bia {seen_b * 1000:.0f} ms "
              f"(webhook answered after {webhook_done * 1000:.0f} ms)")

        _row(ana, name).click()
        _row(bia, name).click()
        ana.locator("#chat-name", has_text=name).wait_for()
        bia.locator("#chat-name", has_text=name).wait_for()
        ana.locator("#composer-blocked").wait_for()  # the bot owns it: no free text yet
        shoot(ana, "inbox-bot-owned")
        ana.click("#take-over")
        ana.locator("#composer-text").wait_for()
        # Bia sees, live, that Ana has it now, and her composer is locked.
        bia.locator("#composer-blocked", has_text="outro atendente").wait_for(timeout=5_000)
        bia.locator("#chat-assignee", has_text="Ana").wait_for(timeout=5_000)
        assert bia.locator("#composer-text").count() == 0
        _wait(lambda: _row(bia, name).count() == 0, timeout=5)  # it left Bia's bot tab

        reply = "Temos sim! Para quantas pessoas?"
        ana.fill("#composer-text", reply)
        ana.press("#composer-text", "Enter")
        ana.locator(".msg-row[data-sender=attendant]", has_text=reply).wait_for()
        sent = _wait(lambda: [r for r in _sent_to(phone) if r["type"] == "text"])
        from crm_app.domain.outbound import build_text

        assert sent[-1]["body"] == build_text(phone, reply)
        bubble = ana.locator(".msg-row[data-sender=attendant]", has_text=reply)
        bubble.locator(".tick[data-tick=read]").wait_for(timeout=15_000)
        assert ana.locator("#composer-text").input_value() == ""
        shoot(ana, "inbox-conversation")
        shoot(bia, "inbox-locked-for-other")
        assert seen_a < LIVE_BUDGET_S and seen_b < LIVE_BUDGET_S, (seen_a, seen_b)
    finally:
        ctx_a.close()
        ctx_b.close()


def test_customer_text_is_shown_literally_never_as_markup(browser, stack):
    context, ana = _open_inbox(browser, stack, "ana@demo.local")
    dialogs: list[str] = []
    ana.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        phone, name = "5511955550002", "Teste <b>Escape</b>"
        evil = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "javascript:alert(1)"]
        ana.click("#tab-bot")
        for body in evil:
            _customer_says(phone, name, body)
        _row(ana, "Escape").wait_for()
        _row(ana, "Escape").click()
        for body in evil:
            ana.locator("#messages .msg-body", has_text=body).first.wait_for()
        assert ana.locator("#chat-name").inner_text().strip() == name
        assert ana.locator("#messages img[src=x]").count() == 0
        assert ana.locator("#messages script").count() == 0
        assert ana.locator("#messages b").count() == 0
        assert ana.locator("a[href^='javascript']").count() == 0
        ana.wait_for_timeout(500)
        assert dialogs == []
        shoot(ana, "inbox-escaping")
    finally:
        context.close()


def test_closed_window_forces_a_template_and_it_is_sent(browser, stack):
    from crm_app.config import get_settings
    from crm_app.db import get_engine
    from crm_app.services.channel import templates

    phone, name = "5511955550003", "Rafael Lima"
    _customer_says(phone, name, "Quero confirmar minha reserva")
    with get_engine().begin() as conn:
        inbox_id = conn.execute(text("SELECT id FROM inboxes WHERE phone_number_id = :p"),
                                {"p": get_settings().demo_wa_phone_number_id}).scalar()
    templates.sync_inbox_templates(inbox_id)
    context, ana = _open_inbox(browser, stack, "ana@demo.local")
    try:
        ana.click("#tab-bot")
        _row(ana, name).click()
        ana.click("#take-over")
        ana.locator("#composer-text").wait_for()
        # 25 hours since the customer wrote, on both sides (the CRM's record and the sandbox's Meta).
        with get_engine().begin() as conn:
            conn.execute(text("UPDATE conversations SET last_customer_message_at = now() - interval '25 hours' "
                              "WHERE contact_id = (SELECT id FROM contacts WHERE phone_e164 = :p)"), {"p": "+" + phone})
        httpx.post(f"{_sandbox()}/sandbox/api/window", json={"wa_id": phone, "last_customer_message_at": None},
                   timeout=10).raise_for_status()
        ana.reload()
        ana.click("#tab-mine")
        _row(ana, name).click()
        ana.locator("#window-closed").wait_for()
        assert ana.locator("#composer-text").count() == 0
        shoot(ana, "inbox-window-closed")
        ana.click("#template-forced")
        ana.click("#template-select")
        ana.get_by_role("option", name=re.compile("pesquisa_satisfacao")).click()
        ana.locator(".template-param input").first.fill("Rafael")
        ana.locator("#template-preview", has_text="Obrigado pela estadia, Rafael!").wait_for()
        shoot(ana, "inbox-template-form")
        ana.click("#template-send")
        sent = _wait(lambda: [r for r in _sent_to(phone) if r["type"] == "template"])
        body = sent[-1]["body"]
        assert body["template"]["name"] == "pesquisa_satisfacao"
        assert body["template"]["components"][0]["parameters"][0]["text"] == "Rafael"
        assert sent[-1]["http_status"] == 200
    finally:
        context.close()


def test_offline_shows_the_banner_and_the_list_catches_up(browser, stack):
    context, ana = _open_inbox(browser, stack, "ana@demo.local")
    try:
        ana.click("#tab-bot")
        ana.wait_for_timeout(500)
        context.set_offline(True)
        ana.locator("#reconnecting").wait_for(timeout=60_000)
        ana.screenshot(path=str(SHOTS / "inbox-reconnecting-1366.png"))
        _customer_says("5511955550004", "Paula Offline", "Mensagem enquanto estava sem rede")
        time.sleep(1)
        assert _row(ana, "Paula Offline").count() == 0
        context.set_offline(False)
        _row(ana, "Paula Offline").wait_for(timeout=30_000)
        ana.locator("#reconnecting").wait_for(state="hidden", timeout=30_000)
    finally:
        context.close()


def test_phone_width_list_and_chat_are_separate_screens(browser, stack):
    context, ana = _open_inbox(browser, stack, "ana@demo.local", width=390, height=844)
    try:
        ana.click("#tab-mine")
        _row(ana, "Marina").wait_for()
        ana.screenshot(path=str(SHOTS / "inbox-list-390.png"))
        assert not ana.locator("#chat-pane").is_visible()
        _row(ana, "Marina").click()
        ana.locator("#chat-name").wait_for()
        assert not ana.locator("#list-pane").is_visible()
        ana.screenshot(path=str(SHOTS / "inbox-chat-390.png"))
        ana.click("#back-to-list")
        _row(ana, "Marina").wait_for()
        assert ana.locator("#list-pane").is_visible()
    finally:
        context.close()


def test_composer_newlines_notes_quotes_and_canned_responses(browser, stack):
    from crm_app.db import get_engine, session_scope
    from crm_app.services.core.actors import Actor
    from crm_app.services.inbox import canned

    with get_engine().begin() as conn:
        admin = conn.execute(text("SELECT id, tenant_id FROM users WHERE email = 'admin@demo.local'")).one()
    with session_scope() as session:
        actor = Actor(admin.id, admin.tenant_id, "admin", "Alice Admin", "admin@demo.local")
        canned.create_canned(session, actor=actor, short_code="boas-vindas",
                             content="Olá, {{primeiro_nome}}! Aqui é {{atendente}}.")
    phone = "5511955550001"
    context, ana = _open_inbox(browser, stack, "ana@demo.local")
    try:
        ana.click("#tab-mine")
        _row(ana, "Marina").click()
        ana.locator("#composer-text").wait_for()
        before = len(_sent_to(phone))
        ana.click("#composer-text")
        ana.keyboard.type("linha 1")
        ana.keyboard.press("Shift+Enter")
        ana.keyboard.type("linha 2")
        assert ana.locator("#composer-text").input_value() == "linha 1\nlinha 2"
        ana.keyboard.press("Enter")
        ana.locator(".msg-row[data-sender=attendant]", has_text="linha 2").wait_for()
        sent = _wait(lambda: len(_sent_to(phone)) > before and _sent_to(phone))
        assert sent[-1]["body"]["text"]["body"] == "linha 1\nlinha 2"
        # A private note stays inside the CRM.
        ana.click("#note-toggle")
        ana.fill("#composer-text", "Cliente prefere contato à tarde")
        ana.press("#composer-text", "Enter")
        ana.locator(".msg-row[data-sender=note]", has_text="prefere contato").wait_for()
        time.sleep(1)
        assert len(_sent_to(phone)) == before + 1
        ana.click("#note-toggle")
        # Quote the customer's message.
        customer = ana.locator(".msg-row[data-sender=customer]").first
        customer.hover()
        customer.locator(".reply-button").click()
        ana.locator("#reply-bar").wait_for()
        # "/" in an empty composer opens the canned responses; the variables are filled in.
        ana.click("#composer-text")
        ana.keyboard.press("/")
        ana.locator(".canned-item", has_text="boas-vindas").wait_for()
        ana.screenshot(path=str(SHOTS / "inbox-canned-1366.png"))
        ana.locator(".canned-item", has_text="boas-vindas").click()
        _wait(lambda: ana.locator("#composer-text").input_value() == "Olá, Marina! Aqui é Ana Atendente.", 5)
        ana.press("#composer-text", "Enter")
        sent = _wait(lambda: len(_sent_to(phone)) > before + 1 and _sent_to(phone))
        assert sent[-1]["body"]["text"]["body"] == "Olá, Marina! Aqui é Ana Atendente."
        assert "context" in sent[-1]["body"]  # the quote travels as a reply
        # Keyboard: Esc leaves the composer, j/k move in the list.
        ana.keyboard.press("Escape")
        ana.keyboard.press("j")
        ana.wait_for_timeout(500)
        shoot(ana, "inbox-after-keyboard")
    finally:
        context.close()
