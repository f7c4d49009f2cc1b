"""Login, roles and logout in a real browser against the running stack."""

import re

from sqlalchemy import text

from tests.e2e.conftest import login, logout, shoot


def test_logged_out_visitor_is_sent_to_login(page):
    page.goto("/settings")
    page.wait_for_url(re.compile(r"/login/?\?next=/settings"))
    assert page.locator("#email").is_visible()
    shoot(page, "login")


def test_wrong_password_shows_a_clear_error(page):
    login(page, "admin@demo.local", "wrong-password")
    error = page.locator("#login-error")
    error.wait_for()
    assert "E-mail ou senha incorretos" in error.inner_text()
    assert "/login" in page.url


def test_admin_logs_in_and_sees_the_shell_and_settings(page):
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    for nav in ("Atendimento", "Painel executivo", "Conformidade", "Configurações"):
        assert page.get_by_role("link", name=nav).is_visible()
    page.get_by_text("Não atribuídas").first.wait_for()  # the inbox's tabs, in pt-BR
    shoot(page, "inbox")
    cookie = next(c for c in page.context.cookies() if c["name"] == "crm_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("#nav-settings-general")
    page.wait_for_url(re.compile(r"/settings/general$"))
    page.click("#settings-tab-settings-users")
    page.locator("#users-table").get_by_text("supervisor@demo.local").wait_for()
    for email in ("admin@demo.local", "ana@demo.local", "bruno@demo.local"):  # other files add users too
        page.locator("#users-table").get_by_text(email).wait_for()
    shoot(page, "settings")
    page.click("#settings-tab-settings-numbers")  # the numbers moved to their own tab
    page.locator(".number-card").get_by_text("100000000000001").wait_for()


def test_attendant_is_refused_admin_pages(page):
    login(page, "ana@demo.local")
    page.locator("#user-menu").get_by_text("Ana Atendente").wait_for()
    assert page.locator("[id^=nav-settings]").count() == 0
    page.goto("/settings")
    page.wait_for_url(re.compile(r"/denied"))
    page.locator("#denied-title").wait_for()
    assert page.locator("#users-table").count() == 0
    shoot(page, "denied")


def test_logout_ends_the_session_on_the_server(page):
    from crm_app.db import get_engine

    with get_engine().connect() as conn:  # other tests may have left the supervisor logged in elsewhere
        before = conn.execute(text("SELECT coalesce(max(id), 0) FROM sessions")).scalar()
    login(page, "supervisor@demo.local")
    page.locator("#user-menu").get_by_text("Sérgio Supervisor").wait_for()
    logout(page)
    page.goto("/analytics")
    page.wait_for_url(re.compile(r"/login"))
    with get_engine().connect() as conn:
        live = conn.execute(text(
            "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE u.email = 'supervisor@demo.local' AND s.revoked_at IS NULL AND s.id > :b"), {"b": before}).scalar()
    assert live == 0


def test_a_session_revoked_on_the_server_is_refused_on_the_next_page(page):
    from crm_app.db import get_engine

    login(page, "bruno@demo.local")
    page.locator("#user-menu").get_by_text("Bruno Atendente").wait_for()
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE sessions SET revoked_at = now() WHERE user_id = "
                          "(SELECT id FROM users WHERE email = 'bruno@demo.local')"))
    page.goto("/inbox")
    page.wait_for_url(re.compile(r"/login"))


def test_language_switch_to_english(page):
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.get_by_role("combobox", name="Idioma").click()
    page.get_by_role("option", name="English").click()
    page.get_by_role("link", name="Settings").wait_for()
    page.get_by_text("Unassigned").first.wait_for()
    assert page.get_by_text("Não atribuídas").count() == 0
    shoot(page, "inbox-en")


def test_the_running_stack_is_ready(stack):
    import httpx

    assert httpx.get(f"{stack}/api/health").json() == {"status": "ok"}
    ready = httpx.get(f"{stack}/api/ready", timeout=10)
    body = ready.json()
    assert ready.status_code == 200, body
    assert all(queue["ok"] for queue in body["queues"].values()) and body["scheduler"]["ok"]
    assert set(body["queues"]) >= {"high", "bot", "default", "bulk"}
