"""SLA policies in a real browser: a supervisor reaches /settings/sla from the settings tabs, is told what is wrong
with a bad target, creates a policy for the Vendas team with a contact attribute beside the demo's default policy,
edits it and deletes it."""

from playwright.sync_api import expect

from tests.e2e.conftest import login, shoot


def test_supervisor_creates_edits_and_deletes_a_policy(page):
    login(page, "supervisor@demo.local")
    page.locator("#user-menu").get_by_text("Sérgio Supervisor").wait_for()
    page.goto("/settings/canned")
    page.click("#settings-tab-settings-sla")
    expect(page.locator(".sla-row").first).to_be_visible()
    expect(page.locator(".sla-row").filter(has_text="Padrão")).to_have_count(1)  # the demo's default policy
    before = page.locator(".sla-row").count()  # and any another test of this session added
    expect(page.locator("#sla-how-applied")).to_contain_text("próximo acontecimento")

    page.click("#sla-new")
    page.fill("#sla-name", "Plano <b>ouro</b>")
    page.fill("#sla-first", "0")
    page.click("#sla-save")
    page.locator("#sla-error").get_by_text("Primeira resposta: use de 1 a 129.600 minutos").wait_for()
    page.fill("#sla-first", "15")
    page.fill("#sla-resolution", "480")
    page.click("#sla-team")
    page.get_by_role("option", name="Vendas").click()
    page.fill("#sla-attr-key", "plano")
    page.fill("#sla-attr-value", "ouro")
    page.click("#sla-save")
    page.get_by_text("Política de SLA salva.").wait_for()
    expect(page.locator(".sla-row")).to_have_count(before + 1)
    row = page.locator(".sla-row", has_text="ouro")
    row.get_by_text("Plano <b>ouro</b>").wait_for()  # the name is text, never markup
    row.get_by_text("1ª resposta 15 min · Resolução 480 min").wait_for()
    row.get_by_text("Equipe: Vendas · plano = ouro").wait_for()
    shoot(page, "settings-sla")

    row.locator(".sla-edit").click()
    expect(page.locator("#sla-first")).to_have_value("15")
    page.fill("#sla-first", "")
    page.fill("#sla-next", "30")
    page.click("#sla-save")
    row.get_by_text("Próxima resposta 30 min · Resolução 480 min").wait_for()

    row.locator(".sla-delete").click()
    page.click("#sla-confirm-delete")
    expect(page.locator(".sla-row")).to_have_count(before)
