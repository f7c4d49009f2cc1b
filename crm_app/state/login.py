"""The login form."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import reflex as rx

from crm_app.domain.urls import safe_next
from crm_app.errors import CRMError
from crm_app.services import auth
from crm_app.state.session import SessionState, navigate


class LoginState(SessionState):
    """Checks the password off the event loop, then hands the browser a one-time ticket."""

    error_key: str = ""
    submitting: bool = False

    @rx.var(cache=True)
    def error_text(self) -> str:
        return self.t.get(self.error_key, "") if self.error_key else ""

    @rx.event
    def on_login_load(self):
        """Skip the form when the session is still good."""
        self.error_key = "login.expired" if self.router.page.params.get("expired") else ""
        if self._actor() is not None:
            return navigate(self._next_path())
        return None

    def _next_path(self) -> str:
        return safe_next(str(self.router.page.params.get("next") or "/"))

    @rx.event
    async def submit(self, form_data: dict):
        """Log in with the form's e-mail and password."""
        email = str(form_data.get("email", "")).strip()
        password = str(form_data.get("password", ""))
        if not email or not password:
            self.error_key = "error.missing_fields"
            return
        self.submitting = True
        yield
        try:
            ticket, _ = await asyncio.to_thread(
                auth.login, email, password, ip=self.router.session.client_ip or None,
                user_agent=self.router.headers.user_agent or None)
        except CRMError as exc:
            self.submitting, self.error_key = False, f"error.{exc.code}"
            return
        self.error_key = ""
        yield navigate(f"/api/auth/exchange?ticket={quote(ticket)}&next={quote(self._next_path())}")
