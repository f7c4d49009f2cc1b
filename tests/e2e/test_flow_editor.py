"""The bot flow editor in a real browser: an admin builds a flow with no code, fixes a problem, publishes, tests it."""

import re

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shoot

INBOX = "Loja Nova"


def _new_inbox(name: str = INBOX, number: str = "5511900000077") -> None:
    """A second number of the demo tenant, with no flow yet (the demo inbox already has the seeded one)."""
    from crm_app.db import get_engine
    from crm_app.services import transaction
    from crm_app.services.channel import numbers

    with get_engine().connect() as conn:
        tenant_id = conn.execute(text("SELECT tenant_id FROM users WHERE email = 'admin@demo.local'")).scalar()
    with transaction() as session:
        numbers.ensure_inbox(session, actor=None, tenant_id=tenant_id, name=name, phone_number_id=number,
                             waba_id=str(int(number) + 1), display_number=f"+55 11 {number[4:9]}-{number[9:]}",
                             access_token="t", app_secret="s", verify_token="v")


def _pick(page, trigger: str, option: str) -> None:
    """Choose `option` in the Radix select whose trigger is `trigger`."""
    page.locator(trigger).click()
    page.get_by_role("option", name=option, exact=True).click()


def _card(page, node_id: str):
    return page.locator(f"#node-card-{node_id}")


def _add(page, kind_label: str) -> None:
    page.click("#flow-add-node")
    page.get_by_role("menuitem", name=kind_label).click()


def _text(page, value: str, field: str = "#node-text") -> None:
    page.fill(field, value)
    expect(page.locator(field)).to_have_value(value)


def test_admin_builds_publishes_and_tests_a_flow(page):
    _new_inbox()
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/settings/bot")
    _pick(page, "#flow-inbox", "WhatsApp Recepção · +55 11 4000-0001")  # the demo's seeded flow
    page.locator("#node-card-boas_vindas").wait_for()
    shoot(page, "flow-editor-demo")
    _pick(page, "#flow-inbox", f"{INBOX} · +55 11 90000-0077")
    page.locator("#flow-empty").wait_for()

    # Welcome message (becomes the start), then a menu created from its "next" dropdown.
    _add(page, "Mensagem")
    _card(page, "mensagem_1").wait_for()
    _text(page, "Olá! Bem-vindo à Loja Nova.")
    _pick(page, "#node-next", "+ novo passo")
    _card(page, "mensagem_2").click()
    _pick(page, "#node-type", "Menu")
    _text(page, "Como podemos ajudar?")
    _pick(page, "#node-style", "Botões (até 3)")
    page.click("#option-add")
    page.click("#option-add")
    page.locator(".option-label input").nth(0).fill("Pedidos")
    page.locator(".option-keywords input").nth(0).fill("pedido, entrega")
    page.locator(".option-label input").nth(1).fill("Falar com a equipe")
    _pick(page, "#option-next-0", "+ novo passo")
    _pick(page, "#option-next-1", "+ novo passo")
    page.locator("#node-form").scroll_into_view_if_needed()
    shoot(page, "flow-editor-menu")

    # Option 1: a message, then close. Option 2: a handoff to the team.
    _card(page, "mensagem_3").click()
    _text(page, "Seu pedido sai hoje.")
    _pick(page, "#node-next", "+ novo passo")
    _card(page, "mensagem_5").click()
    _pick(page, "#node-type", "Encerrar")
    _text(page, "Até logo!")
    _card(page, "mensagem_4").click()
    _pick(page, "#node-type", "Transferir para equipe")
    _pick(page, "#node-team-id", "Recepção")
    _text(page, "Vou chamar um atendente.")

    # Flow settings: exit words and the inactivity timeout.
    page.click("#tab-settings")
    page.fill("#cfg-exit-keywords", "atendente, humano")
    page.fill("#cfg-inactivity-minutes", "30")
    expect(page.locator("#cfg-inactivity-minutes")).to_have_value("30")
    shoot(page, "flow-editor-settings")
    page.click("#tab-node")

    # A step nobody links to: publishing refuses and says so next to it.
    _add(page, "Mensagem")
    _text(page, "Esquecida")
    page.click("#flow-publish")
    page.get_by_text(re.compile("Não publicado")).wait_for()
    unreachable = "Nenhum caminho leva a este passo"
    _card(page, "mensagem_6").get_by_text(re.compile(unreachable)).wait_for()
    page.locator("#flow-problems").get_by_text(re.compile(unreachable)).wait_for()
    page.locator("#node-form .node-problem").get_by_text(re.compile(unreachable)).wait_for()
    shoot(page, "flow-editor-problem")
    page.click("#node-delete")
    page.click("#node-confirm-delete")
    _card(page, "mensagem_6").wait_for(state="detached")

    page.click("#flow-publish")
    page.get_by_text("Versão 1 publicada", exact=False).wait_for()
    page.locator("#flow-published").get_by_text(re.compile("v1")).wait_for()
    page.click("#tab-versions")
    page.locator("#flow-versions .version-row").first.get_by_text("v1").wait_for()

    # The test panel runs the draft: the menu, then the close; restart, then the handoff.
    chat = page.locator("#sim-chat")
    page.click("#sim-restart")
    chat.get_by_text("Olá! Bem-vindo à Loja Nova.").wait_for()
    chat.locator(".sim-choice", has_text="Pedidos").click()
    chat.get_by_text("Seu pedido sai hoje.").wait_for()
    chat.get_by_text("Conversa encerrada").wait_for()
    page.click("#sim-restart")
    chat.locator(".sim-choice", has_text="Falar com a equipe").click()
    chat.get_by_text("Vou chamar um atendente.").wait_for()
    chat.get_by_text(re.compile("Transferido para Recepção")).wait_for()
    page.locator("[data-sonner-toast]").last.wait_for(state="detached")
    page.eval_on_selector("#flow-map", "el => { el.scrollLeft = 0; }")
    shoot(page, "flow-editor")

    from crm_app.db import get_engine

    with get_engine().connect() as conn:
        versions = conn.execute(text("SELECT v.version FROM bot_flow_versions v JOIN bot_flows f ON f.id = v.flow_id "
                                     "JOIN inboxes i ON i.id = f.inbox_id WHERE i.name = :n"), {"n": INBOX}).all()
        actions = conn.execute(text("SELECT action FROM audit_logs WHERE action LIKE 'bot_flow.%' ORDER BY id")).all()
    assert [v for (v,) in versions] == [1]
    assert ("bot_flow.publish",) in actions and ("bot_flow.save_draft",) in actions



def test_a_consent_step_asks_records_and_branches_in_the_test_chat(page):
    _new_inbox("Loja Consentimento", "5511900000088")
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    page.goto("/settings/bot")
    _pick(page, "#flow-inbox", "Loja Consentimento · +55 11 90000-0088")
    page.locator("#flow-empty").wait_for()
    _add(page, "Pedir consentimento")
    _card(page, "consentimento_1").wait_for()
    _pick(page, "#node-purpose", "Marketing (ofertas e novidades)")
    _text(page, "Podemos enviar ofertas pelo WhatsApp?")
    page.fill("#node-yes-label", "Quero receber")
    _pick(page, "#node-granted", "+ novo passo")
    _pick(page, "#node-refused", "+ novo passo")
    expect(page.locator("#node-form")).to_contain_text("silêncio nunca conta como aceite")
    _card(page, "mensagem_1").click()
    _text(page, "Combinado, você receberá nossas ofertas.")
    _pick(page, "#node-next", "+ novo passo")
    _card(page, "mensagem_3").click()
    _pick(page, "#node-type", "Encerrar")
    _card(page, "mensagem_3").get_by_text("Encerrar").wait_for()
    _card(page, "mensagem_2").click()
    _pick(page, "#node-type", "Encerrar")
    page.get_by_text("Mensagem de despedida").wait_for()  # the close form replaced the message form
    _card(page, "mensagem_2").get_by_text("Encerrar").wait_for()
    _text(page, "Tudo bem, não enviaremos ofertas.")
    page.click("#flow-publish")
    page.get_by_text("Versão 1 publicada", exact=False).wait_for()

    chat = page.locator("#sim-chat")
    page.click("#sim-restart")
    chat.get_by_text("Podemos enviar ofertas pelo WhatsApp?").wait_for()
    page.fill("#sim-input", "talvez")
    page.click("#sim-send")
    chat.get_by_text("Desculpe, não entendi", exact=False).wait_for()
    chat.locator(".sim-choice", has_text="Quero receber").last.click()
    chat.get_by_text("Consentimento registrado: Marketing (ofertas e novidades) (aceitou)").wait_for()
    chat.get_by_text("Combinado, você receberá nossas ofertas.").wait_for()
    page.locator("[data-sonner-toast]").last.wait_for(state="detached")
    page.eval_on_selector("#flow-map", "el => { el.scrollLeft = 0; }")
    shoot(page, "flow-editor-consent")
    page.click("#sim-restart")
    chat.locator(".sim-choice", has_text="Não aceito").last.click()
    chat.get_by_text("Recusa registrada: Marketing (ofertas e novidades)").wait_for()
    chat.get_by_text("Tudo bem, não enviaremos ofertas.").wait_for()
