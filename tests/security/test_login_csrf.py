"""Issue 15, point 3: a login ticket minted by an attacker neither logs a victim's browser in nor logs it out.

The attacker logs in with their own browser (the real login form over a real websocket, their own pre-login
cookie) and keeps the one-time ticket. The victim's browser, logged in to tenant B, is then made to redeem it
the ways a site can make a browser do so: a link, a cross-site form, and (as if script ran on our origin) a
same-origin POST from the victim's browser, which holds its own pre-login cookie. None may set a cookie, and
the victim's session must stay live. The attacker's own browser still redeems its ticket (positive control).
"""

from __future__ import annotations

import secrets

import httpx
from sqlalchemy import text

from crm_app.services import access
from crm_app.state.login import LoginState
from tests.factories import PASSWORD
from tests.support import prelogin
from tests.support.reflex_socket import ReflexSocket, handler_name, ticket_in


async def _attackers_ticket(base: str, email: str, browser: str) -> str:
    """Log in through the real form as `email`, in a browser whose pre-login cookie is `browser`."""
    async with ReflexSocket(base, cookies={access.PRELOGIN_COOKIE: browser}) as tab:
        await tab.connect("/login")
        await tab.emit(handler_name(LoginState, "submit"), {"form_data": {"email": email, "password": PASSWORD}},
                       path="/login")
        await tab.wait_for(lambda u: any(ticket_in(s) for s in _scripts(u)))
        return next(t for t in map(ticket_in, tab.scripts()) if t)


def _scripts(update: dict) -> list[str]:
    return [(e.get("payload") or {}).get("javascript_code", "") for e in update.get("events") or []]


def _cookies(**values: str) -> str:
    return "; ".join(f"{name}={value}" for name, value in values.items())


async def test_a_foreign_ticket_neither_logs_the_victim_in_nor_out(live, world):
    attacker, victim = world
    email = attacker.actors["admin"].email
    attacker_browser, victim_browser = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    victim_cookies = _cookies(**{access.COOKIE_NAME: victim.cookies["admin"], access.PRELOGIN_COOKIE: victim_browser})
    same_origin = {"origin": live.base, "sec-fetch-site": "same-origin", "content-type": "application/json"}
    attacks = {
        "a link (GET)": lambda http, t: http.get("/api/auth/exchange", params={"ticket": t, "next": "/inbox"},
                                                 headers={"cookie": victim_cookies, "sec-fetch-site": "cross-site"}),
        "a cross-site form": lambda http, t: http.post(
            "/api/auth/exchange", data={"ticket": t, "next": "/inbox"},
            headers={"cookie": victim_cookies, "origin": "https://evil.example", "sec-fetch-site": "cross-site"}),
        "a same-origin POST from the victim's browser": lambda http, t: http.post(
            "/api/auth/exchange", json={"ticket": t, "next": "/inbox"}, headers={"cookie": victim_cookies,
                                                                                 **same_origin}),
        "a POST from a browser with no cookie at all": lambda http, t: http.post(
            "/api/auth/exchange", json={"ticket": t, "next": "/inbox"},
            headers={"content-type": "application/json"}),
    }
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        for name, attack in attacks.items():
            ticket = await _attackers_ticket(live.base, email, attacker_browser)
            response = await attack(http, ticket)
            assert response.status_code >= 400, f"{name}: {response.status_code} {response.text[:200]}"
            assert access.COOKIE_NAME not in response.headers.get("set-cookie", ""), f"{name} set a session cookie"
            assert access.peek_session(victim.cookies["admin"]) is not None, f"{name} logged the victim out"
        # Positive control: the attacker's own browser, same origin, gets the cookie for its own ticket.
        ticket = await _attackers_ticket(live.base, email, attacker_browser)
        response = await http.post("/api/auth/exchange", json={"ticket": ticket, "next": "/inbox"}, headers={
            "cookie": _cookies(**{access.PRELOGIN_COOKIE: attacker_browser}), **same_origin})
        assert response.status_code == 200 and response.json() == {"next": "/inbox"}
        assert response.cookies.get(access.COOKIE_NAME)
        assert access.peek_session(response.cookies[access.COOKIE_NAME])[1].user_id == attacker.actors["admin"].user_id


async def test_a_link_on_another_site_cannot_start_a_single_sign_on_login(live, world, db):
    """Another site's link to `/api/auth/sso/start` for a tenant whose provider would answer at once (its admin runs
    it) would log the victim's browser into that tenant and end its own session at the callback: it is sent back to
    the login page instead, also from an e-mail or chat app (`Sec-Fetch-Site: none`) or an old browser (no such
    header), even though the victim's browser holds a pre-login cookie. The login page's own button (which adds
    the digest of that cookie) still goes to the provider."""
    from crm_app.services.access import sso
    from tests.support.sandbox import sandbox_in_thread

    attacker, _victim = world
    slug = db.execute(text("SELECT slug FROM tenants WHERE id = :t"), {"t": attacker.tenant_id}).scalar()
    with sandbox_in_thread() as sandbox:
        sso.seed_demo(db, tenant_id=attacker.tenant_id, issuer=f"{sandbox}/oidc")
        db.commit()
        async with httpx.AsyncClient(base_url=live.base, timeout=30, cookies=prelogin.COOKIES) as http:
            params = {"tenant": slug, "next": "/inbox"}
            forced = [await http.get("/api/auth/sso/start", params=params, headers=headers)
                      for headers in ({"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "none"}, {})]
            guessed = await http.get("/api/auth/sso/start", params={**params, "browser": "0" * 64})
            own = await http.get("/api/auth/sso/start", params=prelogin.sso_start(slug, next="/inbox"),
                                 headers={"sec-fetch-site": "same-origin"})
    for refused in (*forced, guessed):
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login?sso_error=")
        assert not refused.cookies.get("crm_sso", "").strip('"')  # no login bound to this browser
    assert own.status_code == 303 and own.headers["location"].startswith(f"{sandbox}/oidc")
    assert own.cookies.get("crm_sso")
