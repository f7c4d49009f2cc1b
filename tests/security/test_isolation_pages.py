"""Every registered page: guarded by role on the server, logged-out users sent to log in, loaders blind to tenant B.

Pages are enumerated from components.page.REGISTERED after importing `pages`, so a page added without a guard, or
without a row in PAGE_ROLES / PUBLIC_PAGES, fails here.
"""

from __future__ import annotations

import pytest

import pages  # noqa: F401  (registers every page)
from components.page import REGISTERED
from crm_app.domain.access import PAGE_ROLES, home_route
from crm_app.state.session import SessionState
from tests.support.isolation import ROLES, VICTIM, fresh_state, run_handler, visible_text

# Pages anyone may open, and why that is safe.
PUBLIC_PAGES = {
    "/login": "the login form; shows nothing of any tenant",
    "/invite": "sets a password from a one-time invite token (the token is the credential)",
    "/denied": "the access-denied notice",
}


# Pages whose loaders list rows the world marks, so B's own admin must see the marker (the loaders really ran).
SHOWS_MARKED_ROWS = {"/inbox", "/settings/canned", "/settings/users", "/settings/teams", "/settings",
                     "/settings/knowledge", "/settings/numbers", "/settings/general",
                     "/settings/email", "/settings/webhooks", "/settings/sla", "/compliance", "/compliance/requests"}


def _guarded():
    return [(route, events) for route, _fn, _title, events in REGISTERED if route not in PUBLIC_PAGES]


def _handler(event):
    """on_load holds EventSpecs (called handlers) and bare EventHandlers."""
    return getattr(event, "handler", event)


def _is_guard(spec, route: str) -> bool:
    return _handler(spec).fn is SessionState.check_page_access.fn and route in str(getattr(spec, "args", ""))


def test_every_page_is_guarded_or_declared_public():
    routes = [route for route, *_ in REGISTERED]
    assert set(PAGE_ROLES) <= set(routes), f"PAGE_ROLES routes with no page: {set(PAGE_ROLES) - set(routes)}"
    for route, events in _guarded():
        assert route in PAGE_ROLES, f"{route} is neither in PAGE_ROLES nor in PUBLIC_PAGES"
        assert events and _is_guard(events[0], route), f"{route}: check_page_access({route!r}) must run first"
    for route, *_rest in REGISTERED:
        if route in PUBLIC_PAGES:
            assert route not in PAGE_ROLES, f"{route} is both public and role-guarded"


async def _guard(route: str, cookie: str | None):
    root, state = fresh_state(SessionState, cookie)
    return root, await run_handler(state, "check_page_access", (route,))


@pytest.mark.parametrize("route", sorted(PAGE_ROLES))
async def test_page_guard_by_role_and_login(route, world):
    _attacker, victim = world
    for role in ROLES:
        _root, out = await _guard(route, victim.cookies[role])
        if role in PAGE_ROLES[route]:
            assert out == [None], f"{route} refused {role}: {out}"
        elif route in ("/", "/inbox") and home_route(role) != "/inbox":  # a lateral role lands on its own area
            assert home_route(role) in repr(out), f"{route} did not send {role} home: {out}"
        else:
            # An executive's home is the analytics page: "/" sends them there instead of to /denied.
            refused = "/analytics" if (route, role) == ("/", "executive") else "/denied"
            assert refused in repr(out), f"{route} let {role} in: {out}"
    for cookie in (None, "forged-token", victim.cookies["admin"][:-2] + "xx"):
        _root, out = await _guard(route, cookie)
        assert "/login?next=" in repr(out), f"{route} with cookie {cookie!r} was not sent to log in: {out}"


def _loaders(events, route):
    return [spec for spec in events if not _is_guard(spec, route)]


@pytest.mark.parametrize("route", sorted(r for r, _ in _guarded()))
async def test_page_loaders_show_nothing_of_another_tenant(route, world):
    """The page's own on_load chain, run as each user of tenant A, leaves nothing of tenant B in the tab."""
    attacker, victim = world
    events = dict(_guarded())[route]
    for cookie in [attacker.cookies[r] for r in ROLES] + [victim.cookies["admin"]]:
        seen = ""
        for spec in _loaders(events, route):
            cls = _handler(spec).state_full_name
            state_cls = next(s for s in _all_state_classes() if s.get_full_name() == cls)
            root, state = fresh_state(state_cls, cookie)
            seen += visible_text(root, await run_handler(state, _handler(spec).fn.__name__, ()))
        if cookie == victim.cookies["admin"]:  # positive control where the page lists marked rows
            assert route not in SHOWS_MARKED_ROWS or VICTIM in seen, f"{route}: B's admin saw none of B's rows"
            continue
        assert VICTIM not in seen, f"{route}: tenant A saw tenant B's data"


async def test_platform_page_refuses_a_tenant_admin_who_is_not_an_operator(world):
    _attacker, victim = world
    events = dict(_guarded())["/platform/tenants"]
    out = []
    for spec in _loaders(events, "/platform/tenants"):
        handler = _handler(spec)
        state_cls = next(s for s in _all_state_classes() if s.get_full_name() == handler.state_full_name)
        _root, state = fresh_state(state_cls, victim.cookies["admin"])
        out += await run_handler(state, handler.fn.__name__, ())
    assert "/denied" in repr(out) or "/login" in repr(out), out


def _all_state_classes():
    import reflex as rx

    def walk(cls):
        for sub in cls.get_substates():
            yield sub
            yield from walk(sub)
    return list(walk(rx.State))
