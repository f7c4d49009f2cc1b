"""Every Reflex event handler of the app, attacked from another tenant and from a role its page does not admit.

The handlers are enumerated from rx.State's substates after importing every page, so a handler added tomorrow
without a row in tests/security/cases.py fails the first test here.
"""

from __future__ import annotations

import json

import pytest
import reflex as rx

import pages  # noqa: F401  (registers every page and its states)
from crm_app.i18n import DEFAULT_LANGUAGE, translate
from crm_app.state.session import SessionState
from tests.security.cases import HANDLERS, STATE_ROLES, UI, Attack
from tests.support.isolation import (
    ADMIN_ONLY,
    ROLES,
    VICTIM,
    fresh_state,
    run_handler,
    snapshot_diff,
    tenant_snapshot,
    visible_text,
)


def _walk(cls):
    for sub in cls.get_substates():
        yield sub
        yield from _walk(sub)


def app_states() -> dict[str, type[rx.State]]:
    """Every state that is not Reflex's own (wherever it is defined: crm_app, components, pages), by class name."""
    return {s.__name__: s for s in _walk(rx.State) if not s.__module__.startswith(("reflex", "tests."))}


def enumerated_handlers() -> list[str]:
    return sorted(f"{name}.{h}" for name, cls in app_states().items() for h in cls.event_handlers if h != "setvar")


def test_every_handler_is_in_the_case_table():
    found = enumerated_handlers()
    missing = [h for h in found if h not in HANDLERS]
    assert not missing, f"handlers with no isolation case in tests/security/cases.py: {missing}"
    stale = sorted(k for k in HANDLERS if k.split("#")[0] not in found)
    assert not stale, f"cases.py rows for handlers that no longer exist: {stale}"
    unknown_states = sorted({h.split('.')[0] for h in found} - set(STATE_ROLES))
    assert not unknown_states, f"states with no roles in STATE_ROLES: {unknown_states}"


def test_ui_only_rows_give_a_reason():
    assert all(c.reason.strip() for c in HANDLERS.values() if isinstance(c, UI))


def _resolve(value, side):
    if isinstance(value, str) and value[:2] == "B:":
        return str(side.ids[value[2:]])
    if isinstance(value, str) and value[:3] == "iB:":
        return side.ids[value[3:]]
    if isinstance(value, dict):
        return {k: _resolve(v, side) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, side) for v in value]
    return value


async def _attack(case: Attack, state_name: str, cookie: str, victim, *, toasts: list | None = None) -> str:
    """Run the case's steps as the cookie's user, with the victim's ids; returns all the caller could see.

    `toasts` (if given) receives the repr of what the handlers returned or yielded (toasts, redirects)."""
    root, state = fresh_state(app_states()[state_name], cookie)
    # The client can setvar the cosmetic role var; handlers must decide from the cookie, never from it.
    root.get_substate(SessionState.get_full_name().split(".")[1:]).user_role = "admin"
    for var, value in case.preset.items():
        setattr(state, var, _resolve(value, victim))
    produced = []
    for name, args in case.steps:
        assert name in state.event_handlers, f"{state_name}.{name} is no longer a handler: fix cases.py"
        produced += await run_handler(state, name, tuple(_resolve(a, victim) for a in args))
    if toasts is not None:
        toasts.append(repr(produced))
    return visible_text(root, produced)


FORBIDDEN_TEXT = translate(DEFAULT_LANGUAGE, "error.permission_denied")
NOT_FOUND_TEXT = translate(DEFAULT_LANGUAGE, "error.not_found")


def shows(haystack: str, text: str) -> bool:
    """Whether a toast with `text` is in the repr of returned events (toasts are JS with \\uXXXX escapes)."""
    escaped = json.dumps(text)[1:-1]
    return any(form in haystack for form in (text, escaped, escaped.replace("\\", "\\\\")))


ATTACKS = sorted(k for k, v in HANDLERS.items() if isinstance(v, Attack))


@pytest.mark.parametrize("key", ATTACKS)
async def test_handler_isolation(key, world, db):
    """Foreign tenant: nothing of B changes and nothing of B is seen. Wrong role: nothing of B changes."""
    attacker, victim = world
    state_name = key.split(".")[0]
    case = HANDLERS[key]
    if case.reads:  # positive control: the victim's own admin does reach the data through these steps
        assert VICTIM in await _attack(case, state_name, victim.cookies["admin"], victim), \
            f"{key}: the steps do not reach B's data even for B's admin, so the attack proves nothing"
    before = tenant_snapshot(db, victim.tenant_id)
    failures = []
    for role in ROLES:
        toasts: list[str] = []
        seen = await _attack(case, state_name, attacker.cookies[role], victim, toasts=toasts)
        changed = snapshot_diff(before, tenant_snapshot(db, victim.tenant_id))
        if VICTIM in seen or changed:
            failures.append(f"tenant A {role}: saw B={VICTIM in seen}, changed B tables={changed}")
            before = tenant_snapshot(db, victim.tenant_id)
        if role == "admin" and not state_name.startswith("Platform") and shows(toasts[0], FORBIDDEN_TEXT):
            # A foreign admin passes every role check: "forbidden" here means B's row was found (existence leaks).
            failures.append("tenant A admin got 'forbidden' instead of 'not found'")
    allowed = case.roles or frozenset(STATE_ROLES[state_name])
    for role in (r for r in ROLES if r not in allowed):
        seen = await _attack(case, state_name, victim.cookies[role], victim)
        changed = snapshot_diff(before, tenant_snapshot(db, victim.tenant_id))
        if ADMIN_ONLY in seen or changed:
            failures.append(f"tenant B {role} (not allowed): saw admin-only={ADMIN_ONLY in seen}, changed={changed}")
            before = tenant_snapshot(db, victim.tenant_id)
    assert not failures, f"{key}: " + "; ".join(failures)
    if case.writes:  # positive control: B's own admin, same steps, does change B's rows
        await _attack(case, state_name, victim.cookies["admin"], victim)
        assert snapshot_diff(before, tenant_snapshot(db, victim.tenant_id)), \
            f"{key}: the steps change nothing even for B's admin, so the attack proves nothing"


def _leaky_load(state) -> None:
    """What a broken loader would do: read canned responses without a tenant filter into the tab's state."""
    from sqlalchemy import text

    from crm_app.services import transaction

    with transaction() as session:
        state.canned_rows = [{"id": "0", "short_code": "x", "content": r[0], "updated_at": ""}
                             for r in session.execute(text("SELECT content FROM canned_responses"))]


def _leaky_delete(canned_id: int) -> None:
    from sqlalchemy import text

    from crm_app.services import transaction

    with transaction() as session:
        session.execute(text("DELETE FROM canned_responses WHERE id = :id"), {"id": canned_id})


async def test_the_detector_flags_a_leaky_handler(world, db):
    """The checks the table runs catch a handler that ignores the tenant: both the leak and the write show.

    (Plain functions, not a State subclass, so no test-only state joins the app's state tree.)"""
    from crm_app.state.settings_canned import CannedSettingsState

    attacker, victim = world
    root, state = fresh_state(CannedSettingsState, attacker.cookies["admin"])
    assert VICTIM not in visible_text(root, [])
    _leaky_load(state)
    assert VICTIM in visible_text(root, [])
    before = tenant_snapshot(db, victim.tenant_id)
    _leaky_delete(victim.ids["canned"])
    assert snapshot_diff(before, tenant_snapshot(db, victim.tenant_id)) == ["canned_responses"]


async def test_toast_matcher_sees_escaped_text(world):
    """The 'forbidden' check above is not vacuous: it recognises the escaped toast a refused handler returns."""
    _attacker, victim = world
    toasts: list[str] = []
    await _attack(HANDLERS["CannedSettingsState.confirm_delete"], "CannedSettingsState", victim.cookies["attendant"],
                  victim, toasts=toasts)
    assert shows(toasts[0], FORBIDDEN_TEXT) and not shows(toasts[0], NOT_FOUND_TEXT)
