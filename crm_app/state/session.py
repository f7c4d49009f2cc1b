"""The shared state every page inherits: who is logged in, and in which language.

Nothing here is trusted across events: each guard and each data handler
re-derives the actor from the HttpOnly cookie in the websocket headers and the
database, and the tab's whole state is reset when that cookie stops naming the
session it was built for (`crm_app/state/binding.py`).
"""

from __future__ import annotations

import json

import reflex as rx

from crm_app.domain.access import can_open_page, home_route
from crm_app.errors import NotAuthenticated
from crm_app.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue, translate
from crm_app.services import access
from crm_app.services.core.actors import Actor, require_role
from crm_app.state.binding import cookie_value
from crm_app.state.errors import current_ids


def navigate(url: str) -> rx.event.EventSpec:
    """A full page load (not client-side routing), so backend routes are reached."""
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


def redeem_ticket(ticket: str, next_path: str) -> rx.event.EventSpec:
    """POST a one-time login ticket to `/api/auth/exchange` (same origin, with this browser's pre-login cookie),
    then load the page the answer names (the safe `next`, or the login page when the ticket was refused)."""
    body = json.dumps({"ticket": ticket, "next": next_path})
    return rx.call_script(
        "fetch('/api/auth/exchange', {method: 'POST', credentials: 'same-origin', "
        f"headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify({body})}})"
        ".then(r => r.json()).then(d => window.location.assign(d.next || '/login?expired=1'))"
        ".catch(() => window.location.assign('/login?expired=1'))")


class SessionState(rx.State):
    """The logged-in user's public facts and the UI language.

    Outside the inbox's own states, no computed var of a page's state may read a var of this one (`t`, `lang`,
    `user_role`…): Reflex would then load that page's state with every fetch of this one, that is with every
    real-time push to every inbox tab (`tests/state/test_push_cost.py`). Pages index `t` in the component
    (`T[S.error_key]`) or keep the language they built their texts in (`AnalyticsState.chart_lang`).
    """

    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    tenant_name: str = ""
    lang: str = rx.Cookie(DEFAULT_LANGUAGE, name="crm_lang", same_site="lax", max_age=365 * 24 * 3600)

    @rx.var(cache=True)
    def t(self) -> dict[str, str]:
        """The strings of the current language."""
        return catalogue(self.lang)

    @rx.var(cache=True)
    def role_label(self) -> str:
        return translate(self.lang, f"role.{self.user_role}") if self.user_role else ""

    @rx.var(cache=True)
    def is_admin(self) -> bool:
        return self.user_role == "admin"

    @rx.var(cache=True)
    def can_see_compliance(self) -> bool:
        return self.user_role in ("admin", "dpo")

    @rx.var(cache=True)
    def can_see_analytics(self) -> bool:
        return self.user_role in ("admin", "supervisor", "executive")

    @rx.var(cache=True)
    def can_use_inbox(self) -> bool:
        """The inbox in the navigation: those who work it, and executives, who read it (read-only)."""
        return self.user_role in ("admin", "supervisor", "attendant", "executive")

    def _session_token(self) -> str | None:
        return cookie_value(self.router.headers.cookie, access.COOKIE_NAME)

    def _browser(self) -> str | None:
        """This browser's pre-login cookie (on the websocket), if it can bind a login ticket."""
        return access.browser_binding(cookie_value(self.router.headers.cookie, access.PRELOGIN_COOKIE))

    def _access(self) -> access.Access | None:
        """The live session behind the cookie, re-read from the database."""
        return access.resolve_actor_access(self._session_token(), ip=self.router.session.client_ip or None)

    def _allows_unenrolled(self) -> bool:
        """Whether this state serves users the 2FA policy still sends to enrol (only /account says yes)."""
        return False

    def _actor(self) -> Actor | None:
        """Re-derive the actor from the cookie and the database; nobody while the 2FA policy waits for enrolment."""
        granted = self._access()
        if granted is None or (granted.must_enrol_2fa and not self._allows_unenrolled()):
            return None
        current_ids.set((granted.actor.tenant_id, granted.actor.user_id))
        return granted.actor

    def _require(self, *roles: str) -> Actor:
        """The actor, if logged in with one of `roles`; raises otherwise."""
        actor = self._actor()
        if actor is None:
            raise NotAuthenticated()
        return require_role(actor, *roles) if roles else actor

    def _remember(self, actor: Actor) -> None:
        self.user_name, self.user_email, self.user_role = actor.name, actor.email, actor.role
        self.tenant_name = access.tenant_name(actor)

    @rx.event
    def check_page_access(self, route: str):
        """on_load guard: log in first, then the role must fit the page."""
        granted = self._access()
        if granted is None:
            self.user_role = ""
            return navigate(f"/login?next={route}")
        actor = granted.actor
        self._remember(actor)
        if granted.must_enrol_2fa and route != "/account":
            return rx.redirect("/account")
        if not can_open_page(actor.role, route):
            home = home_route(actor.role)
            return rx.redirect(home if route in ("/", "/inbox") and home != route else "/denied")
        return None

    @rx.event
    def set_lang(self, lang: str):
        """Switch the UI language."""
        if lang in LANGUAGES:
            self.lang = lang

    @rx.event
    def logout(self):
        """End the session on the server, clear the cookie, and go to the login page."""
        self.user_name = self.user_email = self.user_role = ""
        return rx.call_script(
            "fetch('/api/auth/logout', {method: 'POST', credentials: 'same-origin'})"
            ".finally(() => window.location.assign('/login'))"
        )
