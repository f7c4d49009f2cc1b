"""The demo as `make run` wires it: the sandbox plays the customer, the web role takes the webhook."""

import time

import httpx
from sqlalchemy import text


def test_a_customer_message_from_the_simulator_reaches_the_database(stack):
    from crm_app.db import get_engine

    info = httpx.get(f"{stack}/api/health").json()
    assert info == {"status": "ok"}
    sandbox = _sandbox_url()
    sent = httpx.post(f"{sandbox}/sandbox/api/customer/messages", timeout=10, json={
        "from": "5511981234567", "name": "Maria Souza", "type": "text", "text": "Olá, tem vaga no feriado?"})
    assert sent.status_code == 200 and sent.json()["webhook_status"] == 200, sent.text
    deadline = time.monotonic() + 20
    body = None
    while time.monotonic() < deadline and body is None:
        with get_engine().connect() as conn:
            body = conn.execute(text("SELECT body FROM messages WHERE wa_message_id = :w"),
                                {"w": sent.json()["wamid"]}).scalar()
        time.sleep(0.2)
    assert body == "Olá, tem vaga no feriado?"


def _sandbox_url() -> str:
    from tests.e2e.conftest import STACK_ENV

    return f"http://127.0.0.1:{STACK_ENV['SANDBOX_PORT']}"
