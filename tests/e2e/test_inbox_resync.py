"""The web process's real-time listener loses Redis: once it is back, every open tab shows what was written meanwhile.

The stack runs with REALTIME_RECONNECT_DELAY=6 (tests/e2e/conftest.py), so the messages below are written while
the listener is certainly away: notes published then reach no one, and only the resync brings them to the tabs.
"""

from __future__ import annotations

import time
import uuid

import httpx

from crm_app.config import get_settings
from crm_app.queue import get_redis
from crm_app.services.core import realtime as rt_events
from tests.e2e.test_inbox import _open_inbox, _wait
from tests.e2e.test_inbox_actions import _sql, _take, _watch
from tests.support.faults import kill_listener, listener_connections
from tests.support.whatsapp import demo_text, encode, signed_headers


def _customer_writes(stack: str, phone: str, name: str, body: str) -> str:
    """Meta posts one customer text to the stack's webhook route, signed; returns its wamid."""
    wamid = f"wamid.{uuid.uuid4().hex}"
    raw = encode(demo_text(phone, name, body, wamid))
    response = httpx.post(f"{stack}/api/whatsapp/webhook", content=raw, timeout=10,
                          headers=signed_headers(raw, get_settings().demo_wa_app_secret.get_secret_value()))
    assert response.status_code == 200, response.text
    return wamid


def _stored(wamids: list[str]) -> bool:
    rows = _sql("SELECT count(*) AS n FROM messages WHERE wa_message_id = ANY(:w)", w=wamids)
    return rows[0].n == len(wamids)


def _quiet(tenant_id: int, window: float = 1.5) -> None:
    """Wait until the tenant published no durable note for `window` seconds (bot replies and ticks are over)."""
    redis, key = get_redis(), rt_events.seq_key(tenant_id)
    seen = {"value": redis.get(key), "since": time.monotonic()}

    def settled() -> bool:
        value = redis.get(key)
        if value != seen["value"]:
            seen.update(value=value, since=time.monotonic())
        return time.monotonic() - seen["since"] >= window

    _wait(settled, timeout=30)


def _shows(page, body: str, timeout: float) -> None:
    page.locator(".msg-row[data-sender=customer]", has_text=body).wait_for(timeout=timeout * 1000)


def test_every_open_tab_shows_what_was_written_while_the_listener_was_away(browser, stack):
    redis = get_redis()
    tenant_id = _sql("SELECT tenant_id FROM users WHERE email = 'ana@demo.local'")[0].tenant_id
    phone, name = "5511955559101", "Otávio Ressincronia"
    _customer_writes(stack, phone, name, "Oi, preciso de ajuda")
    ctx_a, ana = _open_inbox(browser, stack, "ana@demo.local")
    ctx_s, sergio = _open_inbox(browser, stack, "supervisor@demo.local")
    tabs = (ana, sergio)
    try:
        _take(ana, name)  # a human owns it: the bot stays silent, nothing else will publish for it
        _watch(sergio, name)
        _customer_writes(stack, phone, name, "Antes da queda")
        for page in tabs:
            _shows(page, "Antes da queda", timeout=10)  # both tabs are live
            page.evaluate("() => { window.__notReloaded = true; }")
        _quiet(tenant_id)

        listener = listener_connections(redis)
        assert len(listener) == 1, listener  # one web process, one listener
        assert kill_listener(redis) == listener  # CLIENT KILL TYPE pubsub: the socket drops
        killed_at = time.monotonic()
        bodies = [f"Escrita durante a queda {i}" for i in (1, 2, 3)]
        wamids = [_customer_writes(stack, phone, name, body) for body in bodies]
        _wait(lambda: _stored(wamids), timeout=5)  # stored by the workers, their notes published to no one
        written_after = time.monotonic() - killed_at
        assert listener_connections(redis) == [], "the listener was back before the messages were written"
        _wait(lambda: listener_connections(redis), timeout=30)  # it reconnected (a new client in CLIENT LIST)
        reconnected_after = time.monotonic() - killed_at
        assert listener_connections(redis) != listener
        for page in tabs:
            for body in bodies:
                _shows(page, body, timeout=10)
        caught_up_after = time.monotonic() - killed_at
        assert all(page.evaluate("() => window.__notReloaded === true") for page in tabs)  # no reload
        print(f"\nresync: messages stored {written_after:.2f} s after the kill, listener back after "
              f"{reconnected_after:.2f} s, both tabs complete after {caught_up_after:.2f} s")
    finally:
        ctx_a.close()
        ctx_s.close()
