"""Admin pages in a real browser: users (invite, role, deactivate), the audit log, and the platform's tenants."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, shoot

OPERATOR_EMAIL = "ops@plataforma.local"
OPERATOR_PASSWORD = "farol-da-plataforma-9"


def _make_operator() -> None:
    """A platform tenant whose admin is a platform operator (the demo seed has none)."""
    from crm_app.db import session_scope
    from crm_app.services.access import tenants, users

    with session_scope() as session:
        tenant, _ = tenants.ensure_tenant(session, name="Plataforma", slug="plataforma")
        users.ensure_user(session, actor=None, tenant_id=tenant.id, email=OPERATOR_EMAIL, name="Olga Operadora",
                          role="admin", password=OPERATOR_PASSWORD, is_platform_operator=True)


def _use_link(browser, stack, url: str, password: str, shot: str | None = None) -> None:
    """Open a one-time link in a fresh browser, as the invited person would, and choose a password."""
    page = _fresh_page(browser, stack)
    context = page.context
    page.goto(url)
    page.locator("#invite-password").wait_for()
    assert "#" not in page.url  # the token left the address bar
    page.fill("#invite-password", "12345678")
    page.fill("#invite-confirm", "12345678")
    page.click("#invite-submit")
    page.locator("#invite-password-error").wait_for()
    if shot:
        shoot(page, shot)
    page.fill("#invite-password", password)
    page.fill("#invite-confirm", password)
    page.click("#invite-submit")
    page.locator("#invite-done").wait_for()
    context.close()
    page = _fresh_page(browser, stack)  # the same URL again in that tab would only move to the fragment
    page.goto(url)  # single use
    page.locator("#invite-invalid").wait_for()
    if shot:
        shoot(page, shot + "-used")
    page.context.close()


def _fresh_page(browser, stack):
    """A page in a new context: no cookies, and no cached page (each visit below is a first visit)."""
    page = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=stack).new_page()
    page.set_default_timeout(30_000)
    return page


def _visible(locator):
    """The visible one of several matches (phones show the badges in another place)."""
    return locator.filter(visible=True).first


def _row_menu(page, email: str, item: str) -> None:
    page.locator(f'tr.user-row[data-email="{email}"] .user-actions').click()
    page.locator(item).click()


@pytest.fixture
def alice_is_the_only_admin():
    """Other files add admins to the demo tenant (test_2fa's Dora); the last-admin step needs Alice alone, and
    must not demote her for the files that run after this one if the refusal ever broke."""
    from sqlalchemy import text

    from crm_app.db import get_engine

    sql = ("UPDATE users SET is_active = :on WHERE role = 'admin' AND email <> 'admin@demo.local' "
           "AND tenant_id = (SELECT tenant_id FROM users WHERE email = 'admin@demo.local') AND id = ANY(:ids)")
    with get_engine().begin() as conn:
        ids = [r[0] for r in conn.execute(text(
            "SELECT id FROM users WHERE role = 'admin' AND is_active AND email <> 'admin@demo.local' "
            "AND tenant_id = (SELECT tenant_id FROM users WHERE email = 'admin@demo.local')"))]
        conn.execute(text(sql), {"on": False, "ids": ids})
    yield
    with get_engine().begin() as conn:
        conn.execute(text(sql), {"on": True, "ids": ids})
        conn.execute(text("UPDATE users SET role = 'admin' WHERE email = 'admin@demo.local'"))


def test_admin_invites_changes_role_deactivates_and_reads_the_audit_log(page, browser, stack, alice_is_the_only_admin):
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/platform/tenants")  # an admin who is not a platform operator
    page.wait_for_url(re.compile(r"/denied"))
    page.goto("/settings/users")
    page.locator("#users-table").wait_for()
    expect(page.locator("#nav-platform-tenants")).to_have_count(0)
    shoot(page, "settings-users")

    page.click("#user-new")
    page.click("#user-create")
    page.locator("#user-name-error").wait_for()
    page.fill("#user-name", "Carla Teste")
    page.fill("#user-email", "carla.e2e@demo.local")
    page.click("#user-method-password")
    page.fill("#user-password", "senha123")
    page.click("#user-create")
    page.locator("#user-password-error").wait_for()
    shoot(page, "settings-users-form")
    page.click("#user-method-invite")
    page.click("#user-create")
    link_box = page.locator("#user-link")
    link_box.wait_for()
    url = link_box.input_value()
    assert re.fullmatch(rf"{re.escape(stack)}/invite#[A-Za-z0-9_-]{{43}}", url)
    shoot(page, "settings-users-link")
    page.click("#user-link-done")
    row = page.locator('tr.user-row[data-email="carla.e2e@demo.local"]')
    _visible(row.get_by_text("Convite pendente")).wait_for()

    _use_link(browser, stack, url, "girassol-na-janela-7", shot="invite")

    _row_menu(page, "carla.e2e@demo.local", ".user-role")
    page.click("#role-select")
    page.get_by_role("option", name="Supervisor").click()
    page.click("#role-save")
    page.get_by_text("Função alterada.").wait_for()
    _visible(row.get_by_text("Supervisor")).wait_for()
    _visible(row.get_by_text("Ativo")).wait_for()  # the list reloaded: the invite was used

    _row_menu(page, "carla.e2e@demo.local", ".user-deactivate")
    page.get_by_role("alertdialog").get_by_text("Desativar Carla Teste?").wait_for()
    shoot(page, "settings-users-deactivate")
    page.click("#user-confirm-deactivate")
    page.get_by_text("Usuário desativado.").wait_for()
    _visible(row.get_by_text("Inativo")).wait_for()

    _row_menu(page, "admin@demo.local", ".user-role")  # the only admin cannot step down
    page.click("#role-select")
    page.get_by_role("option", name="Atendente").click()
    page.click("#role-save")
    page.get_by_text("pelo menos um administrador ativo").wait_for()
    page.keyboard.press("Escape")

    page.goto("/settings/audit")  # the old address leads to the trail under Conformidade
    page.wait_for_url(re.compile(r"/compliance/audit"))
    entries = page.locator(".audit-entry")
    entries.first.wait_for()
    for action in ("user.create", "user.password_set", "user.role_change", "user.deactivate"):
        expect(page.locator(f'.audit-entry[data-action="{action}"]').first).to_be_visible()
    assert page.locator('.audit-entry[data-action="user.deactivate"]').first.inner_text().count("Carla Teste")
    role_change = page.locator('.audit-entry[data-action="user.role_change"]').first
    role_change.locator(".audit-details-toggle").click()  # the details (old and new values) open on demand
    role_change.get_by_text("Supervisor").first.wait_for()
    shoot(page, "settings-audit")
    page.click("#audit-action")
    page.get_by_role("option", name="Função alterada", exact=True).click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_have_attribute("data-action", "user.role_change")
    shoot(page, "settings-audit-filtered")


def test_operator_creates_a_tenant_and_suspending_it_signs_its_admin_out(page, browser, stack):
    _make_operator()
    login(page, OPERATOR_EMAIL, OPERATOR_PASSWORD)
    page.locator("#user-menu").get_by_text("Olga Operadora").wait_for()
    page.goto("/settings/users")  # the settings rail links to the platform page, for operators only
    page.locator("#nav-platform-tenants").click()
    page.locator("#tenants-table").wait_for()

    page.click("#tenant-new")
    page.fill("#tenant-name", "Pousada Sol & Mar")
    expect(page.locator("#tenant-slug")).to_have_value("pousada-sol-mar")
    page.fill("#tenant-admin-name", "Paula Sol")
    page.fill("#tenant-admin-email", "demo")
    page.click("#tenant-create")
    page.locator("#tenant-admin-email-error").wait_for()
    shoot(page, "platform-tenants-form")
    page.fill("#tenant-admin-email", "paula@pousadasol.example")
    page.click("#tenant-create")
    link_box = page.locator("#tenant-link")
    link_box.wait_for()
    url = link_box.input_value()
    page.click("#tenant-link-done")
    link_box.wait_for(state="detached")
    row = page.locator('tr.tenant-row[data-slug="pousada-sol-mar"]')
    _visible(row.get_by_text("Ativa")).wait_for()
    shoot(page, "platform-tenants")

    _use_link(browser, stack, url, "mar-calmo-e-sol-forte")
    paula = _fresh_page(browser, stack)
    login(paula, "paula@pousadasol.example", "mar-calmo-e-sol-forte")
    paula.locator("#user-menu").get_by_text("Paula Sol").wait_for()

    row.locator(".tenant-suspend").click()
    confirm = page.locator("#tenant-confirm-suspend")
    expect(confirm).to_be_disabled()
    page.fill("#tenant-suspend-typed", "pousada-sol-mar")
    expect(confirm).to_be_enabled()
    shoot(page, "platform-tenants-suspend")
    confirm.click()
    page.get_by_text("Empresa suspensa.").wait_for()
    _visible(row.get_by_text("Suspensa")).wait_for()

    paula.goto("/settings/users")  # her next page in the same browser: the session is gone
    paula.wait_for_url(re.compile(r"/login"))
    paula.context.close()
    paula = _fresh_page(browser, stack)
    paula.goto("/login")
    paula.wait_for_load_state("networkidle")  # a click before hydration would submit the form natively
    paula.fill("#email", "paula@pousadasol.example")
    paula.fill("#password", "mar-calmo-e-sol-forte")
    paula.click("#login-submit")
    paula.locator("#login-error").wait_for()
    paula.context.close()

    page.goto("/compliance/audit")
    page.locator('.audit-entry[data-action="tenant.suspend"]').wait_for()
    page.locator('.audit-entry[data-action="tenant.create"]').first.wait_for()
