"""The analytics page in a real browser: cards and plotly charts from recorded facts, a bar that opens exactly its
conversations in the inbox, role scoping (attendants get only their own page, executives land on analytics), the
language switch (cards and chart labels rebuilt), the print view, and screenshots at 1366 and 390 px."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from playwright.sync_api import expect
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.models import CsatSurvey, SlaPolicy, Tenant, User
from crm_app.services.access import users
from crm_app.services.conversations import facts
from crm_app.services.demo import DEMO_SLUG
from crm_app.services.sla import tracking
from tests.e2e.conftest import SHOTS, login, shoot
from tests.factories import make_conversation, make_inbox, today_start

EXECUTIVE = "diretora@demo.local"


def _seed() -> int:
    """Five conversations handed to Ana and answered, two hours ago, on a number whose SLA policy wants a first
    response within 6 minutes; an executive user. Returns the number's id."""
    with session_scope() as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == DEMO_SLUG)).one()
        ana = session.exec(select(User).where(User.email == "ana@demo.local")).one()
        box = make_inbox(session, tenant.id, name="Vendas analytics")
        session.add(SlaPolicy(tenant_id=tenant.id, name=f"Analytics {box.id}", first_response_minutes=6,
                              business_hours_only=False, conditions=[{"kind": "number", "value": box.id}]))
        start = today_start()
        seeded = []
        for i in range(5):
            c = make_conversation(session, box.id, wa_id=f"55119{uuid.uuid4().int % 10**8:08d}")
            c.created_at = start
            facts.note(session, c, "customer", at=start)
            facts.note(session, c, "handoff", at=start + dt.timedelta(minutes=1), reason="menu")
            facts.note(session, c, "assign", at=start + dt.timedelta(minutes=2), user_id=ana.id)
            facts.note(session, c, "human", at=start + dt.timedelta(minutes=3 + i), user_id=ana.id)
            seeded.append(c.id)
            if i < 3:
                facts.note(session, c, "close", at=start + dt.timedelta(minutes=40), by="human")
                session.add(CsatSurvey(tenant_id=tenant.id, conversation_id=c.id, contact_id=c.contact_id,
                                       contact_inbox_id=c.contact_inbox_id, inbox_id=box.id, attendant_id=ana.id,
                                       status="done", rating=4 + i % 2, sent_at=start + dt.timedelta(minutes=40)))
        users.ensure_user(session, actor=None, tenant_id=tenant.id, email=EXECUTIVE, name="Diretora Executiva",
                          role="executive", password="demo1234")
        box_id = box.id
    for conversation_id in seeded:  # what the stack's workers do too (the same clocks: evaluating is idempotent)
        tracking.evaluate(conversation_id)
    return box_id


def test_analytics_page_charts_click_through_roles_and_print(page, browser, stack):
    box_id = _seed()
    login(page, "admin@demo.local")
    page.locator("#user-menu").wait_for()
    page.goto("/analytics?period=7d")
    expect(page.locator("#card-frt")).not_to_have_text("—")
    expect(page.locator("#chart-volume .js-plotly-plot")).to_be_visible()
    expect(page.locator("#table-attendants")).to_contain_text("Ana")
    expect(page.locator("#card-csat")).to_have_text("4,33")  # ratings 4, 5 and 4
    expect(page.locator("#chart-csat .js-plotly-plot")).to_be_visible()
    expect(page.locator("#card-first_contact")).to_have_text(re.compile(r"^\d{1,3},\d%$"))  # pt-BR: "100,0%"
    expect(page.locator("#card-frt-spread")).to_contain_text("média")
    # SLA on that number: no bot spoke, so each first-response clock starts at the customer's message; answered
    # after 3, 4, 5 and 6 minutes on time, after 7 late (the breach on today's bar). The clocks are the evaluator's.
    page.goto(f"/analytics?period=7d&number={box_id}")
    page.locator("#analytics-sla").scroll_into_view_if_needed()
    expect(page.locator("#card-sla_first_response")).to_have_text("80,0%")
    expect(page.locator("#card-sla_first_response-detail")).to_have_text("4 no prazo · 1 fora do prazo")
    expect(page.locator("#chart-sla .js-plotly-plot")).to_be_visible()
    page.locator("#sla-tab-number").click()
    expect(page.locator("#table-sla-number")).to_contain_text("Vendas analytics")
    page.evaluate("() => document.getElementById('analytics-sla').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "analytics-sla-1366.png"))
    page.goto("/analytics?period=7d")
    expect(page.locator("#card-frt")).not_to_have_text("—")
    page.wait_for_timeout(500)
    shoot(page, "analytics")
    for width, height in ((1366, 768), (390, 844)):  # the page scrolls inside the shell: one shot per section
        page.set_viewport_size({"width": width, "height": height})
        for section in ("chart-staffing", "table-attendants"):
            page.locator(f"#{section}").scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / f"analytics-{section}-{width}.png"))
    page.set_viewport_size({"width": 1366, "height": 768})
    page.locator("#table-attendants-col-fcr").hover()
    expect(page.get_by_role("tooltip")).to_contain_text("primeiro contato")
    page.mouse.move(0, 0)
    # Switching the language rebuilds the cards' and the charts' texts (AnalyticsState.relabel), and back.
    plot = "document.querySelector('{} .js-plotly-plot')"
    for combobox, option, card, series, monday in (("Idioma", "English", "First response (median)", "Opened", "Mon"),
                                                  ("Language", "Português", "Primeira resposta (mediana)", "Abertas",
                                                   "Seg")):
        page.locator("#language-switch").click()
        page.get_by_role("option", name=option).click()
        expect(page.get_by_role("combobox", name=combobox)).to_have_count(0)
        expect(page.locator("#analytics-cards")).to_contain_text(card)
        page.wait_for_function(f"() => {plot.format('#chart-volume')}.data[0].name === {series!r} "
                               f"&& {plot.format('#chart-heatmap')}.data[0].y[0] === {monday!r}")
        if option == "English":
            expect(page.locator("#analytics-cards")).not_to_contain_text("Primeira resposta")
            page.wait_for_timeout(300)
            shoot(page, "analytics-en")
    # An attendant's day.
    page.locator("#table-attendants a", has_text="Ana").first.click()
    expect(page.locator("#timeline-dialog")).to_contain_text("Primeira resposta")
    page.screenshot(path=str(SHOTS / "analytics-timeline-1366.png"))
    page.keyboard.press("Escape")
    page.emulate_media(media="print")
    page.screenshot(path=str(SHOTS / "analytics-print-1366.png"), full_page=True)
    page.emulate_media(media="screen")
    # The filters live in the URL.
    page.goto("/analytics?period=today")
    expect(page.locator("#analytics-period")).to_contain_text("Hoje")
    bars = page.locator("#chart-volume .js-plotly-plot .bars .point path")
    expect(bars.first).to_be_visible()
    opened = int(page.evaluate("() => document.querySelector('#chart-volume .js-plotly-plot').data[0].y.at(-1)"))
    bars.first.click(force=True)
    page.wait_for_url("**/inbox?*selection=*")
    expect(page.locator("#selection-count")).to_have_text(str(opened))
    expect(page.locator("#conversation-list .conv-row")).to_have_count(opened)
    assert "on=opened" in page.url and "since=" in page.url  # the period is kept in the URL
    shoot(page, "analytics-clickthrough")


def test_attendants_only_see_their_own_page_and_executives_land_on_analytics(browser, stack):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=stack)
    ana = context.new_page()
    login(ana, "ana@demo.local")
    ana.locator("#user-menu").wait_for()
    ana.goto("/analytics")
    ana.wait_for_url("**/denied")
    ana.goto("/analytics/me")
    expect(ana.locator("#table-attendants")).to_contain_text("Ana")
    expect(ana.locator("#analytics-team")).to_have_count(0)
    shoot(ana, "analytics-me")
    context.close()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=stack)
    boss = context.new_page()
    login(boss, EXECUTIVE)
    boss.wait_for_url("**/analytics*")
    expect(boss.locator("#analytics-cards")).to_be_visible(timeout=30_000)  # a loaded 2-core machine: the first load
    # A bar opens its conversations in the inbox, read-only: no take-over, transfer, close or composer.
    boss.goto("/analytics?period=today")
    bars = boss.locator("#chart-volume .js-plotly-plot .bars .point path")
    expect(bars.first).to_be_visible(timeout=30_000)
    opened = int(boss.evaluate("() => document.querySelector('#chart-volume .js-plotly-plot').data[0].y.at(-1)"))
    bars.first.click(force=True)
    boss.wait_for_url("**/inbox?*selection=*")
    expect(boss.locator("#selection-count")).to_have_text(str(opened), timeout=30_000)
    expect(boss.locator("#inbox-read-only")).to_be_visible()
    boss.locator("#conversation-list .conv-row").first.click()
    expect(boss.locator("#chat-pane")).to_contain_text("Somente leitura")
    for control in ("#take-over", "#transfer-button", "#close-button", "#composer", "#note-anyway", "#contact-save"):
        expect(boss.locator(control)).to_have_count(0)
    expect(boss.locator("#contact-name")).to_have_attribute("readonly", "")
    shoot(boss, "analytics-clickthrough-executive")
    context.close()
