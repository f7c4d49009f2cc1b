"""Every inbox action clicked through in Chromium, checked in the UI, live in a second tab, and in the DB or sandbox."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.conftest import SHOTS, shoot
from tests.e2e.test_inbox import _customer_says, _open_inbox, _row, _sandbox, _sent_to, _wait


def _sql(query: str, **params):
    from crm_app.db import get_engine

    with get_engine().begin() as conn:
        return conn.execute(text(query), params).all()


def _conversation_of(phone: str):
    """The customer's latest conversation (the worker stores it a moment after the webhook answers)."""
    return _wait(lambda: _sql("SELECT c.* FROM conversations c JOIN contacts k ON k.id = c.contact_id "
                              "WHERE k.phone_e164 = :p ORDER BY c.id DESC LIMIT 1", p="+" + phone), timeout=10)[0]


def _line(page, words: str):
    return page.locator(".msg-row[data-sender=system]", has_text=words)


@pytest.fixture(scope="module")
def bia(stack):
    """Bia, a second attendant of the demo tenant (the same one tests/e2e/test_inbox.py creates)."""
    from crm_app.db import session_scope
    from crm_app.services.access import users

    tenant_id = _sql("SELECT tenant_id FROM users WHERE email = 'ana@demo.local'")[0].tenant_id
    with session_scope() as session:
        users.ensure_user(session, actor=None, tenant_id=tenant_id, email="bia@demo.local", name="Bia Atendente",
                          role="attendant", password="demo1234")
    return "bia@demo.local"


def _take(page, name: str) -> None:
    page.click("#tab-bot")
    _row(page, name).click()
    page.locator("#chat-name", has_text=name).wait_for()
    page.click("#take-over")
    page.locator("#composer-text").wait_for()


def _watch(page, name: str) -> None:
    page.click("#tab-all")
    _row(page, name).click()
    page.locator("#chat-name", has_text=name).wait_for()


def test_labels_snooze_close_reopen_and_transfer_show_system_lines_live(browser, stack, bia):
    phone, name = "5511955551001", "Carla Ações"
    _customer_says(phone, name, "Preciso falar com o financeiro")
    ctx_b, bia_page = _open_inbox(browser, stack, bia)  # online, so Ana can transfer to her
    ctx_a, ana = _open_inbox(browser, stack, "ana@demo.local")
    ctx_s, sup = _open_inbox(browser, stack, "supervisor@demo.local")
    try:
        _take(ana, name)
        _watch(sup, name)
        conv = _conversation_of(phone)
        # Etiquetas: add, then remove, from the header's popover.
        ana.click("#labels-button")
        ana.fill("#label-input", "VIP")
        ana.press("#label-input", "Enter")
        for page in (ana, sup):
            _line(page, "adicionou a etiqueta VIP").wait_for(timeout=15_000)
        sup.locator("#panel-labels", has_text="VIP").wait_for(timeout=15_000)
        assert _sql("SELECT l.name FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id "
                    "WHERE cl.conversation_id = :c", c=conv.id) == [("VIP",)]
        shoot(ana, "inbox-labels")
        ana.locator(".label-chip[data-label='VIP'] .remove-label").click()
        for page in (ana, sup):
            _line(page, "removeu a etiqueta VIP").wait_for(timeout=15_000)
        assert _sql("SELECT 1 FROM conversation_labels WHERE conversation_id = :c", c=conv.id) == []
        ana.keyboard.press("Escape")
        # Adiar until tomorrow 09:00 in the tenant's zone; then Reabrir.
        ana.click("#snooze-button")
        until = (dt.datetime.now(ZoneInfo("America/Sao_Paulo")) + dt.timedelta(days=1)).replace(
            hour=9, minute=0, second=0, microsecond=0)
        ana.fill("#snooze-dialog input[name=until]", until.strftime("%Y-%m-%dT%H:%M"))
        shoot(ana, "inbox-snooze-dialog")
        ana.click("#snooze-submit")
        for page in (ana, sup):
            _line(page, "adiou a conversa até").wait_for(timeout=15_000)
            page.locator("#chat-pane .rt-Badge", has_text="Adiada").first.wait_for(timeout=15_000)
        row = _conversation_of(phone)
        assert row.status == "snoozed" and row.snoozed_until == until.astimezone(dt.UTC)
        ana.click("#reopen-button")
        for page in (ana, sup):
            _line(page, "reabriu a conversa").first.wait_for(timeout=15_000)
        assert _conversation_of(phone).status == "open"
        # Encerrar with a note: the note is a private bubble, the line says who closed it.
        ana.click("#close-button")
        ana.fill("#close-dialog textarea[name=note]", "Resolvido: boleto reenviado")
        ana.click("#close-submit")
        for page in (ana, sup):
            _line(page, "encerrou a conversa").wait_for(timeout=15_000)
            page.locator(".msg-row[data-sender=note]", has_text="boleto reenviado").wait_for(timeout=15_000)
        assert _conversation_of(phone).status == "closed"
        ana.locator("#composer-blocked").wait_for()
        shoot(ana, "inbox-closed")
        ana.click("#reopen-button")
        for page in (ana, sup):
            _wait(lambda p=page: _line(p, "reabriu a conversa").count() == 2, timeout=5)
        assert _conversation_of(phone).status == "open"
        # Transferir to the team, with a reason: it waits unassigned in the queue, and Bia sees it arrive.
        # Nobody else of Recepção may be online (an earlier file's Bruno may still count as online for 60 s, and
        # would get it from the queue at once); Ana, who hands it away, never gets it back.
        from crm_app.services.routing import presence

        for user in _sql("SELECT u.tenant_id, u.id FROM users u JOIN team_members m ON m.user_id = u.id "
                         "JOIN teams t ON t.id = m.team_id WHERE t.name = 'Recepção' AND u.email <> :ana",
                         ana="ana@demo.local"):
            presence.set_offline(user.tenant_id, user.id)
        bia_page.click("#tab-unassigned")
        ana.click("#transfer-button")
        ana.click("#transfer-target")
        ana.get_by_role("option", name="Recepção", exact=True).click()
        ana.fill("#transfer-dialog textarea[name=reason]", "Cliente pediu o financeiro")
        shoot(ana, "inbox-transfer-dialog")
        ana.click("#transfer-submit")
        for page in (ana, sup):
            _line(page, "transferiu a conversa para Recepção").wait_for(timeout=15_000)
        _row(bia_page, name).wait_for(timeout=15_000)
        row = _conversation_of(phone)
        assert row.assignee_id is None and row.team_id is not None
        reason = _sql("SELECT data->>'reason' FROM conversation_events "
                      "WHERE conversation_id = :c AND kind = 'transfer'",
                      c=conv.id)
        assert reason == [("Cliente pediu o financeiro",)]
        # The supervisor hands it to Bia; Ana's tab shows it leaving, Bia's composer opens up.
        sup.click("#transfer-button")
        sup.click("#transfer-target")
        sup.get_by_role("option", name="Bia Atendente").click()
        sup.click("#transfer-submit")
        _line(sup, "transferiu a conversa para Bia Atendente").wait_for(timeout=15_000)
        _row(bia_page, name).wait_for(state="detached", timeout=15_000)  # out of "não atribuídas"
        bia_page.click("#tab-mine")
        _row(bia_page, name).click()
        bia_page.locator("#composer-text").wait_for()
        ana.locator("#composer-blocked", has_text="outro atendente").wait_for(timeout=15_000)
        events = _sql("SELECT kind FROM conversation_events WHERE conversation_id = :c ORDER BY id", c=conv.id)
        assert [e.kind for e in events] == ["takeover", "label", "label", "snooze", "status", "status", "status",
                                            "transfer", "transfer"]
    finally:
        for ctx in (ctx_a, ctx_s, ctx_b):
            ctx.close()


def test_contact_save_search_filters_sort_and_load_more(browser, stack):
    from crm_app.db import session_scope
    from tests.support.inbox import quick_conversation

    phone, name = "5511955551002", "Diego Contato"
    _customer_says(phone, name, "Meu boleto venceu ontem")
    inbox_id = _sql("SELECT id FROM inboxes ORDER BY id LIMIT 1")[0].id
    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:  # 45 unassigned conversations, windows closing at different times
        for i in range(45):
            quick_conversation(session, inbox_id, phone=f"+55119777{i:05d}", name=f"Lote {i:02d}",
                               last_message_at=now - dt.timedelta(minutes=i + 1),
                               last_customer_message_at=now - dt.timedelta(hours=23, minutes=50 - i))
    ctx_a, ana = _open_inbox(browser, stack, "ana@demo.local")
    ctx_s, sup = _open_inbox(browser, stack, "supervisor@demo.local")
    try:
        _take(ana, name)
        _watch(sup, name)
        # Contato: name, e-mail and attributes; the supervisor's header follows live.
        ana.fill("#contact-name", "Diego Contato Silva")
        ana.fill("#contact-email", "diego@example.com")
        ana.fill("#contact-attributes", "plano: ouro\ncidade: Campinas")
        ana.click("#contact-save")
        ana.get_by_text("Contato salvo.").wait_for()
        sup.locator("#chat-name", has_text="Diego Contato Silva").wait_for(timeout=15_000)
        contact = _sql("SELECT name, email, custom_attributes FROM contacts WHERE phone_e164 = :p", p="+" + phone)[0]
        assert (contact.name, contact.email) == ("Diego Contato Silva", "diego@example.com")
        assert contact.custom_attributes == {"plano": "ouro", "cidade": "Campinas"}
        # Server-side search: by message text, ignoring accents and case.
        sup.fill("#inbox-search", "BOLETO VENCEU")
        _wait(lambda: sup.locator("#conversation-list .conv-row").count() == 1, timeout=10)
        assert "Diego Contato Silva" in sup.locator("#conversation-list .conv-row").first.inner_text()
        sup.fill("#inbox-search", "zzz-nada")
        sup.get_by_text("Nada encontrado").wait_for()
        sup.fill("#inbox-search", "")
        # Carregar mais: the unassigned tab has 45 rows, 40 a page.
        sup.click("#tab-unassigned")
        _wait(lambda: sup.locator("#conversation-list .conv-row").count() == 40, timeout=10)
        sup.click("#load-more")
        _wait(lambda: sup.locator("#conversation-list .conv-row").count() >= 45, timeout=10)
        # Sort: the window closing soonest comes first (Lote 00 wrote longest ago).
        sup.click("#filters-button")
        sup.click("#sort-select")
        sup.get_by_role("option", name="Janela fecha antes").click()
        _wait(lambda: "Lote 00" in sup.locator("#conversation-list .conv-row").first.inner_text(), timeout=10)
        sup.click("#sort-select")
        sup.get_by_role("option", name="Mais recentes").click()
        # Filters: status, team, label, number.
        sup.click("#filter-status")
        sup.get_by_role("option", name="Adiada").click()
        sup.get_by_text("Nenhuma conversa aqui").wait_for(timeout=10_000)
        sup.click("#filter-status")
        sup.get_by_role("option", name="Qualquer situação").click()
        sup.click("#filter-inbox")
        sup.get_by_role("option", name="WhatsApp Recepção").click()
        _wait(lambda: sup.locator("#conversation-list .conv-row").count() >= 40, timeout=10)
        shoot(sup, "inbox-filters")
        sup.click("#filters-clear")
        sup.keyboard.press("Escape")
        # A label set by Ana filters the supervisor's "Todas".
        ana.click("#labels-button")
        ana.fill("#label-input", "Financeiro")
        ana.press("#label-input", "Enter")
        _line(ana, "adicionou a etiqueta Financeiro").wait_for()
        ana.keyboard.press("Escape")
        sup.reload()
        sup.locator("#conversation-list").wait_for()
        sup.click("#tab-all")
        sup.click("#filters-button")
        sup.click("#filter-label")
        sup.get_by_role("option", name="Financeiro").click()
        _wait(lambda: sup.locator("#conversation-list .conv-row").count() == 1, timeout=10)
        sup.click("#filter-team")
        sup.get_by_role("option", name="Recepção", exact=True).click()
        sup.get_by_text("Nenhuma conversa aqui").wait_for(timeout=10_000)  # Diego's conversation has no team
        sup.click("#filters-clear")
    finally:
        ctx_a.close()
        ctx_s.close()


def test_a_failed_send_shows_the_reason_and_resend_delivers_it(browser, stack):
    phone, name = "5511955551003", "Elisa Falha"
    _customer_says(phone, name, "Pode me mandar o endereço?")
    ctx_a, ana = _open_inbox(browser, stack, "ana@demo.local")
    ctx_s, sup = _open_inbox(browser, stack, "supervisor@demo.local")
    try:
        _take(ana, name)
        _watch(sup, name)
        httpx.post(f"{_sandbox()}/sandbox/api/faults", json={"errors": [{"code": 131026, "times": 1}]},
                   timeout=10).raise_for_status()
        ana.fill("#composer-text", "Rua das Flores, 100")
        ana.press("#composer-text", "Enter")
        for page in (ana, sup):
            page.locator(".msg-row[data-sender=attendant]", has_text="Rua das Flores").locator(
                ".tick[data-tick=failed]").wait_for(timeout=15_000)
        failed = _sql("SELECT id, status, error_code FROM messages WHERE body = 'Rua das Flores, 100'")[0]
        assert (failed.status, failed.error_code) == ("failed", 131026)
        bubble = ana.locator(".msg-row[data-sender=attendant]", has_text="Rua das Flores")
        bubble.locator(".tick[data-tick=failed]").hover()
        ana.get_by_role("tooltip").filter(has_text="Não foi possível entregar").first.wait_for()
        shoot(ana, "inbox-failed-resend")
        assert sup.locator(".resend-button").count() == 1  # staff may resend too
        bubble.locator(".resend-button").click()
        bubble.locator(".tick[data-tick=read], .tick[data-tick=delivered], .tick[data-tick=sent]").first.wait_for(
            timeout=15_000)
        sup.locator(".msg-row[data-sender=attendant]", has_text="Rua das Flores").locator(
            ".tick[data-tick=failed]").wait_for(state="detached", timeout=15_000)
        attempts = [r for r in _sent_to(phone) if r["type"] == "text"]
        statuses = [r["http_status"] for r in attempts]
        assert statuses[-1] == 200 and statuses[-2] != 200, statuses
        row = _sql("SELECT status, error_code FROM messages WHERE id = :i", i=failed.id)[0]
        assert row.status in ("sent", "delivered", "read") and row.error_code is None
        assert _sql("SELECT action FROM audit_logs WHERE target_type = 'message' AND target_id = :i",
                    i=str(failed.id)) == [("message.resend",)]
    finally:
        httpx.delete(f"{_sandbox()}/sandbox/api/faults", timeout=10)
        ctx_a.close()
        ctx_s.close()


def test_presence_typing_attachments_older_messages_and_unread_title(browser, stack, tmp_path):
    from crm_app.services.routing import presence

    phone, name = "5511955551004", "Fábio Histórico"
    _customer_says(phone, name, "Primeira mensagem de hoje")
    conv = _conversation_of(phone)
    # 80 older messages, written straight into the history.
    from crm_app.db import session_scope
    from crm_app.models import Direction, Message, MessageKind, MessageStatus, SenderType

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    with session_scope() as session:
        for i in range(1, 81):
            session.add(Message(tenant_id=conv.tenant_id, conversation_id=conv.id, direction=Direction.INBOUND,
                                sender_type=SenderType.CUSTOMER, kind=MessageKind.TEXT, body=f"Mensagem antiga {i:03d}",
                                status=MessageStatus.RECEIVED, created_at=start + dt.timedelta(minutes=i)))
    ctx_a, ana = _open_inbox(browser, stack, "ana@demo.local")
    ctx_s, sup = _open_inbox(browser, stack, "supervisor@demo.local")
    try:
        # Disponível / Ausente, kept across a reload.
        ana.click("#presence-toggle")
        ana.click("#presence-away")
        ana.locator("#presence-toggle", has_text="Ausente").wait_for()
        tenant_id, ana_id = _sql("SELECT tenant_id, id FROM users WHERE email = 'ana@demo.local'")[0]
        _wait(lambda: presence.statuses(tenant_id).get(ana_id) == "away", timeout=5)
        ana.reload()
        ana.locator("#presence-toggle", has_text="Ausente").wait_for()
        ana.click("#presence-toggle")
        ana.click("#presence-online")
        _wait(lambda: presence.statuses(tenant_id).get(ana_id) == "online", timeout=5)
        # Older messages load by themselves when the history is scrolled to the top.
        _take(ana, name)
        _wait(lambda: ana.locator("#messages .msg-row").count() >= 50, timeout=10)
        assert ana.locator(".msg-row", has_text="Mensagem antiga 001").count() == 0
        for _ in range(20):
            ana.locator("#chat-scroll").evaluate("el => { el.scrollTop = 0; }")
            ana.wait_for_timeout(400)
            if ana.locator(".msg-row", has_text="Mensagem antiga 001").count():
                break
        ana.locator(".msg-row", has_text="Mensagem antiga 001").wait_for(timeout=15_000)
        assert ana.locator("#load-older").count() == 0  # the whole history is shown
        # Typing: the supervisor watching the conversation sees Ana typing.
        _watch(sup, name)
        ana.click("#composer-text")
        ana.keyboard.type("Estou verificando")
        sup.locator("#typing", has_text="Ana Atendente está digitando").wait_for(timeout=15_000)
        shoot(sup, "inbox-typing")
        ana.fill("#composer-text", "")
        # Attachments: stored, uploaded to Meta (the sandbox) and sent as a document.
        pdf = tmp_path / "orcamento.pdf"
        pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
        before = len(_sent_to(phone))
        ana.click("#attach-button")
        ana.locator("#attach-dialog input[type=file]").set_input_files(str(pdf))
        ana.get_by_text("orcamento.pdf").first.wait_for()
        ana.click("#attach-send")
        sent = _wait(lambda: [r for r in _sent_to(phone)[before:] if r["type"] == "document"], timeout=20)
        assert sent[-1]["http_status"] == 200
        assert sent[-1]["body"]["document"].get("filename") in (None, "orcamento.pdf")
        for page in (ana, sup):
            page.locator(".msg-row[data-sender=attendant]", has_text="orcamento.pdf").wait_for(timeout=10_000)
        stored = _sql("SELECT kind, media_storage_key FROM messages WHERE conversation_id = :c AND kind = 'document'",
                      c=conv.id)
        assert stored and stored[0].media_storage_key
        # The tab title counts unread messages of my conversations while I look at another one.
        other_phone, other = "5511955551005", "Gabi Título"
        _customer_says(other_phone, other, "Oi")
        _take(ana, other)
        ana.click("#tab-mine")
        _row(ana, name).click()
        ana.locator("#chat-name", has_text=name).wait_for()
        _customer_says(other_phone, other, "Tem alguém aí?")
        _customer_says(other_phone, other, "Preciso de ajuda")
        _wait(lambda: _sql("SELECT unread_count FROM conversations WHERE id = :c",
                           c=_conversation_of(other_phone).id)[0].unread_count == 2, timeout=10)
        expected = _sql("SELECT sum(c.unread_count) AS n FROM conversations c JOIN users u ON u.id = c.assignee_id "
                        "WHERE u.email = 'ana@demo.local' AND c.status <> 'closed'")[0].n
        _wait(lambda: ana.title().startswith(f"({expected}) "), timeout=10)
        ana.screenshot(path=str(SHOTS / "inbox-unread-title-1366.png"))
        _row(ana, other).click()
        _wait(lambda: not ana.title().startswith("("), timeout=10)
    finally:
        ctx_a.close()
        ctx_s.close()


def test_no_reflex_connection_toast_or_icon_only_our_banner(browser, stack):
    context, ana = _open_inbox(browser, stack, "ana@demo.local")
    try:
        context.set_offline(True)
        ana.locator("#reconnecting").wait_for(timeout=60_000)
        time.sleep(1)
        assert ana.get_by_text("Cannot connect to server").count() == 0
        assert ana.locator("svg.lucide-wifi-off").count() == 0
        assert ana.locator("#reconnecting").inner_text().startswith("Reconectando")
        shoot(ana, "inbox-reconnecting")
        context.set_offline(False)
        ana.locator("#reconnecting").wait_for(state="hidden", timeout=30_000)
    finally:
        context.close()


def _interactive_text(request: dict) -> str | None:
    return request["body"]["interactive"].get("body", {}).get("text")


def test_reply_buttons_and_a_list_are_built_in_the_composer_and_sent(browser, stack):
    phone, name = "5511955551009", "Gabi Opções"
    _customer_says(phone, name, "Quais quartos vocês têm?")
    ctx, ana = _open_inbox(browser, stack, "ana@demo.local")
    try:
        _take(ana, name)
        ana.click("#interactive-open")
        ana.fill("#interactive-body", "Qual quarto você prefere?")
        options = ana.locator(".interactive-option input")
        options.nth(0).fill("Casal")
        ana.click("#interactive-send")  # the second option is still empty
        ana.locator("#interactive-error", has_text="Preencha todas as opções").wait_for()
        options.nth(1).fill("Solteiro")
        ana.locator("#interactive-preview", has_text="Solteiro").wait_for()
        shoot(ana, "inbox-interactive-buttons")
        ana.click("#interactive-send")
        ana.locator("#interactive-dialog").wait_for(state="detached")
        # Ours, by its text: the demo bot may have answered the customer with its own list menu before the take-over.
        buttons = _wait(lambda: [r for r in _sent_to(phone) if r["type"] == "interactive"
                                 and _interactive_text(r) == "Qual quarto você prefere?"],
                        timeout=15)
        sent = buttons[0]["body"]["interactive"]
        assert sent["type"] == "button" and sent["body"]["text"] == "Qual quarto você prefere?"
        assert [b["reply"]["title"] for b in sent["action"]["buttons"]] == ["Casal", "Solteiro"]
        ana.locator(".msg-row[data-sender=attendant]", has_text="Qual quarto você prefere?").wait_for()

        ana.click("#interactive-open")
        ana.get_by_role("radio", name="Lista").click()
        ana.fill("#interactive-body", "Escolha o café da manhã")
        ana.fill("#interactive-list-button", "Ver cardápio")
        for i, option in enumerate(("Continental", "Regional")):
            ana.locator(".interactive-option input").nth(i).fill(option)
        ana.click("#interactive-add")
        ana.locator(".interactive-option input").nth(2).fill("Sem café")
        ana.click("#interactive-send")
        listed = _wait(lambda: [r for r in _sent_to(phone) if r["type"] == "interactive"
                                and _interactive_text(r) == "Escolha o café da manhã"],
                       timeout=15)[0]["body"]["interactive"]
        assert listed["type"] == "list"
        assert listed["action"]["button"] == "Ver cardápio"
        assert [r["title"] for r in listed["action"]["sections"][0]["rows"]] == ["Continental", "Regional", "Sem café"]
    finally:
        ctx.close()


# Stands in for the browser's own Notification API and audio output (headless Chromium shows neither),
# and says the tab is in the background: the inbox notifies only then.
_RECORD_NOTIFICATIONS = """
window.__shown = []; window.__sounds = 0;
class RecordedNotification {
  constructor(title, options) { window.__shown.push({title, body: (options || {}).body || ""}); }
  close() {}
}
RecordedNotification.permission = "granted";
RecordedNotification.requestPermission = () => Promise.resolve("granted");
window.Notification = RecordedNotification;
HTMLMediaElement.prototype.play = function () { window.__sounds += 1; return Promise.resolve(); };
Object.defineProperty(Document.prototype, "hidden", {get: () => true});
"""


def test_a_background_tab_notifies_with_a_sound_for_my_conversations_and_new_ones(browser, stack):
    mine_phone, mine = "5511955551010", "Helena Aviso"
    other_phone, other = "5511955551011", "Igor Aberto"
    _customer_says(mine_phone, mine, "Olá")
    _customer_says(other_phone, other, "Bom dia")
    ctx, ana = _open_inbox(browser, stack, "ana@demo.local")
    try:
        ctx.add_init_script(_RECORD_NOTIFICATIONS)
        ana.reload()
        ana.locator("#conversation-list").wait_for()
        _take(ana, other)
        _take(ana, mine)
        ana.click("#tab-mine")
        _row(ana, other).click()  # Helena's conversation is Ana's but not on screen
        ana.locator("#chat-name", has_text=other).wait_for()
        ana.wait_for_timeout(1500)  # the signal poller has seen the current state
        _customer_says(mine_phone, mine, "Vocês aceitam pets?")
        shown = _wait(lambda: ana.evaluate("window.__shown"), timeout=15)
        assert shown[-1]["title"] == mine and "pets" in shown[-1]["body"]
        assert ana.evaluate("window.__sounds") >= 1
        _customer_says("5511955551012", "Joana Nova", "Oi, tudo bem?")  # a brand-new conversation
        _wait(lambda: any(n["title"] == "Nova conversa aguardando atendimento"
                          for n in ana.evaluate("window.__shown")), timeout=15)
        sounds = ana.evaluate("window.__sounds")
        _customer_says(other_phone, other, "Ainda está aí?")  # the open conversation: no notification
        ana.locator(".msg-row[data-sender=customer]", has_text="Ainda está aí?").wait_for()
        ana.wait_for_timeout(1500)
        assert all("Ainda" not in n["body"] for n in ana.evaluate("window.__shown"))
        assert ana.evaluate("window.__sounds") == sounds
    finally:
        ctx.close()


def _chip(page, name: str):
    return _row(page, name).locator(".sla-chip")


def test_sla_chips_tick_in_the_browser_sort_due_first_filter_at_risk_and_set_a_priority(browser, stack):
    from crm_app.db import session_scope
    from tests.support.inbox import quick_conversation

    inbox_id = _sql("SELECT id FROM inboxes ORDER BY id LIMIT 1")[0].id
    ctx_s, sup = _open_inbox(browser, stack, "supervisor@demo.local")
    ctx_a = None
    try:
        now = dt.datetime.now(dt.UTC)
        # far: 45 of 60 minutes left (green); middle: 10 of 60 left (amber); near: passes in a few seconds (red).
        with session_scope() as session:
            far = quick_conversation(session, inbox_id, phone="+5511955559201", name="Prazo Folgado",
                                     last_message_at=now, sla_due_at=now + dt.timedelta(minutes=45, seconds=30),
                                     sla_started_at=now - dt.timedelta(minutes=15)).id
            near = quick_conversation(session, inbox_id, phone="+5511955559202", name="Prazo Apertado",
                                      last_message_at=now - dt.timedelta(minutes=1),
                                      sla_due_at=now + dt.timedelta(seconds=8),
                                      sla_started_at=now - dt.timedelta(minutes=30)).id
            middle = quick_conversation(session, inbox_id, phone="+5511955559203", name="Prazo no Limite",
                                        last_message_at=now - dt.timedelta(minutes=2),
                                        sla_due_at=now + dt.timedelta(minutes=10, seconds=30),
                                        sla_started_at=now - dt.timedelta(minutes=50)).id
        sup.click("#tab-all")
        far_chip, near_chip = _chip(sup, "Prazo Folgado"), _chip(sup, "Prazo Apertado")
        far_chip.wait_for(timeout=10_000)
        assert far_chip.inner_text().strip() in ("45 min", "44 min")
        assert "sla-ok" in far_chip.get_attribute("class") and far_chip.get_attribute("data-accent-color") == "green"
        assert far_chip.get_attribute("aria-label").startswith("Prazo do SLA: ")
        middle_chip = _chip(sup, "Prazo no Limite")
        assert middle_chip.inner_text().strip() in ("10 min", "9 min")
        assert "sla-risk" in middle_chip.get_attribute("class")
        assert middle_chip.get_attribute("data-accent-color") == "amber"
        # The near deadline passes with no server round-trip: the browser's tick turns the chip red.
        _wait(lambda: "sla-late" in (near_chip.get_attribute("class") or ""), timeout=20)
        assert near_chip.get_attribute("data-accent-color") == "red"
        assert near_chip.inner_text().strip().startswith("estourado há")
        # Vence primeiro: the missed deadline, the amber one, the far one (the demo's own policy may put other
        # conversations of this session between them), then every one without a deadline.
        sup.click("#filters-button")
        sup.click("#sort-select")
        sup.get_by_role("option", name="Vence primeiro").click()

        def listed() -> list[str]:  # in one read: the list may change between a count and its rows
            return sup.eval_on_selector_all("#conversation-list .conv-row", "rows => rows.map(r => r.dataset.id)")

        def in_order(*ids: int) -> bool:
            order = listed()
            return all(str(i) in order for i in ids) and [order.index(str(i)) for i in ids] == sorted(
                order.index(str(i)) for i in ids)

        _wait(lambda: in_order(near, middle, far), timeout=10)
        order = listed()
        # SLA em risco: the missed and the amber one (45 of 60 minutes left is not in the last 20 %).
        sup.click("#filter-sla-risk")
        _wait(lambda: str(far) not in listed(), timeout=10)
        assert in_order(near, middle)
        sup.click("#filter-sla-risk")
        _wait(lambda: len(listed()) == len(order), timeout=10)
        sup.keyboard.press("Escape")
        sup.locator("#filter-sla-risk").wait_for(state="hidden")
        shoot(sup, "inbox-sla-list")
        # A supervisor sets the priority from the header; the badge shows in the header and the row.
        _row(sup, "Prazo Apertado").click()
        sup.locator("#chat-name", has_text="Prazo Apertado").wait_for()
        sup.click("#priority-button")
        sup.click("#priority-urgent")
        sup.get_by_text("Prioridade alterada.").wait_for()
        _row(sup, "Prazo Apertado").locator(".priority-badge[data-priority=urgent]").wait_for(timeout=10_000)
        sup.locator("#chat-priority .priority-badge[data-priority=urgent]").wait_for()
        assert _sql("SELECT priority FROM conversations WHERE id = :c", c=near)[0].priority == 4
        sup.locator("#chat-pane .sla-chip.sla-late").wait_for()
        shoot(sup, "inbox-sla-chips")
        # An attendant sees the priority but has no menu to change it.
        ctx_a, ana = _open_inbox(browser, stack, "ana@demo.local")
        ana.click("#tab-unassigned")
        _row(ana, "Prazo Apertado").click()
        ana.locator("#chat-priority .priority-badge[data-priority=urgent]").wait_for(timeout=10_000)
        assert ana.locator("#priority-button").count() == 0
    finally:
        ctx_s.close()
        if ctx_a is not None:
            ctx_a.close()
