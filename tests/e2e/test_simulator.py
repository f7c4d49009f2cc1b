"""The customer simulator in Chromium: a person types as the customer and the CRM stores it."""

import time

from sqlalchemy import text

from tests.e2e.conftest import SHOTS, STACK_ENV


def test_a_person_plays_the_customer_in_the_simulator(browser, stack):
    from crm_app.db import get_engine

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}/")
    page.fill("#contact-phone", "5521987654321")
    page.fill("#contact-name", "João <b>Pereira</b>")
    page.click("#new-contact button[type=submit], #new-contact button")
    page.fill("#text", "<img src=x onerror=alert(1)> Quero reservar")
    page.click("#send")
    deadline, body = time.monotonic() + 20, None
    while time.monotonic() < deadline and body is None:
        with get_engine().connect() as conn:
            body = conn.execute(text("SELECT m.body FROM messages m JOIN contacts c ON c.id = "
                                     "(SELECT contact_id FROM conversations WHERE id = m.conversation_id) "
                                     "WHERE c.phone_e164 = '+5521987654321'")).scalar()
        time.sleep(0.2)
    assert body == "<img src=x onerror=alert(1)> Quero reservar"
    page.get_by_text("Quero reservar").first.wait_for()
    assert page.locator("#messages img[src=x]").count() == 0  # shown as text, never as markup
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "simulator-1366.png"))
    context.close()
