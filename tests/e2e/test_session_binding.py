"""Tabs bound to sessions, in Chromium against the whole stack: the pre-login cookie, the same-origin ticket exchange,
the tab token from the browser's CSPRNG, and a logged-out tab that reconnects as nobody."""

import re

from crm_app.config import PROJECT_ROOT
from crm_app.frontend import MARKER
from tests.e2e.conftest import login, logout

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_login_redeems_its_ticket_with_a_same_origin_post_from_the_browser_it_is_bound_to(page):
    exchanges = []
    page.on("request", lambda r: exchanges.append(r.method) if "/api/auth/exchange" in r.url else None)
    page.goto("/login")
    prelogin = next(c for c in page.context.cookies() if c["name"] == "crm_prelogin")
    assert prelogin["httpOnly"] and prelogin["sameSite"] == "Lax" and len(prelogin["value"]) >= 32
    login(page, "admin@demo.local")
    page.locator("#user-menu").get_by_text("Alice Admin").wait_for()
    assert exchanges == ["POST"]  # no ticket in a URL, no GET that a link could forge
    assert any(c["name"] == "crm_session" and c["httpOnly"] for c in page.context.cookies())


def test_the_tab_token_comes_from_the_browsers_csprng(page):
    built = (PROJECT_ROOT / ".web" / "utils" / "state.js").read_text()
    assert MARKER in built and "Math.random" not in built
    page.goto("/login")
    page.wait_for_selector("#email")
    # The token is made when the socket first connects, which may come after the form is drawn.
    token = page.wait_for_function("() => window.sessionStorage.getItem('token')").json_value()
    assert UUID4.match(token or ""), token


def test_a_logged_out_tab_reconnects_with_nothing_of_the_old_session(page):
    """The same tab (its token survives in sessionStorage) after logout: no frame of the new socket carries the
    user's e-mail or inbox rows."""
    login(page, "ana@demo.local")
    page.locator("#user-menu").get_by_text("Ana Atendente").wait_for()
    before = page.evaluate("() => window.sessionStorage.getItem('token')")
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    logout(page)
    page.goto("/inbox")
    page.wait_for_url(re.compile(r"/login"))
    page.wait_for_selector("#email")
    assert page.evaluate("() => window.sessionStorage.getItem('token')") == before  # the very same tab state
    assert frames and not any("ana@demo.local" in f or "Ana Atendente" in f for f in frames)
