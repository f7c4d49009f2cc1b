"""WhatsApp numbers in a real browser: verify the demo number against the sandbox, see its quality and tier
change after the sandbox changes them, a wrong token in words, and a number added through the form."""

import re

import httpx
from sqlalchemy import text

from tests.e2e.conftest import STACK_ENV, login, shoot

DEMO_TOKEN = "sandbox-access-token"


def _sandbox(path: str, **body) -> dict:
    response = httpx.post(f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}/sandbox/api/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def _db_scalar(sql: str, **params):
    from crm_app.db import get_engine

    with get_engine().begin() as conn:
        return conn.execute(text(sql), params).scalar()


def _open(page):
    login(page, "admin@demo.local")
    page.locator("#user-menu").wait_for()
    page.goto("/settings/numbers")
    page.locator("#numbers-list").wait_for()


def _demo_card(page):
    return page.locator(".number-card").filter(has_text="100000000000001")


def _verify(page, card, state: str):
    card.locator(".number-verify").click()
    card.locator(f'.number-verify-result[data-state="{state}"]').wait_for()


def test_verify_shows_quality_and_tier_after_the_sandbox_changes_them(page):
    _sandbox("phone_number", quality_rating="GREEN", messaging_limit="TIER_250", token_expired=False)
    _open(page)
    assert page.locator("#webhook-url").inner_text().endswith("/api/whatsapp/webhook")
    assert page.locator("#settings-tab-settings-numbers[aria-current=page]").count() == 1
    card = _demo_card(page)
    _verify(page, card, "ok")
    page.get_by_text("Token válido. Nome verificado na Meta: Hotel Serra Azul (sandbox)").wait_for()
    card.locator('.number-quality[data-quality="GREEN"]').get_by_text("Alta").wait_for()
    card.locator(".number-tier").get_by_text("250 conversas/dia").wait_for()

    _sandbox("phone_number", quality_rating="RED", messaging_limit="TIER_10K")
    page.reload()
    page.locator("#numbers-list").wait_for()
    card = _demo_card(page)
    # Stored, not fetched on load: the page still shows what the last check learnt.
    card.locator('.number-quality[data-quality="GREEN"]').wait_for()
    _verify(page, card, "ok")
    card.locator('.number-quality[data-quality="RED"]').get_by_text("Baixa").wait_for()
    card.locator(".number-tier").get_by_text("10.000 conversas/dia").wait_for()
    assert _db_scalar("SELECT quality_rating FROM inboxes WHERE phone_number_id = '100000000000001'") == "RED"
    shoot(page, "settings-numbers")
    _sandbox("phone_number", quality_rating="GREEN", messaging_limit="TIER_250")


def test_a_wrong_token_is_shown_in_words_and_a_new_number_is_added(page):
    _open(page)
    card = _demo_card(page)
    card.locator(".number-edit").click()
    assert page.locator("#number-access_token").input_value() == ""  # write-only: never sent to the browser
    page.fill("#number-access_token", "EAAG-not-the-right-token")
    page.click("#number-save")
    page.get_by_text("Número salvo.").first.wait_for()
    try:
        _verify(page, _demo_card(page), "error")
        _demo_card(page).get_by_text(re.compile("O token de acesso expirou ou é inválido")).first.wait_for()
        shoot(page, "settings-numbers-token-error")
    finally:
        _demo_card(page).locator(".number-edit").click()
        page.fill("#number-access_token", DEMO_TOKEN)
        page.click("#number-save")
        page.get_by_text("Número salvo.").first.wait_for()
    _verify(page, _demo_card(page), "ok")

    page.click("#number-new")
    page.fill("#number-display_number", "+55 11 4000-0777")
    page.fill("#number-phone_number_id", "100000000000001")  # the demo number's: taken
    page.fill("#number-waba_id", "abc")
    page.fill("#number-access_token", "EAAG-new-number-token")
    page.fill("#number-app_secret", "new-app-secret")
    page.fill("#number-verify_token", "new-verify-token")
    page.click("#number-save")
    page.locator("#number-waba_id-error").get_by_text("só números").wait_for()
    page.fill("#number-waba_id", "200000000000777")
    page.click("#number-save")
    page.locator("#number-phone_number_id-error").get_by_text("já está conectado nesta instalação").wait_for()
    shoot(page, "settings-numbers-form")
    page.fill("#number-phone_number_id", "100000000000777")
    page.fill("#number-name", "Reservas")
    page.click("#number-save")
    page.get_by_text("Número salvo.").first.wait_for()
    new_card = page.locator(".number-card").filter(has_text="100000000000777")
    new_card.get_by_text("Reservas").wait_for()
    new_card.locator('.number-quality[data-quality="none"]').wait_for()
    assert "new-app-secret" not in page.content()
    stored = _db_scalar("SELECT app_secret FROM inboxes WHERE phone_number_id = '100000000000777'")
    assert stored and "new-app-secret" not in stored  # encrypted at rest
    with_settings_page = page.goto("/settings")
    assert with_settings_page.ok and page.locator("#inboxes-table").count() == 0
    _db_scalar("DELETE FROM inboxes WHERE phone_number_id = '100000000000777' RETURNING id")
