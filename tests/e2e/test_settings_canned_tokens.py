"""Settings in a real browser: a supervisor keeps canned responses, an admin creates and revokes an API token."""

import re

import httpx
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shoot


def _audit_actions(prefix: str, after_id: int = 0) -> list[str]:
    from crm_app.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text("SELECT action FROM audit_logs WHERE action LIKE :p AND id > :a ORDER BY id"),
                            {"p": prefix + "%", "a": after_id}).scalars().all()


def _start_without_canned_responses() -> int:
    """Other browser tests share this stack and may have left canned responses; returns the last audit id."""
    from crm_app.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM canned_responses"))
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_logs")).scalar()


def test_supervisor_creates_edits_and_deletes_a_canned_response(page):
    audit_mark = _start_without_canned_responses()
    login(page, "supervisor@demo.local")
    page.locator("#user-menu").get_by_text("Sérgio Supervisor").wait_for()
    assert page.locator('a[href="/settings"]').count() == 0
    page.locator('a[href="/settings/canned"]:visible').first.click()
    page.wait_for_url(re.compile(r"/settings/canned"))
    page.locator("#canned-empty").wait_for()
    assert page.locator("#settings-tab-settings").count() == 0  # supervisors get no tab to the admin page

    page.click("#canned-new")
    page.fill("#canned-code", "Boas vindas")
    page.fill("#canned-content", "Olá")
    page.click("#canned-save")
    page.locator("#canned-code-error").get_by_text("sem espaços").wait_for()
    page.fill("#canned-code", "boas-vindas")
    page.fill("#canned-content", "Olá,")
    page.click("#canned-var-primeiro_nome")
    page.click("#canned-var-atendente")
    expect(page.locator("#canned-content")).to_have_value("Olá, {{primeiro_nome}} {{atendente}}")
    page.fill("#canned-content", "Olá, {{primeiro_nome}}! Aqui é {{atendente}}, em que posso ajudar?")
    shoot(page, "settings-canned-dialog")
    page.click("#canned-save")
    page.get_by_text("Resposta rápida salva.").wait_for()
    table = page.locator("#canned-table")
    table.get_by_text("/boas-vindas").wait_for()

    page.click("#canned-new")
    page.fill("#canned-code", "boas-vindas")
    page.fill("#canned-content", "Outra")
    page.click("#canned-save")
    page.locator("#canned-code-error").get_by_text("Já existe").wait_for()
    page.keyboard.press("Escape")

    page.locator(".canned-edit").first.click()
    expect(page.locator("#canned-code")).to_have_value("boas-vindas")
    page.fill("#canned-content", "Bom dia, {{nome}}! <b>não é html</b>")
    page.click("#canned-save")
    table.get_by_text("Bom dia, {{nome}}! <b>não é html</b>").wait_for()
    assert table.locator("b").count() == 0  # user text is escaped, never rendered as HTML
    shoot(page, "settings-canned")

    page.locator(".canned-delete").first.click()
    page.get_by_role("alertdialog").get_by_text("/boas-vindas").wait_for()
    shoot(page, "settings-canned-delete")
    page.click("#canned-confirm-delete")
    page.get_by_text("Resposta rápida excluída.").wait_for()
    page.locator("#canned-empty").wait_for()
    assert _audit_actions("canned.", audit_mark) == ["canned.create", "canned.update", "canned.delete"]

    page.goto("/settings")
    page.wait_for_url(re.compile(r"/denied"))


def test_admin_creates_a_token_sees_it_once_and_revokes_it(page, stack):
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/settings")
    page.locator("#tokens-empty").wait_for()
    assert page.locator("#settings-tab-settings-canned").is_visible()

    page.click("#token-new")
    page.locator("#token-name").wait_for()  # the dialog is open (a click during its animation can miss)
    page.click("#token-create")
    page.locator("#token-name-error").wait_for()
    page.click("#token-scope-conversations-read")  # unticks the default: no scope left
    page.fill("#token-name", "Integração ERP")
    page.click("#token-create")
    page.locator("#token-scopes-error").wait_for()
    shoot(page, "settings-token-form")
    page.click("#token-scope-conversations-read")
    page.click("#token-scope-messages-write")
    page.click("#token-create")
    secret_box = page.locator("#token-secret")
    secret_box.wait_for()
    secret = secret_box.input_value()
    assert re.fullmatch(r"crm_[A-Za-z0-9_-]{43}", secret)
    page.get_by_text("não será mostrado de novo").wait_for()
    shoot(page, "settings-token-secret")

    api = f"{stack}/api/v1/conversations"
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(api, params={"tab": "all"}, headers=headers, timeout=30).status_code == 200
    assert httpx.get(f"{stack}/api/docs", timeout=30).status_code == 200

    page.click("#token-done")
    secret_box.wait_for(state="detached")
    row = page.locator("#tokens-table tbody tr").filter(has_text="Integração ERP")
    row.get_by_text(secret[:12] + "…").wait_for()
    row.get_by_text("Enviar mensagens").wait_for()
    assert secret not in page.content()
    page.click("#token-new")
    page.locator("#token-name").wait_for()
    assert page.locator("#token-secret").count() == 0
    page.keyboard.press("Escape")
    page.locator("#tokens-table").scroll_into_view_if_needed()
    shoot(page, "settings-tokens")

    row.locator(".token-revoke").click()
    page.get_by_role("alertdialog").get_by_text("Integração ERP").wait_for()
    page.click("#token-confirm-revoke")
    page.get_by_text("Token revogado.").wait_for()
    row.get_by_text("Revogado").wait_for()
    assert row.locator(".token-revoke").count() == 0
    assert httpx.get(api, headers=headers, timeout=30).status_code == 401
    assert _audit_actions("api_token.") == ["api_token.create", "api_token.revoke"]
