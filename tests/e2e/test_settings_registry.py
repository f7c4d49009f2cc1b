"""The settings registry's pages in a real browser: a tenant admin changes, explains and rolls back a setting
(a bad value refused under its field, a secret never shown back); a platform operator sets a global value and
applies a template to the demo tenant after its preview."""

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shoot

OPERATOR_EMAIL = "ops-settings@plataforma.local"
OPERATOR_PASSWORD = "farol-das-configuracoes-9"
IDLE = "#setting-security-session_idle_minutes"


def _db(query: str, **params):
    from crm_app.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text(query), params).all()


@pytest.fixture(autouse=True, scope="module")
def _seeded_values_come_back():
    """The stack's seeded values (the demo tenant's AI settings among them) are put back after these tests, which
    wipe and change them: the other e2e files on this stack use them."""
    saved = _db("SELECT tenant_id, key, value, secret_value, updated_at, updated_by_user_id FROM setting_values")
    yield
    from crm_app.db import get_engine
    from crm_app.services import settings

    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM setting_values"))
        for tenant_id, key, value, secret, updated_at, updated_by in saved:
            conn.execute(text("INSERT INTO setting_values (tenant_id, key, value, secret_value, updated_at, "
                              "updated_by_user_id) VALUES (:t, :k, CAST(:v AS JSON), :s, :at, :by)"),
                         {"t": tenant_id, "k": key, "v": None if value is None else json.dumps(value), "s": secret,
                          "at": updated_at, "by": updated_by})
    settings.publish_change()


def _forget_settings() -> None:
    """A rerun on the same stack starts from defaults (the other processes re-read within half a second)."""
    from crm_app.db import get_engine
    from crm_app.services import settings

    with get_engine().begin() as conn:
        for table in ("setting_values", "setting_changes", "setting_templates"):
            conn.execute(text(f"DELETE FROM {table}"))
    settings.publish_change()


def _demo_tenant() -> int:
    return _db("SELECT id FROM tenants WHERE slug = 'demo'")[0][0]


def test_admin_changes_a_setting_with_a_reason_sees_its_source_and_reverts_it(page):
    _forget_settings()
    login(page, "admin@demo.local")
    page.locator("#user-menu").wait_for()
    page.goto("/settings/general")
    page.locator("#settings-category-security").wait_for()
    expect(page.locator("#setting-source-security-session_idle_minutes")).to_have_text("Padrão")
    expect(page.locator(IDLE)).to_have_value("30")

    page.fill(IDLE, "3")
    page.click("#settings-save")
    expect(page.locator("#setting-security-session_idle_minutes-error")).to_have_text("Deve ser pelo menos 5.")
    page.locator("#settings-form-error").wait_for()
    assert _db("SELECT count(*) FROM setting_values")[0][0] == 0  # nothing written

    page.fill(IDLE, "45")
    page.fill("#setting-ai-api_key", "sk-e2e-never-shown-back")
    page.fill("#settings-reason", "Turno da noite")
    page.click("#settings-save")
    page.get_by_text("Configurações salvas.").wait_for()
    expect(page.locator("#setting-source-security-session_idle_minutes")).to_have_text("Empresa")
    expect(page.locator(IDLE)).to_have_value("45")
    expect(page.locator("#setting-ai-api_key")).to_have_value("")
    page.locator("#settings-category-ai").get_by_text("configurado", exact=True).wait_for()
    assert "sk-e2e-never-shown-back" not in page.content()
    history = page.locator("#settings-history")
    history.get_by_text("Motivo: Turno da noite").first.wait_for()
    history.get_by_text("••••").first.wait_for()
    tenant_id = _demo_tenant()
    assert _db("SELECT value FROM setting_values WHERE tenant_id = :t AND key = 'security.session_idle_minutes'",
               t=tenant_id) == [(45,)]
    page.locator("#settings-tabs").scroll_into_view_if_needed()
    shoot(page, "settings-general")

    change_id = _db("SELECT id FROM setting_changes WHERE key = 'security.session_idle_minutes'")[0][0]
    page.click(f"#settings-revert-{change_id}")
    page.get_by_role("alertdialog").get_by_text("Tempo de inatividade da sessão (minutos): (não definido)").wait_for()
    shoot(page, "settings-general-revert")
    page.click("#settings-revert-confirm")
    page.get_by_text("Valor revertido.").wait_for()
    expect(page.locator("#setting-source-security-session_idle_minutes")).to_have_text("Padrão")
    expect(page.locator(IDLE)).to_have_value("30")
    assert _db("SELECT rollback_of, reason FROM setting_changes WHERE rollback_of IS NOT NULL") == [
        (change_id, "Reversão pelo histórico")]
    history.get_by_text("reversão", exact=True).wait_for()


def _make_operator() -> None:
    from crm_app.db import session_scope
    from crm_app.services.access import tenants, users

    with session_scope() as session:
        tenant, _ = tenants.ensure_tenant(session, name="Plataforma", slug="plataforma")
        users.ensure_user(session, actor=None, tenant_id=tenant.id, email=OPERATOR_EMAIL, name="Otávio Operador",
                          role="admin", password=OPERATOR_PASSWORD, is_platform_operator=True)


def test_operator_sets_a_global_value_and_applies_a_template_after_its_preview(page, browser, stack):
    _forget_settings()
    _make_operator()
    login(page, OPERATOR_EMAIL, OPERATOR_PASSWORD)
    page.locator("#user-menu").wait_for()
    page.goto("/platform/settings")
    page.locator("#settings-category-system").wait_for()
    page.locator("#setting-channel-keep_deleted_message_text").click()  # on by default: off, globally
    page.fill("#settings-reason", "Política da plataforma")
    page.click("#settings-save")
    page.get_by_text("Configurações salvas.").wait_for()
    expect(page.locator("#setting-source-channel-keep_deleted_message_text")).to_have_text("Global")
    assert _db("SELECT value FROM setting_values WHERE tenant_id IS NULL") == [(False,)]

    page.click("#template-new")
    page.fill("#template-name", "Pousada padrão")
    page.fill("#template-values", '{"security.session_idle_minutes": 60, "nao.existe": 1}')
    page.click("#template-save")
    expect(page.locator("#template-values-error")).to_contain_text("nao.existe")
    page.fill("#template-values", '{"security.session_idle_minutes": 60, "ai.model": "gpt-4.1-mini"}')
    page.click("#template-save")
    page.get_by_text("Modelo salvo.").wait_for()
    template_id = _db("SELECT id FROM setting_templates")[0][0]

    page.click("#preview-tenant")
    page.get_by_role("option", name="Hotel Demonstração").click()
    page.click(f"#template-preview-{template_id}")
    diff = page.locator("#template-diff")
    diff.get_by_text("gpt-4.1-mini").wait_for()
    expect(diff.locator(".diff-row")).to_have_count(2)
    page.locator("#platform-tab-settings").scroll_into_view_if_needed()
    shoot(page, "platform-settings")
    page.click("#template-apply")
    page.get_by_text("Modelo aplicado: 2 configurações alteradas.").wait_for()
    tenant_id = _demo_tenant()
    assert sorted(_db("SELECT key, reason FROM setting_changes WHERE tenant_id = :t", t=tenant_id)) == [
        ("ai.model", "Modelo: Pousada padrão"), ("security.session_idle_minutes", "Modelo: Pousada padrão")]

    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=stack)
    page = context.new_page()  # the tenant's admin, in their own browser, sees where each value comes from
    login(page, "admin@demo.local")
    page.locator("#user-menu").wait_for()
    page.goto("/settings/general")
    page.locator("#settings-category-channel").wait_for()
    expect(page.locator("#setting-source-channel-keep_deleted_message_text")).to_have_text("Global")
    expect(page.locator("#setting-source-security-session_idle_minutes")).to_have_text("Empresa")
    expect(page.locator(IDLE)).to_have_value("60")
    context.close()
