"""The Teams page in a real browser: an admin creates a team, adds a member, sets capacity, mode and hours."""

import re

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shoot


def _db(query: str, **params):
    from crm_app.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text(query), params).all()


def _audit_mark() -> int:
    return _db("SELECT coalesce(max(id), 0) FROM audit_logs")[0][0]


def _pick(page, trigger: str, option: str) -> None:
    page.click(trigger)
    page.get_by_role("option", name=option).click()


def test_admin_keeps_a_team_members_capacity_and_hours(page):
    from crm_app.db import get_engine

    with get_engine().begin() as conn:  # a rerun on the same stack starts clean
        conn.execute(text("DELETE FROM teams WHERE name LIKE 'Suporte%'"))
    mark = _audit_mark()
    login(page, "admin@demo.local")
    page.locator("#user-menu").wait_for()
    page.goto("/settings/teams")
    page.locator("#team-select").wait_for()
    members = page.locator("#members-table")
    members.get_by_text("Ana Atendente").wait_for()  # the demo's front desk team, first by name
    members.get_by_text("Bruno Atendente").wait_for()
    shoot(page, "settings-teams-demo")

    page.click("#team-new")
    page.click("#team-new-name-save")
    page.locator("#team-new-name-error").get_by_text("1 a 80").wait_for()
    page.fill("#team-new-name", "Recepção")
    page.click("#team-new-name-save")
    page.locator("#team-new-name-error").get_by_text("Já existe").wait_for()
    page.fill("#team-new-name", "Suporte")
    page.click("#team-new-name-save")
    page.get_by_text("Equipe criada.").wait_for()
    expect(page.locator("#team-select")).to_contain_text("Suporte")
    page.locator("#members-empty").wait_for()

    _pick(page, "#member-add-select", "Ana Atendente")
    page.click("#member-add")
    members.get_by_text("Ana Atendente").wait_for()
    capacity = members.locator("input.member-capacity, .member-capacity input").first
    capacity.fill("500")
    capacity.press("Tab")
    page.get_by_text("A capacidade deve ser um número de 0 a 100.").wait_for()
    capacity = members.locator("input.member-capacity, .member-capacity input").first
    capacity.fill("7")
    capacity.press("Tab")
    page.get_by_text("Capacidade salva.").wait_for()
    assert _db("SELECT capacity FROM users WHERE email = 'ana@demo.local'") == [(7,)]

    _pick(page, "#team-mode", "Menor carga (quem tem menos conversas)")
    page.get_by_text("Alterações salvas.").first.wait_for()

    days = page.locator(".hours-day")
    page.click("#day-mon")
    days.nth(0).locator("input.hours-s1, .hours-s1 input").fill("08:00")
    days.nth(0).locator("input.hours-e1, .hours-e1 input").fill("17:00")
    page.click("#day-tue")
    days.nth(1).locator("input.hours-s1, .hours-s1 input").fill("22:00")
    days.nth(1).locator("input.hours-e1, .hours-e1 input").fill("06:00")  # overnight
    page.click("#day-wed")
    days.nth(2).locator("input.hours-s1, .hours-s1 input").fill("10:00")
    days.nth(2).locator("input.hours-e1, .hours-e1 input").fill("10:00")  # empty: refused
    page.fill("#holiday-input", "2026-12-25")
    page.click("#holiday-add")
    page.locator(".holiday-chip").get_by_text("25/12/2026").wait_for()
    page.fill("#team-ooh", "Estamos fechados agora. Voltamos às 8h.")
    page.click("#schedule-save")
    page.locator("#hours-error").get_by_text("Horário inválido").wait_for()
    shoot(page, "settings-teams-error")
    page.click("#day-wed")  # closed on Wednesdays after all
    page.click("#schedule-save")
    page.get_by_text("Horário salvo.").wait_for()
    shoot(page, "settings-teams")
    row = _db("SELECT business_hours, holidays, assignment_mode, out_of_hours_message FROM teams "
              "WHERE name = 'Suporte'")[0]
    assert row == ({"mon": [["08:00", "17:00"]], "tue": [["22:00", "06:00"]]}, ["2026-12-25"], "least_load",
                   "Estamos fechados agora. Voltamos às 8h.")

    page.click("#team-rename")
    page.fill("#team-rename-name", "Suporte Técnico")
    page.click("#team-rename-name-save")
    expect(page.locator("#team-select")).to_contain_text("Suporte Técnico")
    members.locator(".member-remove").first.click()
    page.get_by_text("Membro removido da equipe.").wait_for()
    page.locator("#members-empty").wait_for()
    page.click("#team-delete")
    page.click("#team-confirm-delete")
    page.get_by_text("Equipe excluída.", exact=False).wait_for()
    expect(page.locator("#team-select")).to_contain_text("Recepção")

    page.get_by_role("combobox", name="Idioma").click()
    page.get_by_role("option", name="English").click()
    page.get_by_text("Business hours").wait_for()
    page.get_by_text("Round robin (one at a time)").wait_for()
    shoot(page, "settings-teams-en")

    actions = [a for (a,) in _db("SELECT action FROM audit_logs WHERE id > :m AND (action LIKE 'team.%' OR "
                                 "action = 'user.capacity_change') ORDER BY id", m=mark)]
    assert actions == ["team.create", "team.add_member", "user.capacity_change", "team.assignment_mode",
                       "team.schedule", "team.rename", "team.remove_member", "team.delete"]


def test_a_supervisor_cannot_open_the_teams_page(page):
    login(page, "supervisor@demo.local")
    page.locator("#user-menu").wait_for()
    page.goto("/settings/teams")
    page.wait_for_url(re.compile(r"/denied"))


def test_admin_words_what_a_customer_hears_when_handed_to_someone(page):
    login(page, "admin@demo.local")
    page.locator("#user-menu").wait_for()
    page.goto("/settings/teams")
    page.locator("#team-select").wait_for()
    card = page.locator("#assigned-card")
    card.get_by_text("Mensagem ao atribuir").wait_for()
    expect(page.locator("#team-assigned")).to_have_attribute("placeholder", re.compile(r"\{nome\}"))
    page.fill("#team-assigned", "Já chamei a {nome}, ela já te responde.")
    page.click("#assigned-save")
    page.get_by_text("Mensagem salva.").first.wait_for()
    shoot(page, "settings-teams-assigned")
    assert _db("SELECT assigned_message FROM teams WHERE name = 'Recepção'") == [
        ("Já chamei a {nome}, ela já te responde.",)]
    page.reload()
    expect(page.locator("#team-assigned")).to_have_value("Já chamei a {nome}, ela já te responde.")
    page.fill("#team-assigned", "  ")  # blank: back to the default text
    page.click("#assigned-save")
    expect(page.locator("#team-assigned")).to_have_value("")
    assert _db("SELECT assigned_message FROM teams WHERE name = 'Recepção'") == [(None,)]
    # An unsaved edit of the message survives saving the hours above it (the save reloads the team).
    page.fill("#team-assigned", "Rascunho: {nome} já vem.")
    page.fill("#team-ooh", "Fechados agora.")
    page.click("#schedule-save")
    page.get_by_text("Horário salvo.").first.wait_for()
    expect(page.locator("#team-assigned")).to_have_value("Rascunho: {nome} já vem.")
    assert _db("SELECT assigned_message FROM teams WHERE name = 'Recepção'") == [(None,)]
