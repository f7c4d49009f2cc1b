"""/invite: the public page where an invited user, or one whose password an admin reset, chooses a password.

The token travels in the URL fragment, which browsers never send to a server; the page reads it with a script,
keeps it in a backend-only var, and removes it from the address bar.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from crm_app.errors import ValidationError
from crm_app.services import access, call
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState

READ_FRAGMENT = ("(() => { const t = window.location.hash.slice(1);"
                 " if (t) { history.replaceState(null, '', window.location.pathname); } return t; })()")


class InviteState(SessionState):
    """Which step the page is on: "loading", "form", "invalid" or "done"."""

    step: str = "loading"
    invite_title: str = ""
    invite_subtitle: str = ""
    invite_body: str = ""
    password: str = ""
    confirm: str = ""
    password_error: str = ""
    confirm_error: str = ""
    busy: bool = False
    _token: str = ""

    @rx.event
    def open_page(self):
        """on_load: ask the browser for the fragment."""
        self.step, self.password, self.confirm = "loading", "", ""
        return rx.call_script(READ_FRAGMENT, callback=InviteState.got_token)

    @rx.event
    @toast_errors
    def got_token(self, token: str):
        """Check the link without using it; a reload keeps the token read the first time."""
        token = str(token or "").strip() or self._token
        try:
            info = call(access.peek, token=token)
        except access.InviteInvalid:
            self._token, self.step = "", "invalid"
            return
        self._token = token
        fill = {"{name}": info.name, "{tenant}": info.tenant_name, "{email}": info.email}
        self.invite_title = self._fill(f"invite.title.{info.purpose}", fill)
        self.invite_subtitle = self._fill("invite.subtitle", fill)
        self.invite_body = self.t[f"invite.body.{info.purpose}"]
        self.step = "form"

    def _fill(self, key: str, values: dict[str, str]) -> str:
        text = self.t[key]
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    @rx.event
    def set_password(self, value: str):
        self.password, self.password_error = value, ""

    @rx.event
    def set_confirm(self, value: str):
        self.confirm, self.confirm_error = value, ""

    @rx.event
    @toast_errors
    async def submit(self):
        """Set the password (bcrypt off the event loop); the link is used up only when this succeeds."""
        if self.password != self.confirm:
            self.confirm_error = self.t["invite.mismatch"]
            return
        self.busy = True
        yield
        try:  # bcrypt: off the event loop
            await asyncio.to_thread(call, access.accept, token=self._token, password=self.password,
                                    ip=self.router.session.client_ip or None)
        except ValidationError as exc:
            problems = exc.params.get("problems") or []
            self.password_error = " ".join(self.t.get(p, "") for p in problems).strip() \
                or self.t["admin.error.password"]
            return
        except access.InviteInvalid:
            self.step, self._token = "invalid", ""
            return
        finally:  # whatever happened, the button works again (@toast_errors shows anything unexpected)
            self.busy = False
        self.step, self._token = "done", ""
        self.password = self.confirm = ""
