"""A sample of the handler isolation cases (tests/security/cases.py), driven over the real websocket of the real web
process instead of by calling the handler: as tenant A's admin aimed at tenant B's ids, as B's roles the page does not
admit, and on a tab token of B's (its state full of B's data) reconnected with no cookie or with A's cookie. Plus
Reflex's `POST /_upload`, which the REST suite's enumeration sends here.

Whatever the server sent each attacking tab is searched for B's marker, and B's rows are compared before and after.
"""

from __future__ import annotations

import inspect
import json

import httpx
import pytest
from sqlalchemy import text

import pages  # noqa: F401  (registers every page and its states)
from crm_app.services import access
from crm_app.state.inbox import InboxComposerState
from tests.security.cases import HANDLERS, STATE_ROLES
from tests.security.test_isolation_handlers import _resolve, app_states
from tests.support.isolation import ADMIN_ONLY, ROLES, VICTIM, snapshot_diff, tenant_snapshot
from tests.support.reflex_socket import ReflexSocket, handler_name

MARKER = handler_name(InboxComposerState, "set_upload_open")
# The sample: cases of cases.py with no forged vars (a real client can only call handlers), and their page.
SAMPLE = {
    "InboxConversationState.select": "/inbox",
    "CannedSettingsState.open_edit": "/settings/canned",
    "TeamsSettingsState.select_team": "/settings/teams",
    "UsersSettingsState.load": "/settings/users",
    "SettingsState.replay": "/settings",
    "AccountState.revoke_one": "/account",
}


def _payloads(key: str, victim) -> list[tuple[str, dict]]:
    """The case's steps as (event name, payload), B's ids filled in."""
    state = app_states()[key.split(".")[0]]
    steps = []
    for name, args in HANDLERS[key].steps:
        params = [p for p in inspect.signature(state.event_handlers[name].fn).parameters if p != "self"]
        steps.append((handler_name(state, name), dict(zip(params, (_resolve(a, victim) for a in args), strict=False))))
    return steps


async def _tab(base: str, path: str, cookie: str | None, token: str | None = None) -> ReflexSocket:
    """A tab on `path` (its on_load run) with `cookie` as the session cookie, on a new or the given token."""
    cookies = {access.COOKIE_NAME: cookie} if cookie else {}
    tab = await ReflexSocket(base, token=token, cookies=cookies).connect(path)
    await tab.settle(MARKER)
    return tab


async def _run(tab: ReflexSocket, steps: list[tuple[str, dict]], path: str) -> str:
    """Send the steps, wait until they (and what they chained) ran; returns all the tab was ever sent."""
    for name, payload in steps:
        await tab.emit(name, payload, path=path)
    await tab.settle(MARKER)
    await tab.close()
    return tab.text()


@pytest.mark.parametrize("key", sorted(SAMPLE))
async def test_handler_isolation_over_the_websocket(key, live, world, db):
    attacker, victim = world
    case, path = HANDLERS[key], SAMPLE[key]
    assert not case.preset, f"{key}: forged vars cannot be sent over the socket; pick another case"
    steps = _payloads(key, victim)
    # B's admin's tab: its state now holds B's data (the reconnect attacks below start from it).
    own = await _tab(live.base, path, victim.cookies["admin"])
    seen = await _run(own, steps, path) if case.reads else (await own.close()) or own.text()
    assert not case.reads or VICTIM in seen, f"{key}: B's own admin does not see B's data, the attack proves nothing"
    before = tenant_snapshot(db, victim.tenant_id)
    failures = []
    attacks = {f"tenant A {role}": (attacker.cookies[role], None) for role in ROLES}
    attacks |= {"B's tab token, no cookie": (None, own.token)}
    for role in (r for r in ROLES if r not in (case.roles or STATE_ROLES[key.split(".")[0]])):
        attacks[f"tenant B {role} (not allowed)"] = (victim.cookies[role], None)
    for name, (cookie, token) in attacks.items():
        seen = await _run(await _tab(live.base, path, cookie, token), steps, path)
        secret = ADMIN_ONLY if name.startswith("tenant B") else VICTIM
        changed = snapshot_diff(before, tenant_snapshot(db, victim.tenant_id))
        if secret in seen or changed:
            failures.append(f"{name}: saw B={secret in seen}, changed B tables={changed}")
            before = tenant_snapshot(db, victim.tenant_id)
    # B's tab token once more, under A's cookie (a fresh B tab: the one above was reset by the first reconnect).
    fresh = await _tab(live.base, path, victim.cookies["admin"])
    await fresh.close()
    seen = await _run(await _tab(live.base, path, attacker.cookies["admin"], fresh.token), steps, path)
    changed = snapshot_diff(before, tenant_snapshot(db, victim.tenant_id))
    if VICTIM in seen or changed:
        failures.append(f"B's tab token under A's cookie reached B's data: saw B={VICTIM in seen}, changed={changed}")
    assert not failures, f"{key}: " + "; ".join(failures)
    if case.writes:  # positive control: B's own admin, same steps over the socket, does change B's rows
        await _run(await _tab(live.base, path, victim.cookies["admin"]), steps, path)
        assert snapshot_diff(before, tenant_snapshot(db, victim.tenant_id)), \
            f"{key}: the steps change nothing even for B's admin, so the attack proves nothing"


def _messages(db, conversation_id: int) -> int:
    db.rollback()
    return db.execute(text("SELECT count(*) FROM messages WHERE conversation_id = :c"),
                      {"c": conversation_id}).scalar()


async def test_upload_route_isolation(live, world, db):
    """`POST /_upload` on a tab of B's attendant, with its conversation open: every role of tenant A, B's other
    users and no cookie at all are refused (403) before the handler runs; B's attendant's own upload goes through."""
    attacker, victim = world
    conversation = victim.ids["conversation"]
    db.execute(text("UPDATE conversations SET last_customer_message_at = now() WHERE id = :c"), {"c": conversation})
    db.commit()
    tab = await _tab(live.base, "/inbox", victim.cookies["attendant"])
    await tab.emit(handler_name(app_states()["InboxConversationState"], "select"),
                   {"conversation_id": conversation}, path="/inbox")
    await tab.settle(MARKER)
    await tab.close()
    assert f"hello {VICTIM}" in tab.text()
    upload = handler_name(InboxComposerState, "upload")
    before = tenant_snapshot(db, victim.tenant_id)
    cookies = {f"tenant A {r}": attacker.cookies[r] for r in ROLES} | {"no cookie": None} | {
        f"tenant B {r}": victim.cookies[r] for r in ("admin", "supervisor")}
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        for name, cookie in cookies.items():
            headers = {"reflex-client-token": tab.token, "reflex-event-handler": upload, "origin": live.base,
                       "sec-fetch-site": "same-origin"}
            if cookie:
                headers["cookie"] = f"{access.COOKIE_NAME}={cookie}"
            response = await http.post("/_upload", files={"files": ("x.pdf", b"%PDF-1.4", "application/pdf")},
                                       headers=headers)
            assert response.status_code == 403 and VICTIM not in response.text, f"{name}: {response.status_code}"
            assert not snapshot_diff(before, tenant_snapshot(db, victim.tenant_id)), f"{name} changed B's rows"
        response = await http.post("/_upload", files={"files": ("x.pdf", b"%PDF-1.4", "application/pdf")}, headers={
            "reflex-client-token": tab.token, "reflex-event-handler": upload, "origin": live.base,
            "sec-fetch-site": "same-origin", "cookie": f"{access.COOKIE_NAME}={victim.cookies['attendant']}"})
    assert response.status_code == 200 and json.loads(response.text.splitlines()[0])["delta"]
    assert _messages(db, conversation) == 2  # the customer's message and the file
