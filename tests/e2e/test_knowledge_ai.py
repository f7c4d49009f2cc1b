"""The AI in Chromium: an admin adds a knowledge entry and tests a question; an attendant asks for a draft.

The stack's sandbox serves the fake OpenAI the demo tenant's AI settings point at.
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shoot
from tests.e2e.test_inbox import _customer_says, _open_inbox, _row, _sandbox, _wait


def _rows(query: str, **params) -> list:
    from crm_app.db import get_engine

    with get_engine().begin() as conn:
        return conn.execute(text(query), params).all()


def _execute(query: str, **params) -> None:
    from crm_app.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text(query), params)


def _fake_requests() -> list[dict]:
    return httpx.get(f"{_sandbox()}/sandbox/api/openai/requests", timeout=10).json()


def test_admin_adds_an_entry_and_tests_a_question(page):
    _execute("DELETE FROM knowledge_entries WHERE title = 'Piscina'")
    login(page, "admin@demo.local")
    page.wait_for_url(re.compile(r"/(inbox)?$"))
    page.locator("#conversation-list").wait_for()
    page.goto("/settings/knowledge")
    page.locator("#kb-table").get_by_text("Horário de check-in e check-out").wait_for()
    expect(page.locator("#ai-key-state")).to_have_text(re.compile("Chave configurada"))
    assert "sk-sandbox-demo-key" not in page.content()  # the key never reaches the browser
    expect(page.locator("#ai-base_url")).to_have_value(re.compile(r"/openai/v1$"))

    page.click("#kb-new")
    page.fill("#kb-title", "Piscina")
    page.click("#kb-save")
    page.locator("#kb-content-error").wait_for()
    page.fill("#kb-content", "A piscina fica aberta das 8h às 20h. Toalhas na recepção. <b>sem html</b>")
    page.fill("#kb-tags", "lazer, piscina")
    shoot(page, "settings-knowledge-dialog")
    page.click("#kb-save")
    page.get_by_text("Entrada salva.").wait_for()
    page.locator("#kb-table .kb-row", has_text="Piscina").wait_for()
    assert page.locator("#kb-table b").count() == 0  # escaped, never HTML

    page.fill("#kb-search", "piscina")
    expect(page.locator("#kb-table .kb-row")).to_have_count(1)
    page.fill("#kb-search", "")
    expect(page.locator("#kb-table .kb-row")).not_to_have_count(1)

    page.fill("#ai-test-question", "Que horas abre a piscina? Meu CPF é 529.982.247-25")
    page.click("#ai-test-run")
    page.locator("#ai-test-answer").get_by_text("aberta das 8h às 20h").wait_for()
    expect(page.locator("#ai-test-confidence")).to_have_text("90%")
    expect(page.locator("#ai-test-sources")).to_have_text("Piscina")
    expect(page.locator("#ai-usage-calls")).not_to_have_text("0")
    asked = _fake_requests()[-1]["raw"]
    assert "piscina" in asked and "529.982.247-25" not in asked and "[CPF]" in asked
    page.get_by_role("heading", name="Base de conhecimento e IA").scroll_into_view_if_needed()
    shoot(page, "settings-knowledge")

    page.fill("#ai-test-question", "Vocês alugam bicicletas?")
    page.click("#ai-test-run")
    page.locator("#ai-test-outcome").get_by_text("Confiança baixa").wait_for()

    page.fill("#ai-base_url", "ftp://errado")
    page.click("#ai-save")
    page.locator("#ai-error-base_url").wait_for()
    stored = _rows("SELECT v.value FROM setting_values v JOIN tenants t ON t.id = v.tenant_id "
                   "WHERE t.slug = 'demo' AND v.key = 'ai.base_url'")
    assert re.match(r"^http://127\.0\.0\.1:\d+/openai/v1$", stored[0][0])  # nothing was saved


def test_attendant_gets_a_suggested_reply_in_the_composer(browser, stack):
    phone, name = "5511955557001", "Paula Sugestão"
    _customer_says(phone, name, "Boa noite! Qual a senha do wi-fi? Meu cpf é 529.982.247-25")
    conversation_id = _wait(lambda: _rows("SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id "
                                          "WHERE k.phone_e164 = :p", p="+" + phone))[0][0]
    # Ana owns it (however the bot flow of the moment would have routed it), so she may reply.
    _execute("UPDATE conversations SET bot_active = false, assignee_id = (SELECT id FROM users WHERE email = "
             "'ana@demo.local') WHERE id = :c", c=conversation_id)
    context, ana = _open_inbox(browser, stack, "ana@demo.local")
    try:
        ana.click("#tab-mine")
        _row(ana, name).click()
        ana.locator("#chat-name", has_text=name).wait_for()
        ana.locator("#suggest-reply").wait_for()
        ana.click("#suggest-reply")
        _wait(lambda: "praia2025" in ana.locator("#composer-text").input_value())
        ana.get_by_text("Sugestão pronta").first.wait_for()
        assert all("529.982.247-25" not in r["raw"] for r in _fake_requests())
        ana.fill("#composer-text", ana.locator("#composer-text").input_value() + " Boa estadia!")
        shoot(ana, "inbox-suggest-reply")

        httpx.post(f"{_sandbox()}/sandbox/api/openai/fault", json={"mode": "error", "count": 1}, timeout=10)
        ana.click("#suggest-reply")
        ana.get_by_text("A IA não respondeu agora").first.wait_for()
        assert "Boa estadia!" in ana.locator("#composer-text").input_value()  # the draft is not lost
    finally:
        context.close()
