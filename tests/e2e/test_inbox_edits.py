"""A customer's edit and deletion, live in the open chat: "editada" and "mensagem apagada", never as markup."""

from __future__ import annotations

import copy
import re
import time

import httpx

from tests.e2e.conftest import STACK_ENV, login, shoot


def _sandbox(path: str) -> str:
    return f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}/sandbox/api{path}"


def _customer_says(phone: str, name: str, body: str) -> dict:
    sent = httpx.post(_sandbox("/customer/messages"), timeout=10,
                      json={"from": phone, "name": name, "type": "text", "text": body})
    assert sent.status_code == 200 and sent.json()["webhook_status"] == 200, sent.text
    return sent.json()


def _change(said: dict, kind: str, **fields) -> None:
    """The customer edits or deletes what they said: Meta's webhook for it, signed by the sandbox."""
    body = copy.deepcopy(said["body"])
    [message] = body["entry"][0]["changes"][0]["value"]["messages"]
    changed = {"from": message["from"], "id": f"{said['wamid']}.{kind}", "timestamp": str(int(time.time())),
               "type": kind, kind: {"original_message_id": said["wamid"], **fields}}
    body["entry"][0]["changes"][0]["value"]["messages"] = [changed]
    posted = httpx.post(_sandbox("/webhooks/raw"), json={"body": body}, timeout=10)
    assert posted.status_code == 200 and posted.json()["webhook_status"] == 200, posted.text


def test_edited_and_deleted_messages_update_live_and_stay_plain_text(browser, stack):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=stack)
    ana = context.new_page()
    ana.set_default_timeout(30_000)
    dialogs: list[str] = []
    ana.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        login(ana, "ana@demo.local")
        ana.wait_for_url(re.compile(r"/(inbox)?$"))
        ana.locator("#conversation-list").wait_for()
        ana.click("#tab-bot")
        phone, name = "5511955550077", "Cliente Edita"
        first = _customer_says(phone, name, "Quero <b>2</b> pizzas")
        second = _customer_says(phone, name, "Meu CPF <img src=x onerror=alert(1)>")
        row = ana.locator("#conversation-list .conv-row", has_text=name)
        row.wait_for()
        row.click()
        ana.locator("#messages .msg-body", has_text="Meu CPF").wait_for()

        _change(first, "edit", message={"type": "text", "text": {"body": "Quero <i>3</i> pizzas"}})
        edited = ana.locator("#messages .msg-row", has_text="Quero <i>3</i> pizzas")
        edited.locator(".msg-edited", has_text="editada").wait_for(timeout=10_000)  # live: no reload
        assert edited.locator(".msg-edited").get_attribute("title") == "Texto anterior:\nQuero <b>2</b> pizzas"

        _change(second, "revoke")
        deleted = ana.locator("#messages .msg-row:has(.msg-deleted)")
        deleted.wait_for(timeout=10_000)
        assert deleted.locator(".msg-deleted").inner_text().strip() == "mensagem apagada"
        kept = deleted.locator(".msg-deleted").get_attribute("title")
        assert kept == "Texto apagado, guardado para auditoria:\nMeu CPF <img src=x onerror=alert(1)>"
        assert ana.locator("#messages .msg-body", has_text="Meu CPF").count() == 0

        assert ana.locator("#messages b, #messages i, #messages img[src=x]").count() == 0
        assert dialogs == []
        shoot(ana, "inbox-edited-deleted")
    finally:
        context.close()
