"""Outgoing webhooks in a real browser: an admin adds an endpoint (with a custom header and a rate limit), keeps the
secret shown once, sends Testar, reads the delivery log and removes the endpoint; the sandbox's receiver checks the
signature with `standardwebhooks` and sees the header."""

import re

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import STACK_ENV, login, shoot
from tests.support.waiting import wait_for
from tests.support.webhooks import verify


def _sandbox(path: str) -> str:
    return f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}{path}"


def _received(name: str) -> list[dict]:
    return httpx.get(_sandbox("/sandbox/api/hooks/requests"), params={"name": name}, timeout=10).json()["requests"]


def test_admin_adds_an_endpoint_tests_it_reads_the_log_and_removes_it(page):
    httpx.delete(_sandbox("/sandbox/api/hooks/requests"), timeout=10).raise_for_status()
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/settings/webhooks")
    page.locator("#webhook-url").wait_for()

    page.fill("#webhook-url", "ftp://erp.exemplo.com.br/hooks")
    page.click("#webhook-create")
    page.locator("#webhook-error").wait_for()
    expect(page.locator(".webhook-row")).to_have_count(0)

    url = _sandbox("/hooks/e2e-erp")
    page.fill("#webhook-url", url)
    page.fill("#webhook-headers", "X-Loja: centro\nsem dois pontos")
    page.click("#webhook-create")
    page.locator("#webhook-error").get_by_text("linha 2").wait_for()
    page.fill("#webhook-headers", "X-Loja: centro")
    page.fill("#webhook-rate", "5")
    page.fill("#webhook-description", "ERP <b>da loja</b>")
    page.click("#webhook-type-conversation-closed")
    page.click("#webhook-create")
    secret = page.locator("#webhook-secret")
    secret.wait_for()
    shown = secret.inner_text().strip()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]+", shown)
    shoot(page, "settings-webhooks-secret")
    page.click("#webhook-secret-done")
    expect(page.locator("#webhook-secret")).to_have_count(0)
    row = page.locator(".webhook-row")
    row.get_by_text(url).wait_for()
    row.get_by_text("ERP <b>da loja</b>").wait_for()  # the description is text, never markup
    row.locator(".webhook-limits").get_by_text("até 5 por segundo · cabeçalhos: X-Loja").wait_for()

    row.locator(".webhook-test").click()
    page.get_by_text("Evento de teste (ping) enviado").wait_for()
    [ping] = wait_for(lambda: _received("e2e-erp"), timeout=30)
    assert verify(shown, ping)["type"] == "ping" and ping["headers"]["x-loja"] == "centro"

    row.locator(".webhook-select").click()
    page.locator("#webhook-log").wait_for()
    wait_for(lambda: page.locator('.delivery-row[data-status="succeeded"]').count() == 1
             or page.click("#webhook-log-refresh"), timeout=30)
    page.locator("#webhook-stats").wait_for()
    shoot(page, "settings-webhooks-log")

    row.locator(".webhook-delete").click()
    page.click("#webhook-confirm-delete")
    page.locator("#webhooks-empty").wait_for()
