"""Exportar on /analytics in a real browser: the export runs on the stack's bulk worker, its progress bar moves on
/analytics/exports without a reload (the background refresh pushed over the websocket), and the finished file
downloads through the session-checked link."""

from __future__ import annotations

import datetime as dt
import uuid

from playwright.sync_api import expect
from sqlalchemy import text
from sqlmodel import select

from crm_app.db import get_engine, session_scope
from crm_app.models import Tenant, User
from crm_app.services.conversations import facts
from crm_app.services.demo import DEMO_SLUG
from tests.e2e.conftest import login, shoot
from tests.factories import make_conversation, make_inbox, today_start
from tests.support.waiting import wait_for


def _seed(count: int) -> None:
    with session_scope() as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == DEMO_SLUG)).one()
        ana = session.exec(select(User).where(User.email == "ana@demo.local")).one()
        box = make_inbox(session, tenant.id, name="Vendas exportação")
        start = today_start()
        for i in range(count):
            c = make_conversation(session, box.id, wa_id=f"55119{uuid.uuid4().int % 10**8:08d}")
            facts.note(session, c, "customer", at=start)
            facts.note(session, c, "handoff", at=start + dt.timedelta(minutes=1), reason="menu")
            facts.note(session, c, "assign", at=start + dt.timedelta(minutes=2), user_id=ana.id)
            facts.note(session, c, "human", at=start + dt.timedelta(minutes=3 + i), user_id=ana.id)


def test_export_from_analytics_shows_live_progress_and_downloads(page, stack):
    _seed(4)
    login(page, "admin@demo.local")
    page.locator("#user-menu").wait_for()
    page.goto("/analytics?period=7d")
    expect(page.locator("#analytics-cards")).to_be_visible(timeout=30_000)
    blocker = get_engine().connect()
    trans = blocker.begin()  # the job claims the export and counts its rows, then waits here until released
    blocker.execute(text("LOCK TABLE conversation_labels IN ACCESS EXCLUSIVE MODE"))
    try:
        page.locator("#analytics-export").click()
        page.locator("#export-conversations-xlsx").click()
        page.wait_for_url("**/analytics/exports")
        wait_for(lambda: blocker.execute(text(  # the stack's bulk worker is at the rows' query
            "SELECT pg_stat_clear_snapshot(), (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%SELECT f.conversation_id, f.cycle%')")).one()[1], timeout=60)
        row = page.locator("tr[id^='export-']").first
        expect(row).to_contain_text("Gerando", timeout=30_000)  # running, its bar at 0 of the rows counted
        expect(row.locator("[id^='export-progress-']")).to_be_visible()
        expect(row).to_contain_text("0/")
        shoot(page, "analytics-exports-running")
    finally:
        trans.rollback()
        blocker.close()
    # No reload: the row turns ready and its link appears while the page stays open.
    link = page.locator("[id^='export-download-']").first
    expect(link).to_be_visible(timeout=30_000)
    expect(page.locator("[id^='export-progress-']")).to_have_count(0)
    shoot(page, "analytics-exports-done")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("conversations-") and download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as fh:
        assert fh.read(2) == b"PK"  # a zip container: the XLSX
