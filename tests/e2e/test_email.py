"""E-mail in a real browser, through the stack's real workers and the sandbox's real SMTP server: an invitation
e-mail whose link lets the invitee choose a password and log in; the sandbox's mailbox page; Settings › E-mail
refusing a wrong SMTP login, and a failed e-mail resent from the log."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import STACK_ENV, login, shoot

PASSWORD = "cachoeira-do-vale-22"


def _sandbox() -> str:
    return f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}"


def _mail_to(address: str, timeout: float = 60) -> dict:
    """The first e-mail the sandbox captured for `address` (the default worker sends it within seconds)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=_sandbox(), timeout=10) as api:
        while time.monotonic() < deadline:
            listed = api.get("/sandbox/api/mail/messages", params={"to": address}).json()["messages"]
            if listed:
                return api.get(f"/sandbox/api/mail/messages/{listed[-1]['id']}").json()
            time.sleep(0.2)
    raise AssertionError(f"no e-mail reached {address} in {timeout} s")


def _control(**switches) -> None:
    response = httpx.post(f"{_sandbox()}/sandbox/api/mail/control", json=switches, timeout=10)
    assert response.status_code == 200, response.text


def _fresh_page(browser, base_url: str):
    page = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base_url).new_page()
    page.set_default_timeout(30_000)
    return page


def test_an_invitation_email_link_lets_the_invitee_choose_a_password_and_log_in(page, browser, stack):
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/settings/users")
    page.locator("#users-table").wait_for()
    page.click("#user-new")
    page.fill("#user-name", "Dora <Correio>")
    page.fill("#user-email", "dora.correio@demo.local")
    page.click("#user-method-invite")
    page.click("#user-create")
    page.locator("#user-link").wait_for()
    expect(page.locator("#user-link-body")).to_contain_text("Convite enviado por e-mail para dora.correio@demo.local")
    shown_link = page.locator("#user-link").input_value()
    shoot(page, "settings-users-link-emailed")
    page.click("#user-link-done")

    mail = _mail_to("dora.correio@demo.local")
    assert mail["subject"] == "Alice Admin convidou você para Hotel Demonstração"
    assert "Dora &lt;Correio&gt;" in mail["html"] and "Dora <Correio>" not in mail["html"]
    link = re.search(r"https?://\S+/invite#[\w-]+", mail["text"]).group(0)
    assert link == shown_link and f'href="{link}"' in mail["html"]

    mailbox = _fresh_page(browser, _sandbox())  # the sandbox's "Caixa de e-mails", as a demo user reads it
    mailbox.goto("/mail")
    mailbox.locator("#messages li", has_text="convidou você").first.click()
    expect(mailbox.locator("#mail-subject")).to_have_text(mail["subject"])
    expect(mailbox.frame_locator("#mail-html").get_by_text("Escolher minha senha")).to_be_visible()
    shoot(mailbox, "sandbox-mailbox")
    mailbox.context.close()

    invitee = _fresh_page(browser, stack)
    invitee.goto(link)
    invitee.locator("#invite-password").wait_for()
    invitee.fill("#invite-password", PASSWORD)
    invitee.fill("#invite-confirm", PASSWORD)
    invitee.click("#invite-submit")
    invitee.locator("#invite-done").wait_for()
    login(invitee, "dora.correio@demo.local", PASSWORD)
    invitee.locator("#user-menu").get_by_text("Dora <Correio>").wait_for()  # logged in, in the shell
    invitee.context.close()


def test_email_settings_refuse_a_wrong_login_and_a_failed_email_is_resent(page, stack):
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/settings/email")
    page.locator("#smtp-host").wait_for()
    expect(page.locator("#smtp-source")).to_contain_text("servidor da plataforma")
    expect(page.locator("#smtp-password")).to_have_value("")  # write-only: nothing comes back
    shoot(page, "settings-email")

    page.fill("#smtp-from-address", "reservas@hotel.example")
    page.fill("#smtp-password", "senha-errada")
    page.click("#smtp-save")
    expect(page.locator("#smtp-error")).to_contain_text("O servidor SMTP recusou o login (código 535)")
    shoot(page, "settings-email-refused")
    page.reload()
    page.locator("#smtp-host").wait_for()
    expect(page.locator("#smtp-source")).to_contain_text("servidor da plataforma")  # nothing was saved
    expect(page.locator("#smtp-from-address")).to_have_value("nao-responda@demo.local")

    _control(refuse_logins=True)
    try:
        page.click("#email-test")
        page.get_by_text("E-mail de teste na fila").wait_for()
        failed = page.locator('tr.email-row[data-status="failed"]')
        deadline = time.monotonic() + 60
        while failed.count() == 0 and time.monotonic() < deadline:
            page.click("#email-log-refresh")
            page.wait_for_timeout(500)
        expect(failed.first).to_contain_text("refused the login")
    finally:
        _control(refuse_logins=False)
    page.locator("#email-log").scroll_into_view_if_needed()
    shoot(page, "settings-email-failed")
    failed.first.locator(".email-resend").click()
    page.get_by_text("E-mail na fila de novo.").wait_for()
    sent = page.locator('tr.email-row[data-status="sent"]', has_text="E-mail de teste")
    deadline = time.monotonic() + 60
    while sent.count() == 0 and time.monotonic() < deadline:
        page.click("#email-log-refresh")
        page.wait_for_timeout(500)
    expect(sent.first).to_be_visible()
    assert _mail_to("admin@demo.local")["subject"].startswith("E-mail de teste")


def test_a_user_turns_on_the_away_email_on_their_account(page, stack):
    login(page, "ana@demo.local")
    page.locator("#user-menu").get_by_text("Ana Atendente").wait_for()
    page.goto("/account")
    switch = page.locator("#notice-assigned-away")
    switch.wait_for()
    expect(switch).to_have_attribute("data-state", "unchecked")  # off by default
    switch.click()
    page.get_by_text("Preferência salva.").wait_for()
    page.reload()
    expect(page.locator("#notice-assigned-away")).to_have_attribute("data-state", "checked")
    page.locator("#account-notices").scroll_into_view_if_needed()
    shoot(page, "account-notices")
    page.locator("#notice-assigned-away").click()  # leave the shared demo user as other files expect her
    page.get_by_text("Preferência salva.").wait_for()
