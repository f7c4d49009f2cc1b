"""The shared state every page inherits: who is logged in, and in which language.

Nothing here is trusted across events: each guard and each data handler
re-derives the actor from the HttpOnly cookie in the websocket headers and the
database.
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie

import reflex as rx

from crm_app.domain.access import can_open_page
from crm_app.errors import NotAuthenticated
from crm_app.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue, translate
from crm_app.services import access
from crm_app.services.core.actors import Actor, require_role
from crm_app.state.errors import current_ids


def navigate(url: str) -> rx.event.EventSpec:
    """A full page load (not client-side routing), so backend routes are reached."""
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


class SessionState(rx.State):
    """The logged-in user's public facts and the UI language."""

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
    def can_see_analytics(self) -> bool:
        return self.user_role in ("admin", "supervisor")

    def _session_token(self) -> str | None:
        try:
            jar = SimpleCookie(self.router.headers.cookie or "")
        except CookieError:
            return None
        morsel = jar.get(access.COOKIE_NAME)
        return morsel.value if morsel else None

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
            return rx.redirect("/denied")
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
