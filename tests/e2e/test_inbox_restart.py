"""The web process dies: the launcher restarts it, the tab shows the banner, then catches up without a reload.

Runs after the other inbox tests (file order): it takes the web process down for a while.
"""

from __future__ import annotations

import os
import signal
import uuid

import psutil

from tests.e2e.conftest import SHOTS
from tests.e2e.test_inbox import _open_inbox, _row, _wait


def _launcher() -> psutil.Process:
    me = psutil.Process()
    launchers = [p for p in me.children() if "crm_app run" in " ".join(p.cmdline())]
    assert len(launchers) == 1, launchers
    return launchers[0]


def _meta_delivers_elsewhere(phone: str, name: str, body: str) -> None:
    """A message that reaches the CRM while this web process is down (as another web instance would take it).

    The signed webhook is stored and handed to the workers exactly as the webhook route does.
    """
    from crm_app.config import get_settings
    from crm_app.services.channel import ingest
    from tests.support.whatsapp import demo_text, encode, signed_headers

    raw = encode(demo_text(phone, name, body, f"wamid.{uuid.uuid4().hex}"))
    secret = get_settings().demo_wa_app_secret.get_secret_value()
    outcome = ingest.receive_webhook(raw, signed_headers(raw, secret)["X-Hub-Signature-256"])
    assert outcome.status == 200, outcome.message


def test_the_web_process_dies_is_restarted_and_the_list_catches_up(browser, stack):
    from tests.e2e.test_inbox_actions import _conversation_of, _take

    launcher = _launcher()
    web = next(p for p in launcher.children() if "-m reflex run" in " ".join(p.cmdline()))
    phone, name = "5511955559001", "Rita Reinício"
    _meta_delivers_elsewhere(phone, name, "Oi, quero remarcar")
    context, ana = _open_inbox(browser, stack, "ana@demo.local")
    console: list[str] = []
    ana.on("console", lambda m: console.append(f"{m.type}: {m.text}"[:300]))
    try:
        _take(ana, name)  # Rita's conversation is Ana's now
        ana.click("#tab-mine")
        _row(ana, name).wait_for()
        ana.evaluate("() => { window.__notReloaded = true; }")
        os.killpg(web.pid, signal.SIGKILL)  # the whole web process group crashes
        ana.locator("#reconnecting").wait_for(timeout=30_000)
        ana.screenshot(path=str(SHOTS / "inbox-web-restarting-1366.png"))
        _meta_delivers_elsewhere(phone, name, "Chegou enquanto o servidor reiniciava")
        _wait(lambda: _conversation_of(phone).unread_count == 1, timeout=20)  # stored by the workers meanwhile
        assert _row(ana, "Chegou enquanto").count() == 0
        restarted = _wait(lambda: [p for p in launcher.children()
                                   if "-m reflex run" in " ".join(p.cmdline()) and p.pid != web.pid], timeout=30)
        assert restarted, "the launcher did not restart the web role"
        # No reload: the same page reconnects once the new process serves, and the row catches up.
        try:
            _row(ana, name).filter(has_text="Chegou enquanto").wait_for(timeout=240_000)
        except Exception:
            ana.screenshot(path=str(SHOTS / "inbox-web-restart-failed-1366.png"))
            print("\n".join(console[-40:]))
            raise
        ana.locator("#reconnecting").wait_for(state="hidden", timeout=30_000)
        assert ana.evaluate("() => window.__notReloaded === true")
        _row(ana, name).locator(".unread-badge", has_text="1").wait_for()
        _row(ana, name).click()
        ana.locator(".msg-row[data-sender=customer]", has_text="enquanto o servidor reiniciava").wait_for()
    finally:
        context.close()
