"""Conformidade in a real browser, through the stack's real bulk worker: the overview, an access request whose
progress bar runs to done, the consents page and a retention policy with its dry-run count."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shoot


def _contact() -> int:
    from crm_app.db import get_engine

    with get_engine().begin() as conn:
        tenant_id = conn.execute(text("SELECT tenant_id FROM users WHERE email = 'admin@demo.local'")).scalar()
        return conn.execute(text(
            "INSERT INTO contacts (tenant_id, phone_e164, name, email, custom_attributes, search_text, created_at, "
            "updated_at) VALUES (:t, '+5548999990001', 'Zuleide Pitanga', NULL, '{}', '', now(), now()) "
            "ON CONFLICT (tenant_id, phone_e164) DO UPDATE SET name = EXCLUDED.name RETURNING id"),
            {"t": tenant_id}).scalar()


def _last_months_report() -> None:
    """What the scheduler leaves on the 1st: last month's report of the demo tenant."""
    import datetime as dt

    from crm_app.db import get_engine
    from crm_app.services.compliance import report

    with get_engine().connect() as conn:
        tenant_id = conn.execute(text("SELECT tenant_id FROM users WHERE email = 'admin@demo.local'")).scalar()
    report.generate(tenant_id, dt.date.today().replace(day=1) - dt.timedelta(days=1))


def test_compliance_pages_request_progress_and_retention(page):
    contact_id = _contact()
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/compliance/requests")
    expect(page.locator("#requests-empty")).to_be_visible()
    page.fill("#request-contact", str(contact_id))
    page.click("#request-create")
    row = page.locator("tr[id^=request-]").first
    expect(row).to_contain_text("Zuleide Pitanga")
    expect(row).to_contain_text("Concluído", timeout=60_000)  # the bulk worker built the bundle
    expect(row.get_by_role("button", name="Baixar pacote")).to_be_visible()
    shoot(page, "compliance-requests")
    page.goto("/compliance/retention")
    page.fill("#retention-days", "0")
    page.click("#retention-add")
    expect(page.locator("#retention-days-error")).to_be_visible()
    page.fill("#retention-days", "365")
    page.click("#retention-add")
    expect(page.locator("table")).to_contain_text("365")
    shoot(page, "compliance-retention")
    page.goto("/compliance/consents")
    page.fill("#consent-contact", str(contact_id))
    page.click("#consent-look-up")
    page.get_by_role("button", name="Registrar consentimento").click()
    expect(page.locator("table")).to_contain_text("Administrador")
    shoot(page, "compliance-consents")
    _last_months_report()
    page.goto("/compliance")
    expect(page.locator("#compliance-requests-card")).to_be_visible()
    expect(page.locator("#compliance-retention-card")).to_contain_text("365")
    # The score: retention is configured now, so that factor is met and gives no "Corrigir" link.
    score = page.locator("#compliance-score-card")
    expect(score).to_contain_text("Políticas de retenção ativas: 1")
    expect(score.locator(".score-factor", has_text="retenção").get_by_role("link")).to_have_count(0)
    expect(score.locator(".score-factor", has_text="DPO").get_by_role("link", name="Corrigir")).to_be_visible()
    assert 0 < int(page.locator("#compliance-score").inner_text()) < 100
    # Last month's DPO report, downloaded as a PDF.
    with page.expect_download() as download:
        page.locator("#compliance-reports-card .report-download").first.click()
    assert download.value.suggested_filename.startswith("relatorio-dpo-")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    page.locator("#compliance-score-card").scroll_into_view_if_needed()
    shoot(page, "compliance-overview")
