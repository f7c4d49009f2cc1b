"""Issue 15, points 1 and 2: a tab's client token is not a credential, and a tab's state does not outlive its login.

Each test replays the attack against the real web process (tests/support/live_backend.py) over real HTTP and a
real websocket: an upload that names a victim's tab token without (or with another) cookie, a reconnect with a
logged-out tab's token, and pushes to a tab whose session was revoked.
"""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy import text

from crm_app.services import access
from crm_app.services.core import realtime as rt_events
from crm_app.state.inbox import InboxComposerState, InboxConversationState, InboxLiveState
from tests.support.isolation import VICTIM
from tests.support.reflex_socket import ReflexSocket, handler_name

UPLOAD = handler_name(InboxComposerState, "upload")
MARKER = handler_name(InboxComposerState, "set_upload_open")  # a var any tab may flip: the settle barrier
PDF = ("note.pdf", b"%PDF-1.4\n% pwned\n", "application/pdf")


def _cookie(value: str) -> str:
    return f"{access.COOKIE_NAME}={value}"


async def _inbox_tab(base: str, cookie: str, *, conversation_id: int | None = None) -> ReflexSocket:
    """A logged-in tab on /inbox that shows tenant B's rows (and one open conversation, if asked)."""
    tab = await ReflexSocket(base, cookies={access.COOKIE_NAME: cookie}).connect("/inbox")
    await tab.wait_for(lambda u: VICTIM in json.dumps(u))
    if conversation_id is not None:
        await tab.emit(handler_name(InboxConversationState, "select"), {"conversation_id": conversation_id},
                       path="/inbox")
        await tab.wait_for(lambda u: f"hello {VICTIM}" in json.dumps(u))
    return tab


def _messages(db, conversation_id: int) -> int:
    db.rollback()
    return db.execute(text("SELECT count(*) FROM messages WHERE conversation_id = :c"),
                      {"c": conversation_id}).scalar()


async def test_an_upload_acts_only_as_its_own_cookies_session(live, world, db):
    """`POST /_upload` naming the victim's tab token: no cookie, another user's cookie, the victim's other session
    or a foreign Origin are all refused before Reflex runs the handler; the victim's own browser still uploads."""
    attacker, victim = world
    conversation = victim.ids["conversation"]
    db.execute(text("UPDATE conversations SET last_customer_message_at = now() WHERE id = :c"), {"c": conversation})
    db.commit()  # the 24-hour window is open, so the positive control really sends
    tab = await _inbox_tab(live.base, victim.cookies["attendant"], conversation_id=conversation)
    try:
        before = _messages(db, conversation)
        same_origin = {"origin": live.base, "sec-fetch-site": "same-origin"}
        attacks = {
            "no cookie, no Origin (the reported attack)": {},
            "no cookie, our Origin": same_origin,
            "tenant A's admin cookie": {**same_origin, "cookie": _cookie(attacker.cookies["admin"])},
            "the victim's admin's cookie (another session)": {**same_origin,
                                                              "cookie": _cookie(victim.cookies["admin"])},
            "the victim's cookie from a foreign site": {"origin": "https://evil.example",
                                                       "sec-fetch-site": "cross-site",
                                                       "cookie": _cookie(victim.cookies["attendant"])},
        }
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
            for name, headers in attacks.items():
                response = await http.post("/_upload", files={"files": PDF}, headers={
                    "reflex-client-token": tab.token, "reflex-event-handler": UPLOAD, **headers})
                assert response.status_code == 403, f"{name}: {response.status_code} {response.text[:300]}"
                assert VICTIM not in response.text and "hello" not in response.text, name
                assert _messages(db, conversation) == before, f"{name}: a file was sent to the customer"
            # Positive control: the tab's own browser (its cookie, our origin) does send the file.
            response = await http.post("/_upload", files={"files": PDF}, headers={
                "reflex-client-token": tab.token, "reflex-event-handler": UPLOAD,
                "cookie": _cookie(victim.cookies["attendant"]), **same_origin})
            assert response.status_code == 200, response.text[:300]
        assert _messages(db, conversation) == before + 1, response.text[:2000]
    finally:
        await tab.close()


async def test_an_upload_that_reaches_the_other_web_process_sees_the_tabs_binding(live, world, db, tmp_path):
    """Two web processes on one Redis, as in production: the tab's socket is on the first, which keeps the tab's
    state in memory (its opportunistic lock), and the upload reaches the second. The second must still find the
    tab bound to the upload's session (the holder writes the state back when asked for its lock): the victim's
    own upload goes through there, another user's cookie does not, and the tab then goes on working."""
    from tests.support.live_backend import running

    attacker, victim = world
    conversation = victim.ids["conversation"]
    db.execute(text("UPDATE conversations SET last_customer_message_at = now() WHERE id = :c"), {"c": conversation})
    db.commit()
    with running(tmp_path) as (other, _routes):
        tab = await _inbox_tab(live.base, victim.cookies["attendant"], conversation_id=conversation)
        try:
            before = _messages(db, conversation)
            same_origin = {"origin": other, "sec-fetch-site": "same-origin"}
            async with httpx.AsyncClient(base_url=other, timeout=30) as http:
                refused = await http.post("/_upload", files={"files": PDF}, headers={
                    "reflex-client-token": tab.token, "reflex-event-handler": UPLOAD,
                    "cookie": _cookie(attacker.cookies["admin"]), **same_origin})
                assert refused.status_code == 403
                response = await http.post("/_upload", files={"files": PDF}, headers={
                    "reflex-client-token": tab.token, "reflex-event-handler": UPLOAD,
                    "cookie": _cookie(victim.cookies["attendant"]), **same_origin})
                assert response.status_code == 200, response.text[:300]
            assert _messages(db, conversation) == before + 1
            await tab.emit(MARKER, {"value": True}, path="/inbox")  # the first process takes the state back
            await tab.wait_for(lambda u: "upload_open" in json.dumps(u))
        finally:
            await tab.close()


async def _reconnect(base: str, token: str, cookies: dict[str, str], until) -> ReflexSocket:
    """Connect again with an old tab token and `cookies`; returns once `until` saw its update."""
    again = await ReflexSocket(base, token=token, cookies=cookies).connect("/inbox")
    await again.wait_for(until)
    return again


def _redirected_to_login(update: dict) -> bool:
    return any("/login" in (e.get("payload") or {}).get("javascript_code", "") for e in update.get("events") or [])


async def test_a_logged_out_tab_token_reconnects_to_an_anonymous_state(live, world):
    """After logout, the same tab token with no cookie gets nothing of the old session, from its first delta on."""
    _attacker, victim = world
    email = victim.actors["attendant"].email
    tab = await _inbox_tab(live.base, victim.cookies["attendant"], conversation_id=victim.ids["conversation"])
    assert email in tab.text()  # the tab did hold the rows, the messages and the user's e-mail
    await tab.close()
    async with httpx.AsyncClient(base_url=live.base) as http:
        response = await http.post("/api/auth/logout", headers={
            "cookie": _cookie(victim.cookies["attendant"]), "origin": live.base, "sec-fetch-site": "same-origin"})
        assert response.status_code == 200
    again = await _reconnect(live.base, tab.token, {}, _redirected_to_login)
    await again.close()
    first = json.dumps(again.updates[0])
    for secret in (VICTIM, email, "hello"):
        assert secret not in first, f"the first delta after the reconnect holds {secret!r}"
        assert secret not in again.text(), f"the reconnected tab was sent {secret!r}"


async def test_a_tab_token_under_another_users_cookie_starts_over(live, world):
    """The victim's tab token presented with tenant A's cookie (the victim's socket gone, its session still live)
    reaches A's own inbox, never the victim's state."""
    attacker, victim = world
    email = victim.actors["attendant"].email
    tab = await _inbox_tab(live.base, victim.cookies["attendant"], conversation_id=victim.ids["conversation"])
    await tab.close()
    again = await _reconnect(live.base, tab.token, {access.COOKIE_NAME: attacker.cookies["admin"]},
                             lambda u: "attacker" in json.dumps(u))  # A's own inbox loaded
    await again.close()
    assert not any(s in json.dumps(again.updates[0]) for s in (VICTIM, email, "hello"))
    assert VICTIM not in again.text() and email not in again.text()


def _seq_reached(seq: int):
    name = InboxLiveState.get_full_name()
    return lambda u: ((u.get("delta") or {}).get(name) or {}).get("last_seq_rx_state_", 0) >= seq


async def test_pushes_to_a_revoked_session_stop_at_once(live, world):
    """A logged-out session's open tab gets no push from the next event on, well within 1 s, while a tab of a
    live session of the same tenant gets it (so the event was dispatched). The 10 s push cache no longer holds."""
    _attacker, victim = world
    revoked = await _inbox_tab(live.base, victim.cookies["attendant"])
    live = await _inbox_tab(live.base, victim.cookies["admin"])
    try:
        seq = rt_events.publish(victim.tenant_id, "conversation.updated", conversation_id=victim.ids["conversation"])
        for tab in (revoked, live):  # both pushed once: the web process now trusts both sessions for a while
            await tab.wait_for(_seq_reached(seq))
        async with httpx.AsyncClient(base_url=live.base) as http:
            response = await http.post("/api/auth/logout", headers={
                "cookie": _cookie(victim.cookies["attendant"]), "origin": live.base,
                "sec-fetch-site": "same-origin"})
            assert response.status_code == 200
        logged_out, seen = time.monotonic(), len(revoked.updates)
        seq = rt_events.publish(victim.tenant_id, "conversation.updated", conversation_id=victim.ids["conversation"])
        await live.wait_for(_seq_reached(seq))
        assert time.monotonic() - logged_out < 1.0
        # One more event through the listener: once the live tab has it, the previous dispatch (both pushes) is
        # over; a ping on the revoked tab's socket then comes back behind anything that dispatch wrote there.
        seq = rt_events.publish(victim.tenant_id, "conversation.updated", conversation_id=victim.ids["conversation"])
        await live.wait_for(_seq_reached(seq))
        await revoked.ping()
        assert revoked.updates[seen:] == [], "the revoked session's tab was still pushed to"
    finally:
        await revoked.close()
        await live.close()
